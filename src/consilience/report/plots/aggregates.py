"""rliable-style interval estimates: one panel per aggregate (median, IQM, mean, optimality gap)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pandas as pd

from consilience.errors import InputError
from consilience.report.plots._layout import Layout, check_ax, fmt_tick, iter_rows, linear_ticks
from consilience.report.plots._style import (
    FONT,
    GRID,
    INK,
    MUTED,
    SMALL,
    arm_colors,
    new_axes,
    text_width,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.compare.aggregates import Aggregates

__all__ = ["IntervalLayout", "aggregates_layout", "aggregates_plot"]

TITLES = {"median": "Median", "iqm": "IQM", "mean": "Mean", "optimality_gap": "Optimality gap"}
_PANEL_ORDER = ("median", "iqm", "mean", "optimality_gap")
_ROW = 0.26  # inches per arm on a new figure


@dataclass(frozen=True, eq=False)
class IntervalLayout(Layout):
    """Interval estimates as data, one panel per statistic.

    Attributes
    ----------
    intervals : DataFrame
        ``arm, statistic, estimate, ci_low, ci_high, y`` (row of the arm, the top arm has the
        largest y) and ``color``.
    statistics : tuple of str
        Panels, left to right.
    titles : tuple of str
        Their titles.
    xlims : tuple of (float, float)
        x limits of each panel; ``xticks`` the tick values of each.
    arms : tuple of str
        Arms top to bottom.
    xlabel : str
        Title under the panels (the metric, and the interval's level).
    """

    intervals: pd.DataFrame
    statistics: tuple[str, ...]
    titles: tuple[str, ...]
    xlims: tuple[tuple[float, float], ...]
    xticks: tuple[tuple[float, ...], ...]
    arms: tuple[str, ...]
    xlabel: str


def aggregates_layout(
    result: Aggregates,
    *,
    statistics: Sequence[str] | None = None,
    order: Literal["best", "given"] = "best",
) -> IntervalLayout:
    """Panels, rows and limits of the interval plot of ``result``.

    Parameters
    ----------
    result : Aggregates
        From :func:`consilience.aggregate`.
    statistics : sequence of str, optional
        Panels to draw, of the statistics in ``result`` (default all, in rliable's order median,
        IQM, mean, optimality gap).
    order : {"best", "given"}
        Arms top to bottom: best IQM (or the first panel's statistic) first, or as in ``result``.

    Returns
    -------
    IntervalLayout
        One row per arm and statistic (the ``estimate, ci_low, ci_high`` of ``result.table``), the
        panels' limits (the intervals' range plus 8%, widened to round ticks).
    """
    from consilience.compare.aggregates import Aggregates

    if not isinstance(result, Aggregates):
        raise TypeError(
            f"aggregates_layout takes the result of consilience.aggregate(); got "
            f"{type(result).__name__}."
        )
    table = result.table
    present = [s for s in _PANEL_ORDER if s in set(table["statistic"])]
    stats = present if statistics is None else [str(s) for s in statistics]
    missing = [s for s in stats if s not in present]
    if missing or not stats:
        raise InputError(
            f"The 'statistics' parameter must name statistics of the result, {present}. "
            f"Got {list(stats)!r} instead."
        )
    if order not in ("best", "given"):
        raise InputError(
            f"The 'order' parameter must be one of ['best', 'given']. Got {order!r} instead."
        )
    arms = list(dict.fromkeys(table["arm"]))
    if order == "best":
        key = "iqm" if "iqm" in stats else stats[0]
        est = table.loc[table["statistic"] == key].set_index("arm")["estimate"]
        better_high = (result.direction == "higher") != (key == "optimality_gap")
        arms = sorted(arms, key=lambda a: -est[a] if better_high else est[a])
    y = {a: float(len(arms) - i) for i, a in enumerate(arms)}
    colors = arm_colors(arms)
    rows = table.loc[
        table["statistic"].isin(stats), ["arm", "statistic", "estimate", "ci_low", "ci_high"]
    ]
    rows = rows.assign(y=rows["arm"].map(y), color=rows["arm"].map(colors)).reset_index(drop=True)
    xlims, xticks = [], []
    for s in stats:
        part = rows.loc[rows["statistic"] == s]
        lo, hi = float(part["ci_low"].min()), float(part["ci_high"].max())
        pad = 0.08 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1.0)
        ticks = linear_ticks(lo - pad, hi + pad, nbins=4)
        inner = ticks[(ticks >= lo - pad) & (ticks <= hi + pad)]
        xlims.append((lo - pad, hi + pad))
        xticks.append(tuple(float(t) for t in (inner if inner.size >= 2 else ticks)))
    pct = round(100 * result.level)
    return IntervalLayout(
        intervals=rows,
        statistics=tuple(stats),
        titles=tuple(TITLES[s] for s in stats),
        xlims=tuple(xlims),
        xticks=tuple(xticks),
        arms=tuple(arms),
        xlabel=f"{result.metric[:1].upper()}{result.metric[1:]} ({pct}% stratified-bootstrap intervals)",
    )


def aggregates_plot(
    result: Aggregates,
    ax: Axes | None = None,
    *,
    statistics: Sequence[str] | None = None,
    order: Literal["best", "given"] = "best",
) -> Axes:
    """Interval estimates of the aggregates, one panel per statistic, as rliable's
    ``plot_interval_estimates``: a bar per arm spanning its interval, a tick at the estimate.

    Parameters
    ----------
    result : Aggregates
        From :func:`consilience.aggregate`.
    ax : matplotlib Axes, optional
        The area to fill: its frame is hidden and the panels are drawn inside it as child Axes
        (``ax.child_axes``); arm names extend to its left. Default: a new figure.
    statistics, order :
        See :func:`aggregates_layout`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes holding the panels.

    References
    ----------
    Agarwal, R. et al. (2021). Deep reinforcement learning at the edge of the statistical
    precipice. NeurIPS 34.
    """
    from matplotlib.patches import Rectangle

    check_ax(ax)
    layout = aggregates_layout(result, statistics=statistics, order=order)
    n = len(layout.statistics)
    if ax is None:
        left = (max(text_width(a, FONT) for a in layout.arms) + 14) / 72
        ax = new_axes(
            left + 1.9 * n + 0.15 * (n - 1) + 0.2,
            len(layout.arms) * _ROW + 1.0,
            left=left,
            right=0.2,
            top=0.35,
            bottom=0.65,
        )
    ax.set_axis_off()
    gap = 0.07 if n > 1 else 0.0
    width = (1.0 - gap * (n - 1)) / n
    for j, stat in enumerate(layout.statistics):
        panel = ax.inset_axes((j * (width + gap), 0.0, width, 1.0))
        part = layout.intervals.loc[layout.intervals["statistic"] == stat]
        for row in iter_rows(part):
            panel.add_patch(
                Rectangle(
                    (row.ci_low, row.y - 0.3),
                    row.ci_high - row.ci_low,
                    0.6,
                    facecolor=row.color,
                    alpha=0.75,
                    lw=0,
                )
            )
        panel.vlines(part["estimate"], part["y"] - 0.3, part["y"] + 0.3, color=INK, lw=1.1)
        panel.set_xlim(*layout.xlims[j])
        panel.set_ylim(0.4, len(layout.arms) + 0.6)
        panel.set_xticks(layout.xticks[j], [fmt_tick(t) for t in layout.xticks[j]])
        panel.set_yticks(
            [len(layout.arms) - i for i in range(len(layout.arms))],
            list(layout.arms) if j == 0 else [],
        )
        panel.grid(True, axis="x", color=GRID, lw=0.6, ls=(0, (2, 2)))
        panel.set_axisbelow(True)
        for name, spine in panel.spines.items():
            spine.set_visible(name == "bottom")
            spine.set_color(MUTED)
        panel.tick_params(axis="y", length=0, labelsize=FONT, colors=INK)
        panel.tick_params(
            axis="x", labelsize=SMALL, colors=INK, color=MUTED, direction="out", length=3
        )
        panel.set_title(layout.titles[j], fontsize=FONT + 1, color=INK, pad=6)
    ax.annotate(
        layout.xlabel,
        (0.5, 0.0),
        xycoords="axes fraction",
        xytext=(0, -26),
        textcoords="offset points",
        ha="center",
        va="top",
        fontsize=FONT,
        color=INK,
    )
    return ax
