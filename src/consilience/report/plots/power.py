"""Power curves: power against sample size, with the target power and the recommended size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from consilience.errors import InputError
from consilience.report.plots._layout import Layout, check_ax, fmt_num
from consilience.report.plots._style import (
    ACCENT,
    FONT,
    GRID,
    HIGHLIGHT,
    INK,
    MUTED,
    SMALL,
    new_axes,
    spines,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["PowerLayout", "crossing", "power_layout", "power_plot"]

_N_UNITS = {
    "ttest": "Seeds per arm",
    "paired": "Pairs of seeds",
    "proportions": "Test examples per arm",
    "mcnemar": "Test examples",
    "meta": "Seeds per arm per task",
    "meta_experiment": "Experiments",
}
_AXIS = {"k": "Tasks (k)", "effect": "Effect (metric units)"}


@dataclass(frozen=True, eq=False)
class PowerLayout(Layout):
    """Power curves as data.

    Attributes
    ----------
    curves : DataFrame
        ``curve`` (label), ``x``, ``power``, ``main`` (the highlighted curve), sorted by x.
    target : float or None
        Target power (the dashed horizontal line).
    recommended_x, recommended_power : float
        The recommended size on the main curve and its power (NaN when the curve never reaches the
        target); marked by a point and a vertical line.
    label : str
        "n = 64 for 80% power" (or why there is none).
    xname, xlim, ylim, xlabel, ylabel : the swept quantity, axis limits and titles.
    """

    curves: pd.DataFrame
    target: float | None
    recommended_x: float
    recommended_power: float
    label: str
    xname: str
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlabel: str
    ylabel: str


def crossing(x: np.ndarray, power: np.ndarray, target: float, *, whole: bool) -> float:
    """Smallest x where the curve reaches ``target`` (linear interpolation between grid points;
    rounded up to a whole number when ``whole``); NaN when it never does."""
    order = np.argsort(x, kind="stable")
    x, power = x[order], power[order]
    hit = np.flatnonzero(power >= target)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        value = float(x[0])
    else:
        x0, x1, p0, p1 = x[i - 1], x[i], power[i - 1], power[i]
        value = float(x0 + (target - p0) * (x1 - x0) / (p1 - p0))
    if whole:
        candidates = x[x >= value - 1e-9]
        exact = math.ceil(value - 1e-9)
        value = float(exact if not candidates.size or candidates[0] > exact else candidates[0])
    return value


def _from_power_result(result: Any) -> tuple[pd.DataFrame, str, str, float | None]:
    frame = result.to_frame()
    varying = [c for c in ("n", "k", "effect") if frame[c].nunique(dropna=True) > 1]
    if len(varying) != 1 or len(frame) < 2:
        raise InputError(
            f"power_layout draws a power curve over one swept quantity; this result varies "
            f"{varying or 'nothing'}. Pass an array for one of n, k or effect, e.g. "
            f"power_ttest(0.5, n=np.arange(2, 51))."
        )
    name = varying[0]
    curves = pd.DataFrame(
        {
            "curve": result.test,
            "x": frame[name].to_numpy(dtype=float),
            "power": frame["power"].to_numpy(dtype=float),
            "main": True,
        }
    )
    label = _N_UNITS.get(result.test, "Sample size") + " (n)" if name == "n" else _AXIS[name]
    return curves, name, label, None


def _from_plan(plan: Any) -> tuple[pd.DataFrame, str, str, float | None]:
    table = plan.power_curve
    ks = [plan.k] + (
        [plan.k_pilot] if plan.k_pilot != plan.k and plan.k_pilot in set(table["k"]) else []
    )
    parts = [
        pd.DataFrame(
            {
                "curve": f"k = {k} tasks",
                "x": table.loc[table["k"] == k, "seeds"].to_numpy(float),
                "power": table.loc[table["k"] == k, "power"].to_numpy(float),
                "main": k == plan.k,
            }
        )
        for k in ks
    ]
    return (
        pd.concat(parts, ignore_index=True),
        "seeds",
        "Seeds per arm per task",
        float(plan.target_power),
    )


_LEVER_AXIS = {"seeds": ("seeds", "Seeds per arm per task"), "n_eval": ("n_eval", "Test examples"),
               "tasks": ("k", "Tasks (k)")}


def _is_experiment_plan(result: Any) -> bool:
    """A :class:`consilience.registry.ExperimentPlan` (recognised by its fields, so that the
    drawing layer does not import the registry)."""
    return all(hasattr(result, a) for a in ("power_curve", "lever", "achieved_power", "target_power"))


def _from_experiment_plan(plan: Any) -> tuple[pd.DataFrame, str, str, float | None, float]:
    """The plan's curve along its lever (seeds when it changes nothing), and where it lands."""
    lever = {"none": "seeds", "seeds_n_eval": "seeds"}.get(plan.lever, plan.lever)
    table = plan.power_curve
    part = table.loc[table["lever"] == lever]
    if part.empty:  # a plan without that sweep: the seeds curve is always there
        lever, part = "seeds", table.loc[table["lever"] == "seeds"]
    column, xlabel = _LEVER_AXIS[lever]
    curves = pd.DataFrame({"curve": f"more {'tasks' if lever == 'tasks' else xlabel.lower()}",
                           "x": part[column].to_numpy(float), "power": part["power"].to_numpy(float),
                           "main": True})
    chosen = {"seeds": plan.seeds, "n_eval": plan.n_eval, "tasks": plan.k}[lever]
    return curves, column, xlabel, float(plan.target_power), float(chosen)


