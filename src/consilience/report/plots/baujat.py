"""Baujat plot: each study's contribution to heterogeneity against its influence on the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from consilience.errors import InputError
from consilience.report.plots._layout import Layout, check_ax, iter_rows
from consilience.report.plots._style import (
    ACCENT,
    FONT,
    GRID,
    INK,
    MUTED,
    SMALL,
    new_axes,
    spines,
    text_width,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.diagnostics.influence import Influence
    from consilience.pooling.result import MetaResult

__all__ = ["BaujatLayout", "baujat_layout", "baujat_plot"]


@dataclass(frozen=True, eq=False)
class BaujatLayout(Layout):
    """A Baujat plot as data.

    Attributes
    ----------
    points : DataFrame
        ``study, id`` (1-based position in the fit), ``x`` (squared Pearson residual: the
        contribution to the heterogeneity statistic), ``y`` (influence on the fitted value),
        ``labelled`` (whether the study's name is printed).
    xlim, ylim : axis limits (from 4% below 0 to 8% beyond the largest value).
    xlabel, ylabel : axis titles, as metafor chooses them.
    """

    points: pd.DataFrame
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlabel: str
    ylabel: str


def _shift(result: MetaResult, fitted: np.ndarray, influence: Influence | None) -> np.ndarray:
    """(x_i b(-i) - x_i b)² / x_i Var(b(-i)) x_i' of every study: the y values."""
    if len(result.coefficients) == 1:
        if influence is not None:
            # intercept-only: cook_d = (b - b(-i))² / Var(b) and cov_r = Var(b(-i)) / Var(b)
            shift = np.asarray(influence.cook_d, dtype=float) / np.asarray(
                influence.cov_r, dtype=float
            )
            return np.asarray(shift, dtype=float)
        from consilience.diagnostics import leave_one_out

        loo = leave_one_out(result)
        return np.asarray((loo.estimate - fitted) ** 2 / loo.se**2, dtype=float)
    from consilience.diagnostics._common import design_of
    from consilience.diagnostics._refit import refit

    X = design_of(result, "baujat_layout")
    fits = refit(
        result.yi, result.vi, X, 1.0 - np.eye(result.k), result.method, result.test, result.level
    )
    delpred = np.einsum("ip,ip->i", X, fits.beta)
    return np.asarray(
        (delpred - fitted) ** 2 / np.einsum("ip,ipq,iq->i", X, fits.vcov, X), dtype=float
    )


def baujat_layout(
    result: MetaResult, *, influence: Influence | None = None, n_labels: int | None = 5
) -> BaujatLayout:
    """The points of the Baujat plot of ``result``, as metafor's ``baujat()`` computes them.

    Parameters
    ----------
    result : MetaResult
        A fit of :func:`consilience.meta_analyze` (with or without moderators), k >= 2.
    influence : Influence, optional
        ``influence(result)``, when already computed: for a model without moderators its
        ``cook_d`` and ``cov_r`` give the y values without refitting.
    n_labels : int or None
        Print the names of the ``n_labels`` studies farthest from the origin (in units of the
        largest x and y); None names every study.

    Returns
    -------
    BaujatLayout
        One point per study (see the class).

    Notes
    -----
    With ``ŷ_i = x_i b`` from the fit, ``ŷ_i(-i) = x_i b(-i)`` and ``V_i(-i) = x_i Var(b(-i)) x_i'``
    from the fit without study ``i`` (same estimator and test)::

        x_i = (y_i - ŷ_i)² / (v_i + τ²)          (equal-effects: the study's share of Q)
        y_i = (ŷ_i(-i) - ŷ_i)² / V_i(-i)

    Without moderators ``y_i = cook_d_i / cov_r_i`` of :func:`consilience.diagnostics.influence`.

    References
    ----------
    Baujat, B., Mahé, C., Pignon, J.-P. & Hill, C. (2002). A graphical method for exploring
    heterogeneity in meta-analyses: application to a meta-analysis of 65 trials. Statistics in
    Medicine, 21(18), 2641-2652.

    Validated against: the definitions of ``xhati`` and ``yhati`` in metafor 4.x ``baujat.rma``,
    checked by separate refits (``tests/report/test_funnel_baujat.py``); no recorded metafor output.
    """
    from consilience.pooling.result import MetaResult

    if not isinstance(result, MetaResult):
        raise TypeError(
            f"baujat_layout takes the result of consilience.meta_analyze(); got "
            f"{type(result).__name__}."
        )
    if result.k < 2:
        raise InputError(f"baujat_layout needs at least k = 2 studies; got k = {result.k}.")
    if influence is not None and tuple(influence.study) != tuple(result.labels):
        raise InputError(
            "'influence' must be influence(result) of this fit: its study labels differ."
        )
    if n_labels is not None and (isinstance(n_labels, bool) or n_labels < 0):
        raise InputError(
            f"The 'n_labels' parameter must be a non-negative integer or None. Got "
            f"{n_labels!r} instead."
        )
    from consilience.diagnostics._common import design_of

    X = design_of(result, "baujat_layout")
    beta = np.array([c.estimate for c in result.coefficients])
    fitted = X @ beta
    yi, vi = np.asarray(result.yi, dtype=float), np.asarray(result.vi, dtype=float)
    x = (yi - fitted) ** 2 / (vi + result.tau2)
    y = _shift(result, fitted, influence)
    score = x / max(np.nanmax(x), 1e-300) + y / max(np.nanmax(y), 1e-300)
    order = np.argsort(-np.nan_to_num(score, nan=-1.0), kind="stable")
    labelled = np.zeros(result.k, dtype=bool)
    labelled[order[: result.k if n_labels is None else n_labels]] = True
    points = pd.DataFrame(
        {
            "study": list(result.labels),
            "id": np.arange(1, result.k + 1),
            "x": x,
            "y": y,
            "labelled": labelled,
        }
    )
    if result.method == "EE":
        xlabel = (
            "Contribution to overall heterogeneity"
            if len(beta) == 1
            else "Contribution to residual heterogeneity"
        )
    else:
        xlabel = "Squared Pearson residual"
    ylabel = "Influence on overall result" if len(beta) == 1 else "Influence on fitted value"
    xmax, ymax = float(np.nanmax(x)), float(np.nanmax(y))
    return BaujatLayout(
        points=points,
        xlim=(-0.04 * xmax, 1.08 * xmax),
        ylim=(-0.04 * ymax, 1.08 * ymax),
        xlabel=xlabel,
        ylabel=ylabel,
    )


def _label_points(ax: Axes, pts: pd.DataFrame) -> None:
    """Name the labelled points where the name overlaps no point, no other name and stays inside.

    Greedy, in display units: for each point (most notable first) try right, left, above, below
    and the diagonals, at growing distances (with a leader line beyond the first); skip the name
    when nothing fits (the point still shows its id).
    """
    from matplotlib.transforms import Bbox

    scale = ax.figure.dpi / 72.0
    radius = 7.5 * scale
    xy = ax.transData.transform(pts[["x", "y"]].to_numpy(dtype=float))
    frame = ax.get_window_extent()
    taken = [Bbox.from_extents(px - radius, py - radius, px + radius, py + radius) for px, py in xy]
    height = SMALL * 1.25 * scale
    order = (
        (pts["x"] / pts["x"].max() + pts["y"] / pts["y"].max()).sort_values(ascending=False).index
    )
    for i in order:
        if not pts.at[i, "labelled"]:
            continue
        width = text_width(str(pts.at[i, "study"]), SMALL) * scale
        px, py = xy[pts.index.get_loc(i)]
        for reach in (1.0, 2.2, 3.6):
            gap = radius * reach + 2 * scale
            found = None
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1)):
                cx = px + dx * gap + (width / 2 if dx > 0 else -width / 2 if dx < 0 else 0.0)
                cy = py + dy * (gap if dx == 0 else gap * 0.7)
                box = Bbox.from_extents(
                    cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2
                )
                inside = (
                    box.x0 >= frame.x0
                    and box.x1 <= frame.x1
                    and box.y0 >= frame.y0
                    and box.y1 <= frame.y1
                )
                if inside and not any(box.overlaps(t) for t in taken):
                    found = (box, cx, cy)
                    break
            if found is not None:
                box, cx, cy = found
                taken.append(box)
                tx, ty = ax.transData.inverted().transform((cx, cy))
                arrow = (
                    None
                    if reach == 1.0
                    else {
                        "arrowstyle": "-",
                        "color": MUTED,
                        "lw": 0.6,
                        "shrinkA": 1,
                        "shrinkB": radius / scale,
                    }
                )
                ax.annotate(
                    str(pts.at[i, "study"]),
                    (pts.at[i, "x"], pts.at[i, "y"]),
                    xytext=(float(tx), float(ty)),
                    textcoords="data",
                    ha="center",
                    va="center",
                    fontsize=SMALL,
                    color=INK,
                    zorder=4,
                    arrowprops=arrow,
                )
                break


