"""Import runs from Weights & Biases exports (no ``wandb`` package needed).

Two layouts are read:

* **The UI's CSV export** of a project's runs table: one row per run with ``Name``, ``State``
  (``finished``, ``crashed``, ``failed``, ``killed``, ``running``), ``Notes``, ``User``, ``Tags``,
  ``Created``, ``Runtime``, ``Sweep``, optionally ``ID``, then one column per config key and per
  summary key, both under their bare names. Map ``config.task`` or ``task`` to the column
  ``task``; metrics must be listed, since the export does not say which columns are summaries.
* **An API export**, the loop of W&B's "export data" guide: for each run of
  ``wandb.Api().runs("entity/project")``, ``run.summary._json_dict``, the config without keys
  starting with ``_``, ``run.name`` (and optionally ``run.id``, ``run.state``), gathered in a
  DataFrame with columns ``summary``, ``config``, ``name`` and written with ``to_csv`` (dict cells
  in Python's repr) or ``to_json`` / as a JSON list of objects.

Rows are identified by ``external_id="<id or name>/<metric>"`` under ``source`` (default
``"wandb"``; pass ``"wandb:entity/project"`` when importing several projects).
"""

from __future__ import annotations

import ast
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from consilience.errors import InputError
from consilience.registry.importers.mapping import (
    MAPPING_FLAGS,
    MISSING,
    RunMapping,
    lookup_nested,
    split_spec,
)
from consilience.registry.ingest import ImportReport, ProgressCallback
from consilience.registry.runs_table import normalise_status

if TYPE_CHECKING:
    from consilience.registry.store import Registry

__all__ = ["import_wandb", "parse_literal", "read_wandb_export"]

_NAMESPACES = ("config", "summary")
_CONSTANTS = {
    "nan": math.nan,
    "inf": math.inf,
    "Infinity": math.inf,
    "NaN": math.nan,
    "True": True,
    "False": False,
    "None": None,
    "true": True,
    "false": False,
    "null": None,
}


