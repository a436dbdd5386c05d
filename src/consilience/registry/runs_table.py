"""The runs table: the one long-format table every importer produces and every analysis reads.

One row is one measured value::

    experiment, arm, task, seed, metric, value, n_eval, cost_gpu_hours, cost_usd, status, item,
    source, external_id

``experiment``, ``arm``, ``task``, ``metric`` and ``value`` are required; the rest may be absent.
Other columns are kept per row in ``extra``. :func:`normalise_runs` checks a table row by row and
refuses the whole table at the first bad cell, with an error naming the file, row, column, value
and fix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from consilience._results import json_safe
from consilience.errors import InputError
from consilience.registry.models import RUN_STATUSES

__all__ = [
    "REQUIRED_COLUMNS",
    "RUN_COLUMNS",
    "STATUS_ALIASES",
    "default_row_label",
    "natural_key",
    "normalise_runs",
    "normalise_status",
]

RUN_COLUMNS: tuple[str, ...] = (
    "experiment",
    "arm",
    "task",
    "seed",
    "metric",
    "value",
    "n_eval",
    "cost_gpu_hours",
    "cost_usd",
    "status",
    "item",
    "source",
    "external_id",
)
"""Columns of :meth:`Registry.runs`, in order (moderator columns follow)."""

REQUIRED_COLUMNS: tuple[str, ...] = ("experiment", "arm", "task", "metric", "value")

STATUS_ALIASES: dict[str, str] = {
    "complete": "complete",
    "completed": "complete",
    "finished": "complete",
    "success": "complete",
    "succeeded": "complete",
    "failed": "failed",
    "failure": "failed",
    "crashed": "failed",
    "error": "failed",
    "errored": "failed",
    "preempted": "failed",
    "killed": "killed",
    "cancelled": "killed",
    "canceled": "killed",
    "running": "running",
    "scheduled": "running",
    "pending": "running",
}
"""Run states of MLflow, W&B and common spellings, mapped onto :data:`RUN_STATUSES`."""

_TEXT_LIMITS = {
    "experiment": 200,
    "arm": 200,
    "task": 200,
    "metric": 200,
    "item": 200,
    "source": 200,
    "external_id": 700,
}
_INT_LIMIT = 2**63 - 1

RowLabel = Callable[[int], str]


def default_row_label(i: int) -> str:
    """The label of the row at 0-based position ``i`` in error messages: ``row i+1``."""
    return f"row {i + 1}"


def normalise_status(value: Any) -> str | None:
    """Map a run state (``FINISHED``, ``crashed``, ...) onto :data:`RUN_STATUSES`; ``None`` if unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "complete"
    key = str(value).strip().lower()
    if key == "":
        return "complete"
    return STATUS_ALIASES.get(key)


def natural_key(
    experiment: str, arm: str, task: str, seed: int | None, metric: str, item: str | None
) -> str:
    """The default ``external_id`` of a row: its identity as a compact JSON list."""
    return json.dumps([experiment, arm, task, seed, metric, item], separators=(",", ":"))


def _json_each(values: Sequence[Any]) -> list[str]:
    """``json.dumps`` of every value, encoded once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    table = [json.dumps(u.item() if isinstance(u, np.generic) else u) for u in uniques]
    table.append("null")  # code -1: None
    return [table[c] for c in codes]


def natural_keys(columns: Sequence[Sequence[Any]]) -> list[str]:
    """:func:`natural_key` of every row of ``columns`` (experiment, arm, task, seed, metric,
    item), the same strings: a compact JSON list is its elements' JSON joined by commas."""
    encoded = [_json_each(col) for col in columns]
    return ["[" + ",".join(parts) + "]" for parts in zip(*encoded, strict=True)]


