"""Funnel-plot numbers: points, the pseudo-confidence region and significance contours, as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from consilience._results import Provenance, Summary, json_safe
from consilience._validation import check_level
from consilience.diagnostics._common import check_result, make_provenance
from consilience.diagnostics.trimfill import TrimAndFill
from consilience.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["FunnelData", "funnel_data"]


@dataclass(frozen=True, repr=False, eq=False)
class FunnelData:
    """Result of :func:`funnel_data`: everything a funnel plot draws, in data coordinates.

    The x axis is the effect size, the y axis the standard error, drawn inverted (``ylim`` runs from
    the largest standard error at the bottom to 0 at the top), as metafor's ``funnel()``.

    Attributes
    ----------
    study, yi, sei, filled : the points; ``filled`` marks studies imputed by trim-and-fill.
    estimate : the pooled estimate, the centre of the pseudo-confidence region (the filled estimate
        for a trim-and-fill result).
    tau2 : the between-study variance added to the region's width (0 unless ``add_tau2``).
    levels : confidence levels (fractions) of the region and of the contours, ascending.
    se_grid : (n_points,) standard errors from 0 to 1.1 max(sei), the y values of every line.
    region_low, region_high : (len(levels), n_points) pseudo-confidence region around ``estimate``:
        ``estimate ± z_{(1+level)/2} sqrt(se² + tau2)``.
    contour_low, contour_high : (len(levels), n_points) significance contours around 0: a study
        outside the contour of level L is significant at 1 - L (two-sided z test), ``± z se``.
    xlim, ylim : axis limits as metafor sets them for the region plot (the widest level, all points,
        10% margins); ``contour_xlim`` the same for the contour-enhanced plot (centred on 0).
    method, k : the fit's tau² estimator and number of (observed) studies.
    provenance : method, options and input hash.
    """

    study: tuple[str, ...]
    yi: np.ndarray
    sei: np.ndarray
    filled: np.ndarray
    estimate: float
    tau2: float
    levels: tuple[float, ...]
    se_grid: np.ndarray
    region_low: np.ndarray
    region_high: np.ndarray
    contour_low: np.ndarray
    contour_high: np.ndarray
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    contour_xlim: tuple[float, float]
    method: str
    k: int
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        n_filled = int(self.filled.sum())
        extra = f" filled={n_filled}" if n_filled else ""
        return (f"<FunnelData {self.method} k={self.k}{extra} estimate={self.estimate:.4g} "
                f"levels={[round(lv, 4) for lv in self.levels]}>")

    def to_frame(self) -> pd.DataFrame:
        """The points: ``study, yi, sei, filled``."""
        return pd.DataFrame({"study": list(self.study), "yi": self.yi, "sei": self.sei, "filled": self.filled})

    def lines(self) -> pd.DataFrame:
        """Every line in long form: ``kind`` ("region" or "contour"), ``level, sei, low, high``."""
        parts = []
        for kind, low, high in (("region", self.region_low, self.region_high),
                                ("contour", self.contour_low, self.contour_high)):
            for j, level in enumerate(self.levels):
                parts.append(pd.DataFrame({"kind": kind, "level": level, "sei": self.se_grid,
                                           "low": low[j], "high": high[j]}))
        return pd.concat(parts, ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``estimate, tau2, levels, xlim, ylim, contour_xlim, method, k``, ``points`` (rows of
        :meth:`to_frame`) and ``lines`` (rows of :meth:`lines`)."""
        return {"estimate": self.estimate, "tau2": self.tau2, "levels": list(self.levels),
                "xlim": list(self.xlim), "ylim": list(self.ylim), "contour_xlim": list(self.contour_xlim),
                "method": self.method, "k": self.k, "points": json_safe(self.to_frame()),
                "lines": json_safe(self.lines()), "provenance": self.provenance.to_dict()}

    def summary(self) -> Summary:
        lines: list[tuple[str, Any]] = [("k", self.k), ("filled", int(self.filled.sum())), ("estimate", self.estimate),
                                        ("levels", ", ".join(f"{lv:g}" for lv in self.levels)),
                                        ("xlim", f"[{self.xlim[0]:.4f}, {self.xlim[1]:.4f}]"),
                                        ("max sei", self.ylim[0])]
        return Summary(title="Funnel plot data", lines=lines, tables=[("points", self.to_frame())],
                       notes=tuple(self.provenance.warnings))

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Contour-enhanced funnel plot; ``options`` are the keywords of
        :func:`consilience.report.plots.funnel_plot` (contours, xlabel, ylabel, legend)."""
        from consilience.report.plots import funnel_plot

        return funnel_plot(self, ax, **options)


def _xlim(centre: float, crit: float, se_max: float, tau2: float, yi: np.ndarray) -> tuple[float, float]:
    half = crit * np.sqrt(se_max**2 + tau2)
    lo, hi = min(centre - half, float(yi.min())), max(centre + half, float(yi.max()))
    pad = 0.1 * (hi - lo)
    return (lo - pad, hi + pad)


def funnel_data(result: Any, levels: Sequence[float] = (0.90, 0.95, 0.99), *, add_tau2: bool = False,
                n_points: int = 100) -> FunnelData:
    """Numbers of a (contour-enhanced) funnel plot, for the report layer to draw.

    Parameters
    ----------
    result : MetaResult or TrimAndFill
        An intercept-only fit from :func:`consilience.meta_analyze`, or the result of
        :func:`consilience.diagnostics.trim_and_fill` (its filled studies become points marked
        ``filled`` and the region is centred on the filled estimate).
    levels : sequence of float
        Confidence levels of the pseudo-confidence region and of the significance contours, as
        fractions (0.95) or percent (95).
    add_tau2 : bool
        Widen the region by tau² (metafor's ``addtau2``); the contours never include it.
    n_points : int
        Points per line on the standard-error grid (>= 2; the lines are straight unless ``add_tau2``).

    Returns
    -------
    FunnelData
        Points, region and contour lines, axis limits (see the class).

    Notes
    -----
    For a standard error ``s`` on the grid ``0 .. 1.1 max(sei)``::

        region:   estimate ± z_{(1+L)/2} sqrt(s² + tau²)
        contours: 0 ± z_{(1+L)/2} s

    ``xlim`` spans the widest region at ``s = max(sei)`` and every point, plus 10% on each side;
    ``ylim = (max(sei), 0)``.

    References
    ----------
    Sterne, J. A. C. & Egger, M. (2001). Funnel plots for detecting bias in meta-analysis. Journal of
    Clinical Epidemiology, 54(10), 1046-1055.
    Peters, J. L. et al. (2008). Contour-enhanced meta-analysis funnel plots help distinguish
    publication bias from other causes of asymmetry. Journal of Clinical Epidemiology, 61(10), 991-996.

    The reference tests read metafor's region polygons and plot window from the recorded plot.

    Validated against: metafor 3.8-1 ``funnel(res, level=..., refline=0, addtau2=...)``.
    """
    if isinstance(result, TrimAndFill):
        tf: TrimAndFill | None = result
        study, yi, vi, filled = result.study, result.yi, result.vi, result.filled
        estimate, method, k, tau2_fit = result.estimate, result.method, result.k, result.tau2
        prov = result.provenance
    else:
        res = check_result(result, "funnel_data", min_k=1, intercept_only=True)
        tf = None
        study, yi, vi = res.labels, res.yi, res.vi
        filled = np.zeros(res.k, dtype=bool)
        estimate, method, k, tau2_fit = res.estimate, res.method, res.k, res.tau2
        prov = make_provenance(res, {})
    if isinstance(levels, (int, float)):
        levels = (levels,)
    lv = tuple(sorted(check_level(level) for level in levels))
    if not lv:
        raise InputError("funnel_data needs at least one level; got an empty sequence. Pass e.g. levels=(0.95,).")
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 2:
        raise InputError(f"The 'n_points' parameter must be an integer >= 2. Got {n_points!r} instead.")
    if not isinstance(add_tau2, (bool, np.bool_)):
        raise TypeError(f"The 'add_tau2' parameter must be True or False. Got {add_tau2!r} instead.")
    tau2 = float(tau2_fit) if add_tau2 else 0.0
    sei = np.sqrt(np.asarray(vi, dtype=float))
    se_max = float(sei.max())
    grid = np.linspace(0.0, 1.1 * se_max, int(n_points))
    crit = stats.norm.isf((1 - np.asarray(lv)) / 2)[:, None]
    half_region = crit * np.sqrt(grid[None, :] ** 2 + tau2)
    half_contour = crit * grid[None, :]
    options = dict(prov.options)
    options.update({"diagnostic": "funnel_data", "levels": list(lv), "add_tau2": bool(add_tau2),
                    "source": "trim_and_fill" if tf is not None else "meta_analyze"})
    prov = Provenance(method=prov.method, k=prov.k, n_dropped=prov.n_dropped, dropped_reason=prov.dropped_reason,
                      warnings=prov.warnings, options=options, input_hash=prov.input_hash)
    y = np.asarray(yi, dtype=float)
    return FunnelData(
        study=tuple(study), yi=y, sei=sei, filled=np.asarray(filled, dtype=bool),
        estimate=float(estimate), tau2=tau2, levels=lv, se_grid=grid,
        region_low=estimate - half_region, region_high=estimate + half_region,
        contour_low=-half_contour, contour_high=half_contour,
        xlim=_xlim(float(estimate), float(crit.max()), se_max, tau2, y),
        ylim=(se_max, 0.0), contour_xlim=_xlim(0.0, float(crit.max()), se_max, 0.0, y),
        method=method, k=k, provenance=prov,
    )
