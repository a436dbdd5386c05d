"""The runs table: validation of the tidy long format every comparison starts from.

One row per run and metric: ``experiment, arm, task, seed, metric, value`` and optionally
``n_eval, cost_gpu_hours, cost_usd, status, item, direction`` and free moderator columns. The five
core columns can be renamed (``task_col="dataset"``); the optional ones use their canonical names.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from consilience.compare.metrics import MetricSpec, resolve_metric
from consilience.errors import DataDroppedWarning, InputError

__all__ = ["CORE_COLUMNS", "OPTIONAL_COLUMNS", "RunsTable", "read_runs", "validate_runs"]

CORE_COLUMNS = ("arm", "task", "seed", "metric", "value")
OPTIONAL_COLUMNS = ("experiment", "n_eval", "cost_gpu_hours", "cost_usd", "status", "item", "direction")
_OK_STATUS = frozenset({"ok", "finished", "success", "succeeded", "completed", "complete", "done"})


@dataclass(frozen=True)
class RunsTable:
    """A validated runs table restricted to one metric (or several with one direction).

    Attributes
    ----------
    frame : DataFrame
        Canonical columns ``experiment, arm, task, seed, metric, value`` plus any of ``n_eval,
        item, cost_gpu_hours, cost_usd`` and the moderator columns; the index holds the row
        positions of the input table (0-based), so messages can name rows.
    metric : str
        The metric (metrics joined by ``+`` when several were selected).
    spec : MetricSpec
        Direction and kind of the metric.
    n_dropped : int
        Rows left out (failed status, missing value).
    dropped_reason : str or None
        Why they were left out, with counts.
    """

    frame: pd.DataFrame
    metric: str
    spec: MetricSpec
    n_dropped: int = 0
    dropped_reason: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def arms(self) -> list[str]:
        return sorted(map(str, self.frame["arm"].unique()))

    @property
    def has_items(self) -> bool:
        return "item" in self.frame.columns and bool(self.frame["item"].notna().any())


def read_runs(source: pd.DataFrame | str | Path) -> pd.DataFrame:
    """Return ``source`` as a DataFrame, reading CSV, Parquet or JSON files by their suffix."""
    if isinstance(source, pd.DataFrame):
        return source
    if not isinstance(source, (str, Path)):
        raise TypeError(f"'runs' must be a DataFrame or a path to a CSV/Parquet file; got {type(source).__name__}.")
    path = Path(source)
    if not path.exists():
        raise InputError(f"runs file '{path}' does not exist. Check the path.")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".json", ".jsonl"):
        return pd.read_json(path, lines=suffix == ".jsonl")
    return pd.read_csv(path)


def _labels(frame: pd.DataFrame) -> list[str]:
    return (frame["arm"].astype(str) + "/" + frame["task"].astype(str) + "/seed " + frame["seed"].astype(str)).tolist()


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> str:
    positions = np.flatnonzero(mask)
    labels = _labels(frame)
    shown = [f"row {int(frame.index[i])} ({labels[i]})" for i in positions[:5]]
    more = f" and {positions.size - 5} more" if positions.size > 5 else ""
    return ", ".join(shown) + more


def _canonical(frame: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    missing = [f"{canon!r} (looked for {actual!r})" if actual != canon else repr(canon)
               for canon, actual in mapping.items() if actual not in frame.columns]
    if missing:
        raise InputError(
            f"runs table has no column {', '.join(missing)}. Available columns: {list(map(str, frame.columns))}. "
            "Rename the columns or map them, e.g. task_col='dataset' (CLI: --task-col dataset)."
        )
    renamed = {actual: canon for canon, actual in mapping.items()}
    taken = set(mapping.values())
    extra = [c for c in frame.columns if c not in taken and c not in mapping]
    out = frame[list(taken) + extra].rename(columns=renamed)
    out.index = pd.RangeIndex(len(frame))
    if "experiment" not in out.columns:
        out.insert(0, "experiment", "default")
    first = ["experiment", *CORE_COLUMNS]
    return out[first + [c for c in out.columns if c not in first]]


def _select_metrics(frame: pd.DataFrame, metric: str | Sequence[str] | None,
                    metrics: Mapping[str, MetricSpec] | None) -> tuple[list[str], MetricSpec]:
    present = sorted(map(str, frame["metric"].dropna().unique()))
    if metric is None:
        if len(present) != 1:
            raise InputError(
                f"'metric' must be given when the runs table holds several metrics; found {present}. "
                "Pass metric=... (CLI: --metric)."
            )
        wanted = present
    else:
        wanted = [metric] if isinstance(metric, str) else list(metric)
        unknown = [m for m in wanted if m not in present]
        if unknown:
            raise InputError(f"metric {unknown} not found in the runs table. Metrics present: {present}.")
    declared_any = set()
    if "direction" in frame.columns:
        declared_any = set(frame.loc[frame["direction"].notna(), "metric"].astype(str))
    specs: dict[str, MetricSpec] = {}
    for m in wanted:
        if m in declared_any and (metrics is None or m not in metrics):
            try:
                specs[m] = resolve_metric(m, metrics)
            except InputError:
                specs[m] = MetricSpec(direction="higher", kind="continuous")  # direction set below from the data
        else:
            specs[m] = resolve_metric(m, metrics)
    if "direction" in frame.columns:
        for m in wanted:
            declared = frame.loc[frame["metric"] == m, "direction"].dropna().astype(str).str.lower().unique()
            if len(declared) > 1:
                raise InputError(
                    f"metric {m!r} has mixed directions {sorted(declared)} in the 'direction' column. "
                    "A metric has one direction; fix the rows or split the metric."
                )
            if len(declared) == 1:
                if declared[0] not in ("higher", "lower"):
                    raise InputError(
                        f"the 'direction' column must hold 'higher' or 'lower'; got {declared[0]!r} for metric {m!r}."
                    )
                specs[m] = MetricSpec(direction="higher" if declared[0] == "higher" else "lower", kind=specs[m].kind)
    directions = {m: s.direction for m, s in specs.items()}
    if len(set(directions.values())) > 1:
        raise InputError(
            f"the selected metrics have mixed directions {directions}. Compare metrics that share a direction, "
            "or analyse them separately."
        )
    kinds = {s.kind for s in specs.values()}
    spec = specs[wanted[0]] if len(kinds) == 1 else MetricSpec(direction=specs[wanted[0]].direction, kind="continuous")
    return wanted, spec


def validate_runs(
    runs: pd.DataFrame | str | Path,
    *,
    metric: str | Sequence[str] | None = None,
    arms: Sequence[str] | None = None,
    metrics: Mapping[str, MetricSpec] | None = None,
    arm_col: str = "arm",
    task_col: str = "task",
    seed_col: str = "seed",
    metric_col: str = "metric",
    value_col: str = "value",
) -> RunsTable:
    """Validate a runs table and restrict it to one metric (and optionally some arms).

    Parameters
    ----------
    runs : DataFrame or path
        Tidy runs table, or a CSV/Parquet/JSON file holding one.
    metric : str or sequence of str, optional
        The metric to keep; may be omitted when the table holds one metric. Several metrics are
        allowed only when they share a direction.
    arms : sequence of str, optional
        Arms the caller needs; unknown ones are refused with the list of arms present.
    metrics : mapping of str to MetricSpec, optional
        Overrides of the default metric definitions.
    arm_col, task_col, seed_col, metric_col, value_col : str
        Names of the core columns in ``runs``.

    Returns
    -------
    RunsTable
        ``frame`` with canonical columns, the metric's :class:`MetricSpec` and what was dropped.

    Raises
    ------
    InputError
        Missing columns; unknown arms or metrics (listing those present); mixed directions;
        non-numeric or out-of-range values, missing seeds, non-positive ``n_eval`` and duplicate
        ``(experiment, arm, task, seed, metric[, item])`` rows, each naming the rows.

    Warns
    -----
    DataDroppedWarning
        Rows whose ``status`` is not a success (counted by status) or whose value is missing.

    Notes
    -----
    A ``status`` of ``ok, finished, success, succeeded, completed, complete, done`` (any case) or
    a missing status keeps the row; any other status drops it.
    """
    frame = _canonical(read_runs(runs), {"arm": arm_col, "task": task_col, "seed": seed_col,
                                         "metric": metric_col, "value": value_col})
    present_arms = sorted(map(str, frame["arm"].dropna().unique()))
    if arms is not None:
        unknown = [a for a in arms if str(a) not in present_arms]
        if unknown:
            raise InputError(f"arm {unknown} not found in the runs table. Arms present: {present_arms}.")
    wanted, spec = _select_metrics(frame, metric, metrics)
    keep = frame["metric"].isin(wanted).to_numpy().copy()
    if arms is not None:
        keep &= frame["arm"].astype(str).isin([str(a) for a in arms]).to_numpy()
    frame = frame.loc[keep].copy()
    frame["arm"] = frame["arm"].astype(str)
    frame["task"] = frame["task"].astype(str)

    dropped: list[str] = []
    n_dropped = 0
    if "status" in frame.columns:
        status = frame["status"].astype("string").str.strip().str.lower()
        bad = (status.notna() & ~status.isin(list(_OK_STATUS))).to_numpy(dtype=bool)
        if bad.any():
            counts = frame.loc[bad, "status"].astype(str).value_counts()
            dropped.append(f"{int(bad.sum())} runs with status " + ", ".join(f"{k!r} ({v})" for k, v in counts.items()))
            n_dropped += int(bad.sum())
            frame = frame.loc[~bad]
        frame = frame.drop(columns="status")

    raw = frame["value"]
    values = pd.to_numeric(raw, errors="coerce")
    non_numeric = (values.isna() & raw.notna()).to_numpy()
    if non_numeric.any():
        first = raw[non_numeric].iloc[0]
        raise InputError(
            f"'value' must be numeric; got {first!r} at {_rows(frame, non_numeric)}. "
            "Convert the column to numbers (mark missing values as empty/NaN)."
        )
    infinite = np.isinf(values.to_numpy(dtype=float))
    if infinite.any():
        raise InputError(f"'value' must be finite; got an infinite value at {_rows(frame, infinite)}. Fix or remove these runs.")
    frame["value"] = values.astype(float)
    missing = frame["value"].isna().to_numpy()
    if missing.any():
        dropped.append(f"{int(missing.sum())} runs with a missing value")
        n_dropped += int(missing.sum())
        frame = frame.loc[~missing]

    if frame["seed"].isna().any():
        no_seed = frame["seed"].isna().to_numpy()
        raise InputError(f"'seed' must be set for every run; missing at {_rows(frame, no_seed)}. Number the runs of each arm and task.")
    if "n_eval" in frame.columns:
        n_eval = pd.to_numeric(frame["n_eval"], errors="coerce").to_numpy(dtype=float)
        bad_n = ~(n_eval > 0) & frame["n_eval"].notna().to_numpy()
        if bad_n.any():
            raise InputError(
                f"'n_eval' must be a positive number of evaluation items; got {frame['n_eval'][bad_n].iloc[0]!r} "
                f"at {_rows(frame, bad_n)}. Leave it empty when unknown."
            )
        frame["n_eval"] = n_eval
    for cost in ("cost_gpu_hours", "cost_usd"):
        if cost in frame.columns:
            frame[cost] = pd.to_numeric(frame[cost], errors="coerce").astype(float)

    if spec.kind == "proportion":
        outside = ((frame["value"] < 0) | (frame["value"] > 1)).to_numpy()
        if outside.any():
            raise InputError(
                f"metric {'+'.join(wanted)!r} is a proportion and must lie in [0, 1]; got "
                f"{frame['value'][outside].iloc[0]!r} at {_rows(frame, outside)}. Divide percentages by 100, "
                "or declare the metric with MetricSpec(kind='bounded')."
            )

    key = ["experiment", "arm", "task", "seed", "metric"]
    if "item" in frame.columns:
        key.append("item")
    dup = frame.duplicated(key, keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"each ({', '.join(key)}) must appear once; duplicates at {_rows(frame, dup)}. "
            "Remove repeated rows or give repeated runs distinct seeds."
        )

    message = None
    if dropped:
        message = "; ".join(dropped) + " left out"
        warnings.warn(message, DataDroppedWarning, stacklevel=3)
    return RunsTable(frame=frame, metric="+".join(wanted), spec=spec, n_dropped=n_dropped,
                     dropped_reason=message, warnings=(message,) if message else ())


def column_options(arm_col: str, task_col: str, seed_col: str, metric_col: str, value_col: str) -> dict[str, Any]:
    """The column mapping as recorded in provenance."""
    return {"arm_col": arm_col, "task_col": task_col, "seed_col": seed_col,
            "metric_col": metric_col, "value_col": value_col}