class _Checker:
    """Row-wise checks over one table with a shared error template."""

    def __init__(self, frame: pd.DataFrame, where: str, label: RowLabel) -> None:
        self.frame = frame
        self.where = where
        self.label = label

    def fail(self, i: int, column: str, problem: str, value: Any, fix: str) -> InputError:
        return InputError(
            f"{self.where}, {self.label(i)}, column '{column}': {problem}; got {value!r}. {fix}"
        )

    def text(self, column: str, *, required: bool) -> np.ndarray:
        if column not in self.frame.columns:
            return np.full(len(self.frame), None, dtype=object)
        fast = self._text_of_strings(column, required=required)
        return fast if fast is not None else self._text_rows(column, required=required)

    def _text_of_strings(self, column: str, *, required: bool) -> np.ndarray | None:
        """:meth:`text` of a column of strings, done once per distinct value (names repeat
        thousands of times in a runs table); ``None`` when the column holds other values or
        any value is invalid, so that the row-by-row check reports the first bad row."""
        series = self.frame[column]
        if pd.api.types.infer_dtype(series, skipna=True) not in ("string", "empty"):
            return None
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        cleaned = [str(v).strip() or None for v in uniques]
        limit = _TEXT_LIMITS[column]
        if any(t is not None and len(t) > limit for t in cleaned):
            return None
        if required and (any(t is None for t in cleaned) or bool((codes < 0).any())):
            return None
        table = np.array([*cleaned, None], dtype=object)  # code -1 (missing) -> None
        return np.asarray(table[codes])

    def _text_rows(self, column: str, *, required: bool) -> np.ndarray:
        limit = _TEXT_LIMITS[column]
        raw = self.frame[column].to_numpy(dtype=object)
        out = np.empty(len(raw), dtype=object)
        for i, v in enumerate(raw):
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                text = None
            elif isinstance(v, (float, np.floating)) and float(v).is_integer():
                text = str(int(v))
            elif isinstance(v, (dict, list, tuple, set)):
                raise self.fail(i, column, "must be text", v, f"Give a plain {column} name.")
            else:
                text = str(v).strip() or None
            if text is None and required:
                raise self.fail(
                    i,
                    column,
                    "is empty",
                    v,
                    f"Every run needs a {column}; fill it in or drop the row.",
                )
            if text is not None and len(text) > limit:
                raise self.fail(
                    i,
                    column,
                    f"is longer than {limit} characters",
                    text[:40] + "...",
                    "Use a shorter name.",
                )
            out[i] = text
        return out

    def number(self, column: str, *, integer: bool, minimum: float | None, fix: str) -> np.ndarray:
        if column not in self.frame.columns:
            return np.full(len(self.frame), np.nan)
        series = self.frame[column]
        raw = series.to_numpy(dtype=object)
        if series.dtype.kind in "iuf":
            values = series.to_numpy(dtype=float)
        else:
            kinds = [isinstance(v, (bool, np.bool_, dict, list, tuple)) for v in raw]
            if any(kinds):
                i = kinds.index(True)
                raise self.fail(i, column, "must be a number", raw[i], fix)
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
            blank = series.isna().to_numpy() | (series.astype(str).str.strip() == "").to_numpy()
            bad = np.flatnonzero(np.isnan(values) & ~blank)
            if bad.size:
                raise self.fail(int(bad[0]), column, "must be a number", raw[bad[0]], fix)
        bad = np.flatnonzero(np.isinf(values))
        if bad.size:
            raise self.fail(int(bad[0]), column, "must be finite", raw[bad[0]], fix)
        if integer:
            finite = ~np.isnan(values)
            bad = np.flatnonzero(
                finite & ((values != np.round(values)) | (np.abs(values) > _INT_LIMIT))
            )
            if bad.size:
                raise self.fail(int(bad[0]), column, "must be a whole number", raw[bad[0]], fix)
        if minimum is not None:
            bad = np.flatnonzero(values < minimum)
            if bad.size:
                raise self.fail(int(bad[0]), column, f"must be >= {minimum:g}", raw[bad[0]], fix)
        return values