def power_layout(result: Any, *, target: float | None = 0.8) -> PowerLayout:
    """Curves, target and recommendation of the power plot of ``result``.

    Parameters
    ----------
    result : PowerResult, DesignPlan or ExperimentPlan
        A power curve (a :class:`consilience.design.PowerResult` computed over an array of ``n``,
        ``k`` or ``effect``), a plan of :func:`consilience.design.recommend_design` (power
        against seeds for the recommended number of tasks, and for the pilot's), or a plan of a
        registered experiment (:func:`consilience.registry.plan_experiment`: power along the
        quantity the recommendation changes, seeds when it changes nothing).
    target : float or None
        Target power for a PowerResult (a DesignPlan uses its own); None draws no target.

    Returns
    -------
    PowerLayout
        The curves, and the smallest size reaching ``target`` (see :func:`crossing`; whole units
        for n, k and seeds; for a plan its recommended value and ``achieved_power``).
    """
    from consilience.design.plan import DesignPlan
    from consilience.design.result import PowerResult

    chosen = float("nan")
    if isinstance(result, PowerResult):
        curves, name, xlabel, plan_target = _from_power_result(result)
    elif isinstance(result, DesignPlan):
        curves, name, xlabel, plan_target = _from_plan(result)
    elif _is_experiment_plan(result):
        curves, name, xlabel, plan_target, chosen = _from_experiment_plan(result)
    else:
        raise TypeError(
            f"power_layout takes a PowerResult, a DesignPlan or an ExperimentPlan; got "
            f"{type(result).__name__}."
        )
    goal = plan_target if plan_target is not None else target
    if goal is not None and not 0 < goal < 1:
        raise InputError(
            f"The 'target' parameter must be a power in (0, 1) or None. Got {target!r} instead."
        )
    curves = curves.sort_values(["curve", "x"], kind="stable").reset_index(drop=True)
    main = curves.loc[curves["main"]]
    rec_x = rec_p = float("nan")
    label = ""
    if isinstance(result, DesignPlan):
        rec_x, rec_p = float(result.seeds), float(result.achieved_power)
    elif _is_experiment_plan(result):
        rec_x, rec_p = chosen, float(result.achieved_power)
    elif goal is not None:
        rec_x = crossing(
            main["x"].to_numpy(), main["power"].to_numpy(), goal, whole=name != "effect"
        )
        if math.isfinite(rec_x):
            rec_p = float(np.interp(rec_x, main["x"], main["power"]))
    if isinstance(result, DesignPlan) or _is_experiment_plan(result):
        label = (
            f"{result.k:,} tasks \u00d7 {result.seeds} seeds per arm"
            + (f" \u00d7 {result.n_eval:,} test examples"
               if getattr(result, "n_eval", None) is not None else "")
            + f": power {fmt_num(100 * result.achieved_power, 1)}%"
        )
    elif goal is not None:
        pct = fmt_num(100 * goal, 0)
        symbol = {"n": "n", "k": "k", "seeds": "seeds", "effect": "effect"}[name]
        shown = fmt_num(rec_x, 3) if name == "effect" else f"{rec_x:,.0f}"
        label = (
            f"{symbol} = {shown} for {pct}% power"
            if math.isfinite(rec_x)
            else f"{pct}% power not reached on this range"
        )
    lo, hi = float(curves["x"].min()), float(curves["x"].max())
    pad = 0.02 * (hi - lo)
    return PowerLayout(
        curves=curves,
        target=goal,
        recommended_x=rec_x,
        recommended_power=rec_p,
        label=label,
        xname=name,
        xlim=(lo - pad, hi + pad),
        ylim=(0.0, 1.02),
        xlabel=xlabel,
        ylabel="Power",
    )


