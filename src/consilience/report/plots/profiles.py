"""Performance profiles (rliable): the fraction of runs or tasks scoring better than a threshold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from consilience.errors import InputError
from consilience.report.plots._layout import Layout, check_ax
from consilience.report.plots._style import (
    FONT,
    GRID,
    INK,
    SMALL,
    arm_colors,
    new_axes,
    spines,
    text_width,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.compare.profiles import PerformanceProfile

__all__ = ["ProfileLayout", "profile_layout", "profile_plot"]


@dataclass(frozen=True, eq=False)
class ProfileLayout(Layout):
    """A performance profile as data.

    Attributes
    ----------
    curves : DataFrame
        ``arm, tau, estimate, ci_low, ci_high`` (the rows of ``result.table`` for the arms shown)
        and ``color``.
    arms : tuple of str
        Arms in legend order: the largest area under the profile first (best for higher-is-better
        metrics).
    xlim, ylim : axis limits (the thresholds' range; 0 to 1).
    xlabel, ylabel : axis titles.
    """

    curves: pd.DataFrame
    arms: tuple[str, ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlabel: str
    ylabel: str


def profile_layout(
    result: PerformanceProfile, *, arms: Sequence[str] | None = None
) -> ProfileLayout:
    """Curves and labels of the performance profile of ``result``.

    Parameters
    ----------
    result : PerformanceProfile
        From :func:`consilience.compare.performance_profile`.
    arms : sequence of str, optional
        Arms to draw (default all).

    Returns
    -------
    ProfileLayout
        The profile of each arm with its pointwise bootstrap band (see the class).
    """
    from consilience.compare.profiles import PerformanceProfile

    if not isinstance(result, PerformanceProfile):
        raise TypeError(
            f"profile_layout takes the result of consilience.compare.performance_profile(); got "
            f"{type(result).__name__}."
        )
    table = result.table
    known = list(dict.fromkeys(table["arm"]))
    chosen = known if arms is None else [str(a) for a in arms]
    unknown = [a for a in chosen if a not in known]
    if unknown or not chosen:
        raise InputError(
            f"The 'arms' parameter must name arms of the profile, {known}. Got {list(chosen)!r} "
            f"instead."
        )
    curves = table.loc[table["arm"].isin(chosen), ["arm", "tau", "estimate", "ci_low", "ci_high"]]
    area = curves.groupby("arm", sort=False)["estimate"].mean()
    order = list(area.sort_values(ascending=False, kind="stable").index)
    colors = arm_colors(order)
    curves = curves.assign(color=curves["arm"].map(colors)).reset_index(drop=True)
    unit = "runs" if result.kind == "runs" else "tasks (mean over seeds)"
    better = ">" if result.direction == "higher" else "<"
    return ProfileLayout(
        curves=curves,
        arms=tuple(order),
        xlim=(float(curves["tau"].min()), float(curves["tau"].max())),
        ylim=(0.0, 1.0),
        xlabel=f"Threshold \u03c4 on {result.metric}",
        ylabel=f"Fraction of {unit} with score {better} \u03c4",
    )


def profile_plot(
    result: PerformanceProfile,
    ax: Axes | None = None,
    *,
    arms: Sequence[str] | None = None,
    legend: bool = True,
) -> Axes:
    """Performance profiles with pointwise bootstrap bands, as rliable's
    ``plot_performance_profiles``.

    A profile above another over the whole range means stochastic dominance: the arm does better
    at every threshold.

    Parameters
    ----------
    result : PerformanceProfile
        From :func:`consilience.compare.performance_profile`.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure with the legend on the right.
    arms :
        See :func:`profile_layout`.
    legend : bool
        Draw the legend (outside the Axes, on the right).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    check_ax(ax)
    layout = profile_layout(result, arms=arms)
    if ax is None:
        room = (max(text_width(a, SMALL) for a in layout.arms) + 44) / 72 if legend else 0.2
        ax = new_axes(
            4.8 + room, max(3.6, 0.17 * len(layout.arms) + 1.0), left=0.7, right=room, top=0.15
        )
    for arm in layout.arms:
        part = layout.curves.loc[layout.curves["arm"] == arm]
        color = str(part["color"].iloc[0])
        ax.fill_between(part["tau"], part["ci_low"], part["ci_high"], color=color, alpha=0.2, lw=0)
        ax.plot(part["tau"], part["estimate"], color=color, lw=1.5, label=arm)
    ax.set_xlim(*layout.xlim)
    ax.set_ylim(*layout.ylim)
    ax.grid(True, color=GRID, lw=0.6)
    ax.set_axisbelow(True)
    spines(ax)
    ax.set_xlabel(layout.xlabel, fontsize=FONT, color=INK)
    ax.set_ylabel(layout.ylabel, fontsize=FONT, color=INK)
    if legend:
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            frameon=False,
            fontsize=SMALL,
            handlelength=1.6,
            borderaxespad=0.0,
        )
    return ax