def _rename_known(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    renames: dict[Any, str] = {}
    seen: dict[str, Any] = {}
    for col in frame.columns:
        key = str(col).strip()
        if key.lower() in RUN_COLUMNS:
            key = key.lower()
        if key in seen:
            raise InputError(
                f"{where}: columns {seen[key]!r} and {col!r} both mean '{key}'. Keep one of them."
            )
        seen[key] = col
        renames[col] = key
    return frame.rename(columns=renames)


def normalise_runs(
    frame: pd.DataFrame, *, where: str, default_source: str, label: RowLabel | None = None
) -> pd.DataFrame:
    """Check a runs table and return it in canonical form, or raise on the first bad cell.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per run and metric, with at least the :data:`REQUIRED_COLUMNS`.
    where : str
        What the table came from (a file name, an MLflow URI); starts every error message.
    default_source : str
        ``source`` of rows whose table has no ``source`` column (or an empty cell).
    label : callable, optional
        Turns a 0-based row position into a human label (``"line 7"``, ``"MLflow run 3f2a"``);
        defaults to ``"row N"`` counting from 1.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RUN_COLUMNS` plus ``extra`` (dict of the other columns) and ``row``
        (the input position). ``seed``/``n_eval`` are Python ints or ``None``, numbers are
        floats or ``None``, ``status`` is one of :data:`RUN_STATUSES`.

    Raises
    ------
    InputError
        A required column is missing, a cell has the wrong type, a complete run has no finite
        value, a status is unknown, or two rows describe the same run.
    """
    label = label or default_row_label
    frame = _rename_known(frame, where)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            f"{where}: the runs table has no column(s) {missing}. Available columns: "
            f"{[str(c) for c in frame.columns]}. A runs table needs one row per run and metric "
            f"with columns {list(REQUIRED_COLUMNS)}; rename your columns to match."
        )
    check = _Checker(frame.reset_index(drop=True), where, label)
    n = len(frame)
    out: dict[str, Any] = {}
    for column in ("experiment", "arm", "task", "metric"):
        out[column] = check.text(column, required=True)
    out["item"] = check.text("item", required=False)
    source = check.text("source", required=False)
    out["source"] = np.where(pd.isna(source), default_source, source)
    external = check.text("external_id", required=False)

    seeds = check.number(
        "seed",
        integer=True,
        minimum=None,
        fix="Seeds are whole numbers; leave the cell empty if unknown.",
    )
    n_eval = check.number(
        "n_eval",
        integer=True,
        minimum=1,
        fix="n_eval is the number of evaluation examples, a positive whole number.",
    )
    out["value"] = check.number(
        "value",
        integer=False,
        minimum=None,
        fix="Give the metric's value as a number (empty for a failed run).",
    )
    for cost in ("cost_gpu_hours", "cost_usd"):
        out[cost] = check.number(
            cost,
            integer=False,
            minimum=0,
            fix="Costs are non-negative numbers; leave the cell empty if unknown.",
        )

    statuses = np.empty(n, dtype=object)
    raw_status = frame["status"].to_numpy(dtype=object) if "status" in frame.columns else [None] * n
    for i, v in enumerate(raw_status):
        st = normalise_status(v)
        if st is None:
            raise check.fail(
                i,
                "status",
                f"is not a run status {list(RUN_STATUSES)}",
                v,
                "Use one of these (MLflow and W&B states such as FINISHED or crashed "
                "are understood too).",
            )
        statuses[i] = st
    out["status"] = statuses
    no_value = np.flatnonzero(np.isnan(out["value"]) & (statuses == "complete"))
    if no_value.size:
        i = int(no_value[0])
        raise check.fail(
            i,
            "value",
            "is missing (NaN) in a complete run",
            frame["value"].iloc[i],
            "A complete run must have a finite value: fix the value, or set the "
            "run's status to failed if it did not finish.",
        )

    out["seed"] = [None if math.isnan(s) else int(s) for s in seeds]
    out["n_eval"] = [None if math.isnan(v) else int(v) for v in n_eval]
    for column in ("value", "cost_gpu_hours", "cost_usd"):
        out[column] = [None if math.isnan(v) else float(v) for v in out[column]]
    keyed = [i for i, ext in enumerate(external) if ext is None]
    parts = ("experiment", "arm", "task", "seed", "metric", "item")
    if len(keyed) < n:
        keys_of = natural_keys([[out[c][i] for i in keyed] for c in parts])
    else:
        keys_of = natural_keys([out[c] for c in parts])
    out["external_id"] = list(external)
    for i, key in zip(keyed, keys_of, strict=True):
        out["external_id"][i] = key
    result = pd.DataFrame({c: pd.Series(out[c], dtype=object) for c in RUN_COLUMNS})

    keys = result["source"].astype(str) + "\x1f" + result["external_id"].astype(str)
    dup = keys.duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        first = keys.iloc[rows[0]]
        same = [int(r) for r in rows if keys.iloc[r] == first][:2]
        raise InputError(
            f"{where}: {label(same[0])} and {label(same[1])} are the same run (source "
            f"{result['source'].iloc[same[0]]!r}, id {result['external_id'].iloc[same[0]]!r}). "
            "Remove the duplicate, or tell the runs apart with a seed, an item or an "
            "external_id column."
        )

    extra_cols = [c for c in frame.columns if c not in RUN_COLUMNS]
    if extra_cols:
        records = frame[extra_cols].to_dict(orient="records")
        extras = [
            {str(k): json_safe(v) for k, v in r.items() if json_safe(v) is not None}
            for r in records
        ]
    else:
        extras = [{} for _ in range(n)]
    result["extra"] = pd.Series(extras, dtype=object)
    result["row"] = np.arange(n)
    return result
