"""Import runs from an MLflow tracking store: a SQLite-backed store, a file store or a server.

Each MLflow run becomes one row per metric (its latest value). A :class:`RunMapping` says where
the experiment, arm, task and seed live (``params.*``, ``tags.*``, ``metrics.*``, or the
attributes ``experiment_name``, ``run_name``, ``run_id``). Rows are identified by
``source="mlflow"`` and ``external_id="<run_id>/<metric>"``, so importing the store again only
adds new runs and updates changed ones.

Finished runs must carry every requested metric; failed, killed and running runs are kept with
an empty value for the metrics they lack, so the registry remembers what did not work. With no
metric list, each finished run contributes the metrics it logged and unfinished runs get an empty
row for every metric seen in the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pandas as pd

from consilience.errors import InputError
from consilience.registry._deps import require
from consilience.registry.importers.mapping import MAPPING_FLAGS, MISSING, RunMapping, split_spec
from consilience.registry.ingest import ImportReport, ProgressCallback
from consilience.registry.runs_table import normalise_status

if TYPE_CHECKING:
    from consilience.registry.store import Registry

__all__ = ["import_mlflow", "mlflow_runs_frame"]

_NAMESPACES = ("params", "tags", "metrics")
_ATTRIBUTES = ("experiment_name", "run_name", "run_id")


def _check_uri(uri: str) -> None:
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        path = uri.split("sqlite:///", 1)[-1] if uri.startswith("sqlite:///") else parsed.path
        if path and not Path(path).is_file():
            raise InputError(
                f"MLflow store '{uri}' does not exist (no file {path!r}). Check the "
                "tracking URI; MLflow would silently create an empty store there."
            )
    elif parsed.scheme in ("", "file"):
        path = parsed.path if parsed.scheme == "file" else uri
        if not Path(path).is_dir():
            raise InputError(
                f"MLflow file store '{uri}' is not a directory. Check the tracking URI."
            )


def _resolve(run: Any, experiment_name: str, spec: str) -> Any:
    if spec.startswith("="):
        return spec[1:]
    namespace, key = split_spec(spec, _NAMESPACES)
    if namespace is None:
        if key == "experiment_name":
            return experiment_name
        if key == "run_name":
            return run.info.run_name
        if key == "run_id":
            return run.info.run_id
        raise InputError(
            f"MLflow field {spec!r} is not understood: write params.KEY, tags.KEY, "
            f"metrics.KEY, one of {list(_ATTRIBUTES)}, or =VALUE for a constant."
        )
    data = {"params": run.data.params, "tags": run.data.tags, "metrics": run.data.metrics}[
        namespace
    ]
    return data.get(key, MISSING)


def _label(run: Any) -> str:
    return f"MLflow run {run.info.run_id} ({run.info.run_name})"


def _search(client: Any, experiment_names: Sequence[str] | None, uri: str) -> list[tuple[str, Any]]:
    from mlflow.entities import ViewType

    experiments = {
        e.experiment_id: e.name for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
    }
    if experiment_names:
        by_name = {name: eid for eid, name in experiments.items()}
        unknown = [n for n in experiment_names if n not in by_name]
        if unknown:
            raise InputError(
                f"MLflow store '{uri}' has no experiment(s) {unknown}; it has "
                f"{sorted(by_name)}. Check --mlflow-experiment."
            )
        experiments = {by_name[n]: n for n in experiment_names}
    found: list[tuple[str, Any]] = []
    for eid, name in sorted(experiments.items()):
        token = None
        while True:
            page = client.search_runs(
                [eid], max_results=1000, page_token=token, order_by=["attributes.start_time ASC"]
            )
            found.extend((name, run) for run in page)
            token = page.token
            if not token:
                break
    return found


def mlflow_runs_frame(
    uri: str, mapping: RunMapping, *, experiment_names: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read an MLflow store into a runs table (not yet checked) and its row labels."""
    require("mlflow")
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    _check_uri(uri)
    try:
        client = MlflowClient(tracking_uri=uri)
        runs = _search(client, experiment_names, uri)
    except MlflowException as exc:
        raise InputError(f"Cannot read the MLflow store '{uri}': {exc.message}") from exc
    if mapping.metrics:
        metric_keys: list[str] = list(mapping.metrics)
    else:
        metric_keys = sorted({k for _, run in runs for k in run.data.metrics})
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    for exp_name, run in runs:
        status = normalise_status(run.info.status) or "failed"
        base: dict[str, Any] = {}
        required = {"experiment": mapping.experiment, "arm": mapping.arm, "task": mapping.task}
        for column, spec in {**required, **mapping.optional_fields()}.items():
            value = _resolve(run, exp_name, spec)
            if value is MISSING:
                if column in required:
                    raise InputError(
                        f"{uri}, {_label(run)} in MLflow experiment {exp_name!r}: no {spec!r} for "
                        f"column '{column}'. Log it on every run, or map {column} to another field "
                        f"with {MAPPING_FLAGS[column]}; nothing was imported."
                    )
                value = None
            base[column] = value
        for metric in metric_keys:
            value = run.data.metrics.get(metric)
            if value is None:
                if status == "complete" and mapping.metrics:
                    raise InputError(
                        f"{uri}, {_label(run)}: finished run has no metric {metric!r}. Log it, "
                        "or import only metrics every finished run logs (--metric); nothing was "
                        "imported."
                    )
                if status == "complete":
                    continue
            rows.append(
                {
                    **base,
                    "metric": metric,
                    "value": value,
                    "status": status,
                    "external_id": f"{run.info.run_id}/{metric}",
                    "mlflow_experiment": exp_name,
                    "run_name": run.info.run_name,
                }
            )
            labels.append(_label(run))
    return pd.DataFrame(rows), labels


def import_mlflow(
    registry: Registry,
    tracking_uri: str,
    mapping: RunMapping,
    *,
    experiment_names: Sequence[str] | None = None,
    source: str = "mlflow",
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import the runs of an MLflow tracking store in one transaction.

    Parameters
    ----------
    registry : Registry
    tracking_uri : str
        ``sqlite:///mlflow.db``, a file store directory (MLflow 3 needs
        ``MLFLOW_ALLOW_FILE_STORE=true`` to read one) or ``http://host:5000``.
    mapping : RunMapping
        Where experiment, arm, task, seed and the metrics are.
    experiment_names : sequence of str, optional
        MLflow experiments to read; default all active ones.
    source : str
        ``source`` of the rows (run ids are unique across MLflow stores).
    progress : callable, optional
        ``progress(done, total)`` after each batch.

    Returns
    -------
    ImportReport
    """
    frame, labels = mlflow_runs_frame(tracking_uri, mapping, experiment_names=experiment_names)
    if frame.empty:
        frame = pd.DataFrame(columns=["experiment", "arm", "task", "metric", "value"])
    return registry.import_runs(
        frame, origin=tracking_uri, source=source, label=lambda i: labels[i], progress=progress
    )
