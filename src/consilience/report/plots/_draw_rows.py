"""Drawing of forest-style layouts: labels on the left, intervals in the middle, aligned numeric
columns on the right, as metafor's ``forest()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from consilience.report.plots._layout import iter_rows
from consilience.report.plots._rows import ForestLayout
from consilience.report.plots._style import (
    ACCENT,
    FONT,
    INK,
    MUTED,
    SMALL,
    new_axes,
    spines,
    text_width,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["draw_forest"]

_ROW_IN = 0.22  # inches per row on a figure this module creates
_DIAMOND = 0.34  # half-height of a diamond, in rows
_GAP = 10.0  # points between the plot area and a text column
_AREA = (9.0, 110.0)  # marker areas (points²) of the lightest and heaviest study


def _columns(layout: ForestLayout) -> dict[str, float]:
    """Right edges (points from the plot's right side) of the text columns, and label width."""
    rows = layout.rows
    bold = (rows["kind"] == "summary").to_numpy()
    w = {
        c: max(
            [text_width(t, weight="bold" if b else "normal") for t, b in zip(rows[c], bold)] + [0.0]
        )
        for c in ("est_text", "low_text", "high_text", "weight_text")
    }
    space = 1.6 * text_width(" ")
    est_edge = _GAP + w["est_text"]
    low_edge = est_edge + space + w["low_text"]
    high_edge = low_edge + space + w["high_text"]
    header = text_width(layout.estimate_header, weight="bold")
    if header > high_edge - _GAP:
        shift = header - (high_edge - _GAP)
        est_edge, low_edge, high_edge = est_edge + shift, low_edge + shift, high_edge + shift
    edges = {
        "est_text": est_edge,
        "low_text": low_edge,
        "high_text": high_edge,
        "weight_text": high_edge,
    }
    if layout.weight_header is not None:
        wh = max(w["weight_text"], text_width(layout.weight_header, weight="bold"))
        edges["weight_text"] = high_edge + 2 * _GAP + wh
    listed = rows.loc[rows["kind"] != "note", "label"]
    edges["label"] = (
        max(
            [text_width(t, weight="bold") for t in listed]
            + [text_width(layout.label_header, weight="bold")]
        )
        + _GAP
    )
    return edges


def _text(
    ax: Axes,
    s: str,
    x_axes: float,
    y: float,
    dx: float,
    ha: str,
    *,
    bold: bool = False,
    size: float = FONT,
    color: str = INK,
    style: str = "normal",
) -> None:
    ax.annotate(
        s,
        xy=(x_axes, y),
        xycoords=ax.get_yaxis_transform(),
        xytext=(dx, 0),
        textcoords="offset points",
        ha=ha,
        va="center",
        fontsize=size,
        color=color,
        fontweight="bold" if bold else "normal",
        fontstyle=style,
        annotation_clip=False,
    )


def _refline_span(rows: pd.DataFrame, low: float, high: float) -> np.ndarray:
    """y values of the reference line from ``low`` to ``high``, broken (NaN) around note rows."""
    notes = np.sort(rows.loc[rows["kind"] == "note", "y"].to_numpy(dtype=float))
    points = [high]
    for y in notes[::-1]:
        if low < y < high:
            points += [y + 0.5, np.nan, y - 0.5]
    return np.asarray([*points, low], dtype=float)


def draw_forest(layout: ForestLayout, ax: Axes | None) -> Axes:
    """Draw ``layout``: new figure sized to the rows and text when ``ax`` is None."""
    from matplotlib.patches import Polygon

    rows = layout.rows
    edges = _columns(layout)
    top = float(rows["y"].max()) + 1.0
    bottom = float(rows["y"].min())
    if ax is None:
        n_rows = top - bottom + 1.6
        left, right = (edges["label"] + 6) / 72, (edges["weight_text"] + 8) / 72
        ax = new_axes(
            left + 3.4 + right,
            n_rows * _ROW_IN + 0.5,
            left=left,
            right=right,
            top=0.05,
            bottom=0.45,
        )
    lo, hi = layout.xlim
    ax.set_xlim(lo, hi)
    ax.set_ylim(bottom - 0.6, top + 0.6)
    spines(ax, keep=("bottom",))
    ax.set_yticks([])
    ax.set_xticks(layout.xticks, layout.xticklabels)
    ax.set_xlabel(layout.xlabel, fontsize=FONT, color=INK)
    ax.patch.set_visible(False)

    drawn = rows.loc[rows["kind"].isin(["study", "summary", "prediction"])]
    if layout.refline is not None and lo <= layout.refline <= hi and len(drawn):
        ys = _refline_span(rows, float(drawn["y"].min()) - 0.5, float(drawn["y"].max()) + 0.5)
        ax.plot(
            np.full(ys.size, layout.refline),
            ys,
            color=MUTED,
            lw=0.8,
            ls=(0, (1, 2)),
            zorder=1,
        )

    studies = layout.rows_of("study")
    if len(studies):
        y = studies["y"].to_numpy()
        a, b = np.clip(studies["ci_low"], lo, hi), np.clip(studies["ci_high"], lo, hi)
        ax.hlines(y, a, b, color=INK, lw=1.0, zorder=2)
        for side, ends, marker in ((lo, studies["ci_low"], "<"), (hi, studies["ci_high"], ">")):
            cut = ((ends < lo) if marker == "<" else (ends > hi)).to_numpy()
            if cut.any():
                ax.scatter(
                    np.full(cut.sum(), side),
                    y[cut],
                    marker=marker,
                    s=18,
                    color=INK,
                    lw=0,
                    zorder=3,
                    clip_on=False,
                )
        inside = studies["estimate"].between(lo, hi).to_numpy()
        area = _AREA[0] + (_AREA[1] - _AREA[0]) * studies["marker_area"].fillna(0.5).to_numpy()
        ax.scatter(
            studies["estimate"][inside],
            y[inside],
            s=area[inside],
            marker=layout.marker,
            color=ACCENT if layout.marker == "o" else "#4a4a4a",
            lw=0,
            zorder=4,
        )

    for row in iter_rows(layout.rows_of("summary")):
        xy = [
            (row.ci_low, row.y),
            (row.estimate, row.y + _DIAMOND),
            (row.ci_high, row.y),
            (row.estimate, row.y - _DIAMOND),
        ]
        ax.add_patch(Polygon(xy, closed=True, facecolor=ACCENT, edgecolor=ACCENT, lw=0.8, zorder=4))
    for row in iter_rows(layout.rows_of("prediction")):
        ax.plot(
            [row.ci_low, row.ci_high],
            [row.y, row.y],
            color=ACCENT,
            lw=1.1,
            ls=(0, (4, 2)),
            zorder=3,
            solid_capstyle="butt",
        )
        ax.plot(
            [row.ci_low, row.ci_high],
            [row.y, row.y],
            color=ACCENT,
            lw=0,
            marker="|",
            ms=7,
            zorder=3,
        )

    for row in iter_rows(rows):
        if row.kind == "note":
            _text(ax, row.label, 0.0, row.y, -edges["label"], "left", size=SMALL, color=MUTED)
            continue
        bold = row.kind in ("heading", "summary")
        _text(ax, row.label, 0.0, row.y, -edges["label"], "left", bold=row.kind == "heading")
        for col in ("est_text", "low_text", "high_text", "weight_text"):
            value = getattr(row, col)
            if value:
                _text(ax, value, 1.0, row.y, edges[col], "right", bold=bold)
    _text(ax, layout.label_header, 0.0, top, -edges["label"], "left", bold=True)
    _text(ax, layout.estimate_header, 1.0, top, edges["high_text"], "right", bold=True)
    if layout.weight_header is not None:
        _text(ax, layout.weight_header, 1.0, top, edges["weight_text"], "right", bold=True)
    return ax