def parse_literal(text: str) -> Any:
    """Parse a dict cell written by ``to_csv``: JSON, or a Python literal (``nan`` allowed).

    Only literals are accepted (no names other than nan/inf/True/False/None, no calls), so a
    file cannot run code.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass

    def convert(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = convert(node.operand)
            if isinstance(inner, (int, float)) and not isinstance(inner, bool):
                return -inner if isinstance(node.op, ast.USub) else inner
        if isinstance(node, ast.Dict):
            return {convert(k): convert(v) for k, v in zip(node.keys, node.values) if k is not None}
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return [convert(e) for e in node.elts]
        raise ValueError(f"not a literal: {ast.dump(node)[:60]}")

    return convert(ast.parse(text.strip(), mode="eval").body)


def _unwrap(value: Any) -> Any:
    # Older exports keep config entries as {"value": x, "desc": ...}.
    if isinstance(value, Mapping) and "value" in value and set(value) <= {"value", "desc"}:
        return value["value"]
    return value


class _ApiRun:
    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = record
        self.config = record.get("config") or {}
        self.summary = record.get("summary") or {}
        self.name = record.get("name")
        self.run_id = record.get("id")
        self.state = record.get("state")

    def get(self, spec: str) -> Any:
        namespace, key = split_spec(spec, _NAMESPACES)
        if namespace == "config":
            return _unwrap(lookup_nested(self.config, key))
        if namespace == "summary":
            return lookup_nested(self.summary, key)
        return self.record.get(key, MISSING)

    def metric_keys(self) -> list[str]:
        return [
            k
            for k, v in self.summary.items()
            if not k.startswith("_") and isinstance(v, (int, float)) and not isinstance(v, bool)
        ]


class _UiRun:
    def __init__(self, record: Mapping[str, Any]) -> None:
        self.record = {str(k): v for k, v in record.items()}
        lower = {k.lower(): k for k in self.record}
        self.name = self.record.get(lower.get("name", "Name"))
        self.run_id = self.record.get(lower["id"]) if "id" in lower else None
        self.state = self.record.get(lower.get("state", "State"))
        self.summary = self.record
        self._lower = lower

    def get(self, spec: str) -> Any:
        _, key = split_spec(spec, _NAMESPACES)
        if key in self.record:
            value = self.record[key]
        elif key.lower() in self._lower:
            value = self.record[self._lower[key.lower()]]
        else:
            return MISSING
        if value is None or (isinstance(value, str) and not value.strip()):
            return MISSING
        return value

    def metric_keys(self) -> list[str]:  # pragma: no cover - UI exports need explicit metrics
        return []


def read_wandb_export(path: str | os.PathLike[str]) -> tuple[list[Any], str]:
    """Read a W&B export; returns its runs and the layout (``"ui"`` or ``"api"``)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"W&B export '{p}' does not exist. Check the path.")
    suffix = p.suffix.lower()
    try:
        if suffix in (".json", ".jsonl", ".ndjson"):
            with open(p, encoding="utf-8") as fh:
                if suffix == ".json":
                    data = json.load(fh)
                else:
                    data = [json.loads(line) for line in fh if line.strip()]
            frame = (
                pd.DataFrame(data) if isinstance(data, dict) else pd.DataFrame.from_records(data)
            )
        else:
            frame = pd.read_csv(p, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot parse the W&B export '{p}': {exc}. Check the file.") from exc
    columns = {str(c).lower() for c in frame.columns}
    if {"summary", "config"} <= columns:
        frame = frame.rename(columns={c: str(c).lower() for c in frame.columns})
        runs: list[Any] = []
        for i, rec in enumerate(frame.to_dict(orient="records")):
            for field in ("summary", "config"):
                cell = rec.get(field)
                if isinstance(cell, str):
                    try:
                        rec[field] = parse_literal(cell) if cell.strip() else {}
                    except (ValueError, SyntaxError, RecursionError) as exc:
                        raise InputError(
                            f"{p}, row {i + 1}, column '{field}': not a dictionary ({exc}); got "
                            f"{cell[:60]!r}. Write the export with to_csv/to_json from a DataFrame "
                            "of summary and config dicts."
                        ) from exc
            runs.append(_ApiRun(cast(dict[str, Any], rec)))
        return runs, "api"
    if "name" in columns and "state" in columns and suffix == ".csv":
        return [_UiRun(cast(dict[str, Any], rec)) for rec in frame.to_dict(orient="records")], "ui"
    raise InputError(
        f"'{p}' is not a W&B export: expected the UI's runs-table CSV (Name, State, "
        "... columns) or an API export with summary and config columns; got "
        f"columns {[str(c) for c in frame.columns][:10]}."
    )


def import_wandb(
    registry: Registry,
    path: str | os.PathLike[str],
    mapping: RunMapping,
    *,
    source: str = "wandb",
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a W&B runs export in one transaction.

    Parameters
    ----------
    registry : Registry
    path : path-like
        The UI's CSV export, or an API export (CSV or JSON) with summary and config per run.
    mapping : RunMapping
        Field specs such as ``config.task`` / ``summary.n_eval``, or bare column names.
    source : str
        ``source`` of the rows.
    progress : callable, optional
        ``progress(done, total)`` after each batch.

    Returns
    -------
    ImportReport
    """
    runs, layout = read_wandb_export(path)
    if layout == "ui" and not mapping.metrics:
        raise InputError(
            f"{path}: a W&B table export does not say which columns are metrics; "
            "name them with --metric (e.g. --metric accuracy)."
        )
    ids = [r.run_id if r.run_id not in (None, "") else r.name for r in runs]
    seen: dict[Any, int] = {}
    for i, key in enumerate(ids):
        if key in (None, "") or key in seen:
            raise InputError(
                f"{path}, row {i + 1}: run name {key!r} is empty or repeats row {seen.get(key, i) + 1}, "
                "so the runs cannot be told apart. Include the run ID in the export (the ID column, "
                "or run.id in an API export)."
            )
        seen[key] = i
    wanted = [m.removeprefix("summary.") for m in mapping.metrics]
    metric_keys = wanted or sorted({k for r in runs for k in r.metric_keys()})
    required = {"experiment": mapping.experiment, "arm": mapping.arm, "task": mapping.task}
    rows: list[dict[str, Any]] = []
    labels: list[str] = []
    for i, run in enumerate(runs):
        label = f"W&B run {run.name!r} (row {i + 1})"
        status = normalise_status(run.state) if run.state not in (None, "") else "complete"
        if status is None:
            raise InputError(
                f"{path}, {label}: unknown run state {run.state!r}. Expected one of "
                "finished, crashed, failed, killed, running."
            )
        base: dict[str, Any] = {}
        for column, spec in {**required, **mapping.optional_fields()}.items():
            value = spec[1:] if spec.startswith("=") else run.get(spec)
            if value is MISSING:
                if column in required:
                    raise InputError(
                        f"{path}, {label}: no {spec!r} for column '{column}'. Log it in the run's "
                        f"config, or map {column} to another field with "
                        f"{MAPPING_FLAGS[column]}; nothing was imported."
                    )
                value = None
            base[column] = value
        for metric in metric_keys:
            value = run.get(f"summary.{metric}")
            if value is MISSING:
                if status == "complete" and mapping.metrics:
                    raise InputError(
                        f"{path}, {label}: finished run has no summary value for {metric!r}. Log "
                        "it, or import only metrics every finished run has (--metric); nothing "
                        "was imported."
                    )
                if status == "complete":
                    continue
                value = None
            rows.append(
                {
                    **base,
                    "metric": metric,
                    "value": value,
                    "status": status,
                    "external_id": f"{ids[i]}/{metric}",
                    "wandb_name": run.name,
                }
            )
            labels.append(f"{label}, metric {metric!r}")
    frame = (
        pd.DataFrame(rows)
        if rows
        else pd.DataFrame(columns=["experiment", "arm", "task", "metric", "value"])
    )
    return registry.import_runs(
        frame, origin=str(path), source=source, label=lambda j: labels[j], progress=progress
    )
