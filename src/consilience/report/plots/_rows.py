"""Forest-style rows shared by the forest, subgroup, cumulative and leave-one-out plots.

A :class:`ForestLayout` lists one row per line of the plot (a study, a pooled diamond, a prediction
interval, a subgroup heading or a note) with its y position and the text of its columns;
:func:`consilience.report.plots._draw_rows.draw_forest` draws any such layout the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from consilience.report.plots._layout import Layout, fmt_num, fmt_tick, linear_ticks, log_ticks

__all__ = [
    "ROW_COLUMNS",
    "ForestLayout",
    "axis_ticks",
    "finish_layout",
    "interval_texts",
    "make_rows",
    "refit_layout",
]

ROW_COLUMNS = (
    "kind",
    "label",
    "y",
    "estimate",
    "ci_low",
    "ci_high",
    "marker_area",
    "est_text",
    "low_text",
    "high_text",
    "weight_text",
)
RowKind = Literal["study", "summary", "prediction", "heading", "note"]


@dataclass(frozen=True, eq=False)
class ForestLayout(Layout):
    """Everything a forest-style plot shows, in data coordinates and strings.

    Attributes
    ----------
    rows : DataFrame
        One row per line, top to bottom, with columns ``kind`` ("study", "summary" for a diamond,
        "prediction", "heading", "note"), ``label``, ``y`` (rows are one unit apart, the top row
        has the largest y), ``estimate, ci_low, ci_high`` (NaN where not drawn), ``marker_area``
        (fraction of the largest marker's area, NaN for rows without a marker), ``est_text,
        low_text, high_text`` (the "estimate [ci_low, ci_high]" column in three aligned parts)
        and ``weight_text``.
    xlim : the x-axis limits (the outer ticks, or the data range if wider).
    xticks, xticklabels : tick positions (data units) and their labels.
    refline : x of the reference (null) line, None for none.
    xlabel : x-axis title.
    label_header, estimate_header, weight_header : column headings; ``weight_header`` None when
        there is no weight column.
    marker : matplotlib marker of the study rows ("s" squares sized by weight, "o" circles).
    level : confidence level of the intervals (fraction).
    """

    rows: pd.DataFrame
    xlim: tuple[float, float]
    xticks: tuple[float, ...]
    xticklabels: tuple[str, ...]
    refline: float | None
    xlabel: str
    label_header: str
    estimate_header: str
    weight_header: str | None
    marker: str
    level: float

    def rows_of(self, kind: RowKind) -> pd.DataFrame:
        """The rows of one ``kind``."""
        return self.rows.loc[self.rows["kind"] == kind].reset_index(drop=True)


def interval_texts(
    estimate: float, low: float, high: float, digits: int, exponentiate: bool
) -> tuple[str, str, str]:
    """The three aligned parts of "estimate [low, high]"."""
    f = np.exp if exponentiate else (lambda v: v)
    est, lo, hi = (fmt_num(float(f(v)), digits) for v in (estimate, low, high))
    return est, f"[{lo},", f"{hi}]"


def axis_ticks(
    low: float, high: float, exponentiate: bool, xlim: tuple[float, float] | None
) -> tuple[tuple[float, float], tuple[float, ...], tuple[str, ...]]:
    """x limits, ticks and tick labels covering ``[low, high]`` (or the given ``xlim``)."""
    lo, hi = (low, high) if xlim is None else (float(xlim[0]), float(xlim[1]))
    ticks = log_ticks(lo, hi) if exponentiate else linear_ticks(lo, hi, nbins=6)
    if xlim is None:
        limits = (min(float(ticks[0]), lo), max(float(ticks[-1]), hi))
    else:
        limits = (lo, hi)
        ticks = ticks[(ticks >= lo - 1e-12) & (ticks <= hi + 1e-12)]
    labels = tuple(fmt_tick(float(t), exponentiate) for t in ticks)
    return limits, tuple(float(t) for t in ticks), labels


def make_rows(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows frame with every column of :data:`ROW_COLUMNS`, whatever the records hold."""
    frame = pd.DataFrame.from_records(records)
    for col in ROW_COLUMNS:
        if col not in frame.columns:
            frame[col] = np.nan if col in ("estimate", "ci_low", "ci_high", "marker_area") else ""
    frame = frame[list(ROW_COLUMNS)]
    for col in ("label", "est_text", "low_text", "high_text", "weight_text"):
        frame[col] = frame[col].fillna("").astype(str)
    return frame.astype(
        {"y": float, "estimate": float, "ci_low": float, "ci_high": float, "marker_area": float}
    )


def finish_layout(
    rows: pd.DataFrame,
    *,
    drawn: tuple[RowKind, ...],
    refline: float | None,
    xlim: tuple[float, float] | None,
    exponentiate: bool,
    effect_label: str,
    xlabel: str | None,
    label_header: str,
    weight_header: str | None,
    marker: str,
    level: float,
) -> ForestLayout:
    """The :class:`ForestLayout` of ``rows``: the x axis covers the intervals of the rows of the
    ``drawn`` kinds and the reference line; the estimate column is headed with the level."""
    shown = rows.loc[rows["kind"].isin(drawn)]
    low, high = float(shown["ci_low"].min()), float(shown["ci_high"].max())
    if refline is not None:
        low, high = min(low, refline), max(high, refline)
    limits, ticks, ticklabels = axis_ticks(low, high, exponentiate, xlim)
    pct = fmt_num(level * 100, 0 if float(level * 100).is_integer() else 1)
    return ForestLayout(
        rows=rows,
        xlim=limits,
        xticks=ticks,
        xticklabels=ticklabels,
        refline=refline,
        xlabel=effect_label if xlabel is None else xlabel,
        label_header=label_header,
        estimate_header=f"{effect_label} [{pct}% CI]",
        weight_header=weight_header,
        marker=marker,
        level=level,
    )


def refit_layout(
    table: Any,
    labels: list[str],
    *,
    label_header: str,
    summary: tuple[str, float, float, float] | None,
    notes: list[str],
    exponentiate: bool,
    xlim: tuple[float, float] | None,
    refline: float | None,
    effect_label: str,
    xlabel: str | None,
    digits: int,
    i2: bool,
) -> ForestLayout:
    """Rows of a table of refits (cumulative or leave-one-out): one circle and interval per refit.

    ``summary`` is an optional (label, estimate, ci_low, ci_high) diamond closing the rows;
    ``notes`` are printed below; with ``i2`` the weight column shows each refit's I².
    """
    records: list[dict[str, Any]] = []
    n = len(labels)
    for j, label in enumerate(labels):
        est, lot, hit = interval_texts(
            table.estimate[j], table.ci_low[j], table.ci_high[j], digits, exponentiate
        )
        records.append(
            {
                "kind": "study",
                "label": label,
                "y": n - j + 1,
                "estimate": table.estimate[j],
                "ci_low": table.ci_low[j],
                "ci_high": table.ci_high[j],
                "marker_area": 0.3,
                "est_text": est,
                "low_text": lot,
                "high_text": hit,
                "weight_text": f"{fmt_num(float(table.i2[j]), 1)}%"
                if i2 and np.isfinite(table.i2[j])
                else "",
            }
        )
    y = 1.0
    if summary is not None:
        name, estimate, low, high = summary
        est, lot, hit = interval_texts(estimate, low, high, digits, exponentiate)
        records.append(
            {
                "kind": "summary",
                "label": name,
                "y": 0.0,
                "estimate": estimate,
                "ci_low": low,
                "ci_high": high,
                "est_text": est,
                "low_text": lot,
                "high_text": hit,
            }
        )
        y = -1.0
    for note in notes:
        records.append({"kind": "note", "label": note, "y": y})
        y -= 1.0
    return finish_layout(
        make_rows(records),
        drawn=("study", "summary"),
        refline=refline,
        xlim=xlim,
        exponentiate=exponentiate,
        effect_label=effect_label,
        xlabel=xlabel,
        label_header=label_header,
        weight_header="I\u00b2" if i2 else None,
        marker="o",
        level=float(table.level),
    )
