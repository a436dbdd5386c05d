"""Learning curve: observed anchors, the fitted curve, its extrapolation and the bootstrap band."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from consilience.errors import InputError
from consilience.report.plots._layout import Layout, check_ax, fmt_num
from consilience.report.plots._style import (
    ACCENT,
    BAND,
    FONT,
    GRID,
    INK,
    MUTED,
    SMALL,
    new_axes,
    spines,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.curves.result import CurveFit

__all__ = ["CurveLayout", "learning_curve_layout", "learning_curve_plot"]


@dataclass(frozen=True, eq=False)
class CurveLayout(Layout):
    """A learning curve as data.

    Attributes
    ----------
    observed : DataFrame
        ``size, score``: the anchors and the mean observed score at each.
    curve : DataFrame
        ``size, estimate, ci_low, ci_high, extrapolated`` on a log-spaced grid from the smallest
        anchor to ``until`` (``CurveFit.predict``); ``extrapolated`` is True beyond the largest
        anchor (drawn dashed).
    current_size : float
        The largest anchor, where extrapolation starts.
    until : float
        The largest size drawn; its prediction is annotated.
    prediction : str
        "n = 40,000: 0.871 [0.852, 0.884]" (predicted score and interval at ``until``).
    xlim, ylim : axis limits (x on a log scale).
    xlabel, ylabel : axis titles.
    level : the band's confidence level (fraction).
    increasing : whether a higher score is better (the curve rises; the legend goes lower right).
    """

    observed: pd.DataFrame
    curve: pd.DataFrame
    current_size: float
    until: float
    prediction: str
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlabel: str
    ylabel: str
    level: float
    increasing: bool


def learning_curve_layout(
    result: CurveFit,
    *,
    until: float | None = None,
    n_points: int = 120,
    xlabel: str = "Training-set size",
    ylabel: str = "Score",
    digits: int = 3,
) -> CurveLayout:
    """Points, curve and band of the learning-curve plot of ``result``.

    Parameters
    ----------
    result : CurveFit
        From :meth:`consilience.curves.LearningCurve.fit`.
    until : float, optional
        Largest training-set size to extrapolate to (default 8 times the largest anchor).
    n_points : int
        Grid points of the curve (log-spaced, with the largest anchor among them).
    xlabel, ylabel : str
        Axis titles.
    digits : int
        Decimals of the annotated prediction.

    Returns
    -------
    CurveLayout
        See the class; ``curve`` holds ``result.predict(grid)``.
    """
    from consilience.curves.result import CurveFit

    if not isinstance(result, CurveFit):
        raise TypeError(
            f"learning_curve_layout takes a CurveFit (LearningCurve().fit(...)); got "
            f"{type(result).__name__}."
        )
    sizes = np.asarray(result.sizes, dtype=float)
    current = float(sizes.max())
    end = 8.0 * current if until is None else float(until)
    if not np.isfinite(end) or end < current:
        raise InputError(
            f"The 'until' parameter must be a size >= the largest anchor ({current:g}). "
            f"Got {until!r} instead."
        )
    if isinstance(n_points, bool) or not isinstance(n_points, int) or n_points < 10:
        raise InputError(
            f"The 'n_points' parameter must be an integer >= 10. Got {n_points!r} instead."
        )
    start = max(float(sizes.min()), 1.0 + 1e-9)
    grid = np.unique(np.r_[np.geomspace(start, end, n_points), current])
    curve = result.predict(grid)[["size", "estimate", "ci_low", "ci_high"]]
    curve = curve.assign(extrapolated=curve["size"] > current)
    observed = pd.DataFrame({"size": sizes, "score": np.asarray(result.observed, dtype=float)})
    last = curve.iloc[-1]
    prediction = (
        f"n = {end:,.0f}: {fmt_num(float(last['estimate']), digits)} "
        f"[{fmt_num(float(last['ci_low']), digits)}, {fmt_num(float(last['ci_high']), digits)}]"
    )
    values = np.r_[observed["score"], curve["estimate"], curve["ci_low"], curve["ci_high"]]
    values = values[np.isfinite(values)]
    lo, hi = float(values.min()), float(values.max())
    pad = 0.06 * (hi - lo) if hi > lo else 0.01
    return CurveLayout(
        observed=observed,
        curve=curve.reset_index(drop=True),
        current_size=current,
        until=end,
        prediction=prediction,
        xlim=(start / 1.15, end * 1.15),
        ylim=(lo - pad, hi + pad),
        xlabel=xlabel,
        ylabel=ylabel,
        level=result.level,
        increasing=result.direction == "higher",
    )


def learning_curve_plot(
    result: CurveFit,
    ax: Axes | None = None,
    *,
    until: float | None = None,
    xlabel: str = "Training-set size",
    ylabel: str = "Score",
    digits: int = 3,
) -> Axes:
    """Learning curve with its extrapolation: observed anchors (dots), the fitted curve (solid up
    to the largest anchor, dashed beyond) and the bootstrap band (shaded).

    Parameters
    ----------
    result : CurveFit
        From :meth:`consilience.curves.LearningCurve.fit`.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    until, xlabel, ylabel, digits :
        See :func:`learning_curve_layout`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on (x on a log scale).
    """
    from matplotlib.ticker import FuncFormatter

    check_ax(ax)
    layout = learning_curve_layout(result, until=until, xlabel=xlabel, ylabel=ylabel, digits=digits)
    if ax is None:
        ax = new_axes(5.6, 3.8, left=0.75, right=0.25, top=0.2)
    curve = layout.curve
    pct = fmt_num(100 * layout.level, 0)
    ax.fill_between(
        curve["size"],
        curve["ci_low"],
        curve["ci_high"],
        color=BAND,
        alpha=0.45,
        lw=0,
        label=f"{pct}% bootstrap band",
    )
    inside, beyond = (
        curve.loc[~curve["extrapolated"]],
        curve.loc[curve["size"] >= layout.current_size],
    )
    ax.plot(inside["size"], inside["estimate"], color=ACCENT, lw=1.8, label="Fitted curve")
    ax.plot(
        beyond["size"],
        beyond["estimate"],
        color=ACCENT,
        lw=1.8,
        ls=(0, (5, 3)),
        label="Extrapolation",
    )
    ax.scatter(
        layout.observed["size"],
        layout.observed["score"],
        s=22,
        color=INK,
        zorder=4,
        label="Observed (mean over seeds)",
    )
    ax.axvline(
        layout.current_size,
        color=MUTED,
        lw=0.8,
        ls=(0, (1, 2)),
        zorder=1,
        label=f"Largest anchor (n = {layout.current_size:,.0f})",
    )
    last = curve.iloc[-1]
    ax.errorbar(
        [last["size"]],
        [last["estimate"]],
        yerr=[[last["estimate"] - last["ci_low"]], [last["ci_high"] - last["estimate"]]],
        fmt="o",
        ms=4,
        color=ACCENT,
        capsize=3,
        lw=1.0,
        zorder=5,
    )
    ax.annotate(
        layout.prediction,
        (last["size"], last["ci_low"]),
        xytext=(0, -6),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=SMALL,
        color=ACCENT,
    )
    ax.set_xscale("log")
    ax.set_xlim(*layout.xlim)
    ax.set_ylim(*layout.ylim)
    ax.grid(True, which="major", color=GRID, lw=0.6)
    ax.set_axisbelow(True)
    spines(ax)
    ax.set_xlabel(layout.xlabel, fontsize=FONT, color=INK)
    ax.set_ylabel(layout.ylabel, fontsize=FONT, color=INK)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(
        loc="lower right" if layout.increasing else "upper right",
        frameon=False,
        fontsize=SMALL,
        bbox_to_anchor=(1.0, 0.1) if layout.increasing else (1.0, 0.9),
    )
    return ax