def power_plot(result: Any, ax: Axes | None = None, *, target: float | None = 0.8) -> Axes:
    """Power curve: power against sample size, the target power as a dashed line and the
    recommended size marked.

    Parameters
    ----------
    result : PowerResult, DesignPlan or ExperimentPlan
        See :func:`power_layout`.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.
    target :
        See :func:`power_layout`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    check_ax(ax)
    layout = power_layout(result, target=target)
    if ax is None:
        ax = new_axes(5.2, 3.6, left=0.7, right=0.25, top=0.2)
    for name, part in layout.curves.groupby("curve", sort=False):
        main = bool(part["main"].iloc[0])
        ax.plot(
            part["x"],
            part["power"],
            color=ACCENT if main else MUTED,
            lw=1.8 if main else 1.1,
            label=str(name),
            zorder=3 if main else 2,
        )
    if layout.target is not None:
        ax.axhline(layout.target, color=HIGHLIGHT, lw=1.0, ls=(0, (4, 2)), zorder=1)
        ax.annotate(
            f"target {fmt_num(100 * layout.target, 0)}%",
            (1.0, layout.target),
            xycoords=("axes fraction", "data"),
            xytext=(-4, -3),
            textcoords="offset points",
            ha="right",
            va="top",
            fontsize=SMALL,
            color=HIGHLIGHT,
        )
    if math.isfinite(layout.recommended_x):
        x, p = layout.recommended_x, layout.recommended_power
        ax.plot([x, x], [0, p], color=HIGHLIGHT, lw=1.0, ls=(0, (1, 2)), zorder=1)
        ax.scatter([x], [p], s=34, color=HIGHLIGHT, zorder=4)
        right = x < layout.xlim[0] + 0.7 * (layout.xlim[1] - layout.xlim[0])
        # power rises with size: below-right and above-left of the point stay clear of the curve
        ax.annotate(
            layout.label,
            (x, p),
            xytext=(7, -12) if right else (-7, 9),
            textcoords="offset points",
            ha="left" if right else "right",
            va="top" if right else "bottom",
            fontsize=SMALL,
            color=HIGHLIGHT,
        )
    elif layout.label:
        ax.annotate(
            layout.label,
            (1.0, 0.02),
            xycoords="axes fraction",
            ha="right",
            va="bottom",
            fontsize=SMALL,
            color=HIGHLIGHT,
        )
    ax.set_xlim(*layout.xlim)
    ax.set_ylim(*layout.ylim)
    ax.grid(True, color=GRID, lw=0.6)
    ax.set_axisbelow(True)
    spines(ax)
    ax.set_xlabel(layout.xlabel, fontsize=FONT, color=INK)
    ax.set_ylabel(layout.ylabel, fontsize=FONT, color=INK)
    if layout.curves["curve"].nunique() > 1:
        ax.legend(loc="lower right", frameon=False, fontsize=SMALL)
    return ax
