"""Cell formatting shared by the HTML report, the Markdown report and the dashboard.

Rounding is presentation only: results keep full precision, and these helpers turn a value into
the text shown in a table cell ("—" for a missing value).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["COMPARISON_COLUMNS", "MISSING", "NUMERIC_HEADINGS", "cell_text", "comparison_view",
           "frame_cells",
           "p_text", "prob_text"]

MISSING = "—"
"""Text of a missing value (None, NaN, NA)."""


def cell_text(value: Any, digits: int = 4) -> str:
    """A table cell's text: integers as is, floats to ``digits`` decimals (scientific when tiny or
    huge), dates as ISO dates, lists and mappings joined, missing values as :data:`MISSING`."""
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if bool(value) else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return MISSING
        if math.isinf(f):
            return "∞" if f > 0 else "-∞"
        if f != 0 and (abs(f) < 10 ** (-digits) or abs(f) >= 1e7):
            return f"{f:.{max(digits - 1, 1)}e}"
        return f"{f:.{digits}f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return ", ".join(f"{k}: {cell_text(v, digits)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(cell_text(v, digits) for v in value)
    return str(value)


def frame_cells(
    frame: pd.DataFrame, *, digits: int = 4, integer_columns: Sequence[str] = ()
) -> tuple[list[str], list[list[str]]]:
    """Column names and the rows of ``frame`` as cell texts.

    Parameters
    ----------
    frame : DataFrame
    digits : int
        Decimals of floats.
    integer_columns : sequence of str
        Columns shown without decimals (counts stored as floats because of missing values).
    """
    columns = [str(c) for c in frame.columns]
    ints = set(integer_columns)
    rows: list[list[str]] = []
    for record in frame.itertuples(index=False, name=None):
        row = []
        for col, value in zip(columns, record):
            row.append(cell_text(value, 0 if col in ints else digits))
        rows.append(row)
    return columns, rows


def _interval(low: Any, high: Any, digits: int) -> str:
    lo, hi = cell_text(low, digits), cell_text(high, digits)
    if lo == MISSING and hi == MISSING:
        return MISSING
    return f"{lo} to {hi}"


def p_text(value: Any) -> str:
    """A p-value as text: "< 0.001" below 0.001, else three decimals."""
    try:
        p = float(value)
    except (TypeError, ValueError):
        return MISSING
    if math.isnan(p):
        return MISSING
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def prob_text(value: Any) -> str:
    """A probability as text: "< 0.01" below 0.005, else two decimals."""
    try:
        p = float(value)
    except (TypeError, ValueError):
        return MISSING
    if math.isnan(p):
        return MISSING
    return "< 0.01" if p < 0.005 else f"{p:.2f}"


COMPARISON_COLUMNS = ("k", "estimate", "ci", "pi", "i2", "p_holm", "prob_better", "verdict",
                      "seeds_needed", "tasks_needed", "usd_per_gain")
"""Columns of :func:`comparison_view` after the leading label columns."""


def comparison_view(
    frame: pd.DataFrame, *, leading: Sequence[str], level: float = 0.95, digits: int = 3
) -> pd.DataFrame:
    """A compact, display-ready table of comparisons (rankings and leaderboards).

    Parameters
    ----------
    frame : DataFrame
        Rows with ``k, estimate, ci_low, ci_high, pi_low, pi_high, i2, p_holm, prob_better,
        verdict`` and optionally ``seeds_needed, tasks_needed, usd_per_gain``.
    leading : sequence of str
        Label columns kept first, as they are (``experiment, baseline, status``).
    level : float
        Confidence level, for the headings of the interval columns.
    digits : int
        Decimals of effects.

    Returns
    -------
    DataFrame
        Text columns: the leading ones, then ``k``, ``estimate``, ``<level> CI``,
        ``<level> PI`` (both "low to high"), ``I² (%)``, ``p (Holm)``, ``P(better)``,
        ``verdict``, ``seeds needed``, ``tasks needed``, ``USD per gain`` (those present).
    """
    pct = f"{level * 100 if level <= 1 else level:g}%"
    out = pd.DataFrame({c: frame[c].map(cell_text) for c in leading if c in frame.columns})
    n = len(frame)

    def col(name: str) -> pd.Series:
        return frame[name] if name in frame.columns else pd.Series([None] * n, index=frame.index)

    out["k"] = col("k").map(lambda v: cell_text(v, 0))
    out["estimate"] = col("estimate").map(lambda v: cell_text(v, digits))
    out[f"{pct} CI"] = [_interval(a, b, digits) for a, b in zip(col("ci_low"), col("ci_high"))]
    out[f"{pct} PI"] = [_interval(a, b, digits) for a, b in zip(col("pi_low"), col("pi_high"))]
    out["I² (%)"] = col("i2").map(lambda v: cell_text(v, 1))
    if "p_holm" in frame.columns:
        out["p (Holm)"] = frame["p_holm"].map(p_text)
    out["P(better)"] = col("prob_better").map(prob_text)
    out["verdict"] = col("verdict").map(cell_text)
    for name, title in (("seeds_needed", "seeds needed"), ("tasks_needed", "tasks needed")):
        if name in frame.columns:
            out[title] = frame[name].map(lambda v: cell_text(v, 0))
    if "usd_per_gain" in frame.columns and frame["usd_per_gain"].notna().any():
        out["USD per gain"] = frame["usd_per_gain"].map(lambda v: cell_text(v, 2))
    return out.reset_index(drop=True)


NUMERIC_HEADINGS = ("k", "estimate", "I² (%)", "p (Holm)", "P(better)", "seeds needed",
                    "tasks needed", "USD per gain")
"""Headings of :func:`comparison_view` whose cells are right-aligned numbers."""
