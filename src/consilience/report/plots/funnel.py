"""Contour-enhanced funnel plot, with trim-and-fill studies as open circles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from consilience.report.plots._layout import Layout, check_ax, fmt_num, iter_rows
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

    from consilience.diagnostics.funnel import FunnelData

__all__ = ["FunnelLayout", "funnel_layout", "funnel_plot"]

_SHADES = (
    "#ffffff",
    "#ebebeb",
    "#d2d2d2",
    "#b4b4b4",
)  # from "not significant" to "most significant"


@dataclass(frozen=True, eq=False)
class FunnelLayout(Layout):
    """A funnel plot as data.

    Attributes
    ----------
    points : DataFrame
        ``study, x`` (effect ``yi``), ``y`` (standard error), ``filled`` (imputed by trim-and-fill).
    bands : DataFrame
        The shaded significance bands, innermost first: ``label`` ("p > 0.10", ...), ``color``,
        ``level`` (the contour's confidence level; NaN for the outermost band, which is the
        background), and ``low, high`` (arrays over ``se_grid``: the contour ``∓ z_{(1+L)/2} se``).
    region : DataFrame
        The pseudo-confidence region around ``estimate`` at the level closest to 95%: one row,
        ``level, low, high`` over ``se_grid`` (drawn only without contours).
    se_grid : ndarray
        Standard errors of every line.
    estimate, observed_estimate : float
        The vertical line (the filled estimate for trim-and-fill) and, after trim-and-fill, the
        estimate of the observed studies (NaN otherwise).
    contours : bool
        Whether the significance contours are drawn (else the region lines).
    xlim, ylim : axis limits; ``ylim`` runs from the largest standard error (bottom) to 0 (top).
    xlabel, ylabel : axis titles.
    """

    points: pd.DataFrame
    bands: pd.DataFrame
    region: pd.DataFrame
    se_grid: np.ndarray
    estimate: float
    observed_estimate: float
    contours: bool
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    xlabel: str
    ylabel: str


def _p(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") if v < 0.01 else f"{v:.2f}"


def _band_labels(levels: list[float]) -> list[str]:
    """Band labels "p > 0.10", "0.05 < p ≤ 0.10", ..., "p ≤ 0.01" for ascending ``levels``."""
    alphas = [1 - lv for lv in levels]
    labels = [f"p > {_p(alphas[0])}"]
    labels += [f"{_p(alphas[j])} < p \u2264 {_p(alphas[j - 1])}" for j in range(1, len(alphas))]
    return labels + [f"p \u2264 {_p(alphas[-1])}"]


def funnel_layout(
    data: Any, *, contours: bool = True, xlabel: str = "Estimate", ylabel: str = "Standard error"
) -> FunnelLayout:
    """The numbers of the (contour-enhanced) funnel plot.

    Parameters
    ----------
    data : FunnelData, TrimAndFill or MetaResult
        From :func:`consilience.diagnostics.funnel_data` (used as is), or a trim-and-fill or
        meta-analysis result (passed through ``funnel_data`` with its default levels).
    contours : bool
        Shade the significance contours around 0 (Peters et al., 2008); otherwise draw the
        pseudo-confidence region around the estimate.
    xlabel, ylabel : str
        Axis titles.

    Returns
    -------
    FunnelLayout
        Points, the bands between consecutive contours (``low``/``high`` are FunnelData's
        ``contour_low``/``contour_high``), the region lines and the axis limits (FunnelData's
        ``contour_xlim`` or ``xlim``; the y range 5% beyond the largest standard error).
    """
    from consilience.diagnostics.funnel import FunnelData, funnel_data
    from consilience.diagnostics.trimfill import TrimAndFill

    observed = float("nan")
    if isinstance(data, TrimAndFill):
        observed = data.observed_estimate if data.k0 > 0 else float("nan")
    fd: FunnelData = data if isinstance(data, FunnelData) else funnel_data(data)
    points = pd.DataFrame({"study": list(fd.study), "x": fd.yi, "y": fd.sei, "filled": fd.filled})
    levels = list(fd.levels)
    labels = _band_labels(levels)
    bands = [
        {
            "label": labels[j],
            "color": _SHADES[min(j, len(_SHADES) - 2)],
            "level": level,
            "low": fd.contour_low[j],
            "high": fd.contour_high[j],
        }
        for j, level in enumerate(levels)
    ]
    bands.append(
        {
            "label": labels[-1],
            "color": _SHADES[min(len(levels), len(_SHADES) - 1)],
            "level": float("nan"),
            "low": np.full(fd.se_grid.size, -np.inf),
            "high": np.full(fd.se_grid.size, np.inf),
        }
    )
    j = int(np.argmin(np.abs(np.asarray(levels) - 0.95)))
    region = pd.DataFrame(
        {"level": [levels[j]], "low": [fd.region_low[j]], "high": [fd.region_high[j]]}
    )
    return FunnelLayout(
        points=points,
        bands=pd.DataFrame(bands),
        region=region,
        se_grid=fd.se_grid,
        estimate=fd.estimate,
        observed_estimate=observed,
        contours=contours,
        xlim=fd.contour_xlim if contours else fd.xlim,
        ylim=(1.05 * fd.ylim[0], 0.0),
        xlabel=xlabel,
        ylabel=ylabel,
    )


def funnel_plot(
    data: Any,
    ax: Axes | None = None,
    *,
    contours: bool = True,
    xlabel: str = "Estimate",
    ylabel: str = "Standard error",
    legend: bool = True,
) -> Axes:
    """Contour-enhanced funnel plot: effects against standard errors, significance shaded.

    Observed studies are filled circles, studies imputed by trim-and-fill open circles; the solid
    line marks the (filled) pooled estimate and, after trim-and-fill, the dashed line the
    estimate of the observed studies.

    Parameters
    ----------
    data : FunnelData, TrimAndFill or MetaResult
        See :func:`funnel_layout`.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure (legend to the right of the plot).
    contours, xlabel, ylabel :
        See :func:`funnel_layout`.
    legend : bool
        Draw the legend of the bands and markers (outside the Axes, on the right).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    References
    ----------
    Peters, J. L. et al. (2008). Contour-enhanced meta-analysis funnel plots help distinguish
    publication bias from other causes of asymmetry. Journal of Clinical Epidemiology, 61(10).
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    check_ax(ax)
    layout = funnel_layout(data, contours=contours, xlabel=xlabel, ylabel=ylabel)
    filled = bool(layout.points["filled"].any())
    dashed = (0, (4, 2))
    handles: list[Any] = []
    if layout.contours:
        handles = [
            Patch(facecolor=b.color, edgecolor=MUTED, lw=0.5, label=b.label)
            for b in iter_rows(layout.bands)
        ]
    else:
        pct = fmt_num(100 * float(layout.region["level"].iloc[0]), 0)
        handles.append(
            Patch(
                facecolor="white",
                edgecolor=MUTED,
                lw=0.5,
                ls=dashed,
                label=f"{pct}% pseudo-confidence region",
            )
        )
    name = "Estimate with filled studies" if filled else "Pooled estimate"
    handles.append(
        Line2D([], [], color=ACCENT, lw=1.2, label=f"{name} ({fmt_num(layout.estimate)})")
    )
    if np.isfinite(layout.observed_estimate):
        handles.append(
            Line2D(
                [],
                [],
                color=ACCENT,
                lw=1.0,
                ls=dashed,
                label=f"Observed studies only ({fmt_num(layout.observed_estimate)})",
            )
        )
    handles.append(Line2D([], [], ls="", marker="o", ms=5, color=INK, label="Observed study"))
    if filled:
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                ms=5,
                mfc="white",
                mec=INK,
                label="Filled study (trim-and-fill)",
            )
        )
    if ax is None:
        room = (max(text_width(h.get_label(), SMALL) for h in handles) + 56) / 72 if legend else 0.2
        ax = new_axes(4.6 + room, 4.0, left=0.7, right=room, top=0.15)
    se = layout.se_grid
    if layout.contours:
        ax.set_facecolor(layout.bands["color"].iloc[-1])
        for band in iter_rows(layout.bands.iloc[::-1].iloc[1:]):
            ax.fill(
                np.r_[band.low, band.high[::-1]],
                np.r_[se, se[::-1]],
                color=band.color,
                lw=0,
                zorder=0,
            )
    else:
        ax.set_facecolor("#f4f4f4")
        row = layout.region.iloc[0]
        ax.fill(
            np.r_[row["low"], row["high"][::-1]],
            np.r_[se, se[::-1]],
            facecolor="white",
            edgecolor=MUTED,
            lw=0.8,
            ls=dashed,
            zorder=0,
        )
    ax.axvline(layout.estimate, color=ACCENT, lw=1.2, zorder=2)
    if np.isfinite(layout.observed_estimate):
        ax.axvline(layout.observed_estimate, color=ACCENT, lw=1.0, ls=dashed, zorder=2)
    pts = layout.points
    obs, fill = pts.loc[~pts["filled"]], pts.loc[pts["filled"]]
    ax.scatter(obs["x"], obs["y"], s=26, color=INK, edgecolor="white", lw=0.5, zorder=4)
    if len(fill):
        ax.scatter(fill["x"], fill["y"], s=26, facecolor="white", edgecolor=INK, lw=1.0, zorder=4)
    ax.set_xlim(*layout.xlim)
    ax.set_ylim(*layout.ylim)
    spines(ax, keep=("bottom", "left", "top", "right"))
    ax.set_xlabel(layout.xlabel, fontsize=FONT, color=INK)
    ax.set_ylabel(layout.ylabel, fontsize=FONT, color=INK)
    if legend:
        ax.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            frameon=False,
            fontsize=SMALL,
            handlelength=1.6,
            borderaxespad=0.0,
        )
    return ax