def baujat_plot(
    result: MetaResult,
    ax: Axes | None = None,
    *,
    influence: Influence | None = None,
    n_labels: int | None = 5,
) -> Axes:
    """Baujat plot: studies in the upper right both add heterogeneity and move the pooled result.

    Parameters
    ----------
    result : MetaResult
        A fit of :func:`consilience.meta_analyze`.
    ax : matplotlib Axes, optional
        Where to draw; default a new square figure.
    influence, n_labels :
        See :func:`baujat_layout`. Every point shows its ``id`` (position in the fit) inside it.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    check_ax(ax)
    layout = baujat_layout(result, influence=influence, n_labels=n_labels)
    if ax is None:
        ax = new_axes(4.8, 4.4, left=0.7, right=0.3, top=0.2)
    pts = layout.points
    ax.grid(True, color=GRID, lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    ax.scatter(pts["x"], pts["y"], s=150, facecolor="white", edgecolor=ACCENT, lw=1.0, zorder=3)
    for row in iter_rows(pts):
        ax.annotate(
            str(row.id),
            (row.x, row.y),
            ha="center",
            va="center",
            fontsize=SMALL - 1,
            color=ACCENT,
            zorder=4,
        )
    ax.set_xlim(*layout.xlim)
    ax.set_ylim(*layout.ylim)
    _label_points(ax, pts)
    ax.set_xlim(*layout.xlim)
    ax.set_ylim(*layout.ylim)
    spines(ax)
    ax.set_xlabel(layout.xlabel, fontsize=FONT, color=INK)
    ax.set_ylabel(layout.ylabel, fontsize=FONT, color=INK)
    return ax
