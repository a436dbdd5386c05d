r"""Calibrating bootstrap bands for extrapolation: conformal factors learned on held-out curves.

A bootstrap band shows how the fitted curve moves when the measurements are resampled; it does
not show how far every parametric family can miss together when a curve is extrapolated. On
LCDB the 95% bands of :class:`~consilience.curves.LearningCurve` hold the later mean curve in
about 85% of curves one anchor ahead and under 80% at four or more times the largest size
fitted. The remedy here is locally weighted split-conformal calibration (Lei et al. 2018,
section 5.2). Work in the error scale, at the band's level :math:`\ell`, with :math:`\tilde e`
the median of the bootstrap draws at a size and :math:`w_+ = h_\ell - \tilde e`,
:math:`w_- = \tilde e - l_\ell` the distances from it to the band's ends. The conformity score
of a later observed error :math:`e` is its distance from the median in units of a local scale,

.. math:: s_\ell = \frac{|e - \tilde e|}{w_\pm + c\, e_n \log_2 r}, \qquad
          r = \frac{\text{size}}{\text{largest anchor}},

with :math:`w_+` when :math:`e > \tilde e` and :math:`w_-` otherwise, :math:`e_n` the observed
error at the largest anchor and :math:`c` = ``distance_term``. The scale adds to the sampling
spread a term that grows with the distance and with the error still left to lose; without it,
curves whose seeds agree closely get bands far too narrow for their extrapolation error (the
plain ratio :math:`|e - \tilde e| / w_\pm` has a tail too heavy for a 99% band). The calibrated
band at a new extrapolation is

.. math:: \tilde e \pm k_\ell\,(w_\pm + c\, e_n \log_2 r)

with :math:`k_\ell` the :math:`\lceil (n+1)\ell \rceil`-th smallest of :math:`n` calibration
scores, which covers a new curve exchangeable with the calibration curves with probability at
least :math:`\ell`. Scores are pooled by the number of anchors fitted and by the extrapolation
ratio. The factor is 1 at :math:`r = 1` (the plain bootstrap within the measured range), is
interpolated linearly in :math:`\log r` between the grid ratios, is made non-decreasing along
them from the first grid ratio on, and stays constant beyond the last. :math:`c = 0.05` was
chosen on the development half by two-fold cross-fitting over data sets, among
:math:`c \in \{0, 0.02, 0.05, 0.1, 0.2\}`: the narrowest mean band at nominal coverage.

The factors shipped in ``data/band_calibration.json`` were learned on the development half of
LCDB (``scripts/calibrate_curve_bands.py`` regenerates them) and checked on the other half
(``benchmarks/bench_curves.py``).

References
----------
Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J., & Wasserman, L. (2018). Distribution-free
predictive inference for regression. JASA 113(523), 1094-1111.
Mohr, F., Viering, T. J., Loog, M., & van Rijn, J. N. (2022). LCDB 1.0: An extensive learning
curves database for classification tasks. ECML PKDD 2022.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from consilience.curves._data import to_error
from consilience.curves.families import FloatArray
from consilience.errors import InputError

if TYPE_CHECKING:
    from consilience.curves.result import CurveFit

__all__ = ["BandCalibration", "band_scores", "calibrate_bands", "default_calibration"]

_DATA_FILE = "band_calibration.json"
DISTANCE_TERM = 0.05


def _distance_term(distance_term: float, ratio: Any, last_error: float) -> FloatArray:
    r = np.maximum(np.asarray(ratio, dtype=float), 1.0)
    return np.asarray(distance_term * max(last_error, 0.0) * np.log2(r), dtype=float)


@dataclass(frozen=True, eq=False)
class BandCalibration:
    r"""Inflation factors for bootstrap bands, by level, anchors fitted and extrapolation ratio.

    Attributes
    ----------
    levels : tuple of float
        Confidence levels of the table (ascending).
    anchor_edges : tuple of int
        Lower edges of the groups of anchor counts: group ``g`` holds curves fitted to
        ``anchor_edges[g] <= m < anchor_edges[g + 1]`` anchors (the last group is open above;
        fewer anchors than the first edge use the first group).
    ratios : tuple of float
        Grid of extrapolation ratios, starting at 1.
    factors : ndarray, shape (n_levels, n_groups, n_ratios)
        Inflation factor of each cell (1 at ratio 1).
    n_scores : ndarray, shape (n_groups, n_ratios)
        Calibration scores behind each cell (0 at ratio 1).
    source : str
        Where the factors were learned (data, split, protocol, command).
    distance_term : float
        The constant :math:`c` of the scale :math:`w_\pm + c\, e_n \log_2 r`.
    """

    levels: tuple[float, ...]
    anchor_edges: tuple[int, ...]
    ratios: tuple[float, ...]
    factors: FloatArray
    n_scores: np.ndarray[Any, np.dtype[np.int64]]
    source: str
    distance_term: float = DISTANCE_TERM

    def group(self, n_anchors: int) -> int:
        """Index of the anchor-count group of a curve fitted to ``n_anchors`` anchors."""
        return max(0, int(np.searchsorted(self.anchor_edges, n_anchors, side="right")) - 1)

    def factor(self, level: float, ratio: Any, n_anchors: int) -> FloatArray:
        r"""Inflation factor at extrapolation ``ratio`` (array) for a curve of ``n_anchors``.

        Linear in :math:`\log r` between grid ratios, 1 for :math:`r \le 1`, constant beyond
        the last grid ratio; linear in the level between table levels and constant outside them.
        """
        table = self.factors[:, self.group(n_anchors), :]
        levels = np.asarray(self.levels)
        by_ratio = np.array([np.interp(level, levels, table[:, j]) for j in range(table.shape[1])])
        r = np.maximum(np.asarray(ratio, dtype=float), 1.0)
        return np.asarray(np.interp(np.log(r), np.log(np.asarray(self.ratios)), by_ratio), dtype=float)

    def scale_term(self, ratio: Any, last_error: float) -> FloatArray:
        r"""The distance term :math:`c\, e_n \log_2 r` of the scale (0 for :math:`r \le 1`)."""
        return _distance_term(self.distance_term, ratio, last_error)

    def stretch(self, draws: FloatArray, *, level: float, ratio: Any, n_anchors: int,
                last_error: float) -> FloatArray:
        r"""Bootstrap draws of the error (rows) at sizes of ``ratio`` (columns), calibrated.

        Each side of the median :math:`\tilde e` is stretched linearly,
        :math:`\tilde e + k (w_\pm + t) / w_\pm \,(e - \tilde e)` with :math:`t` the distance
        term, so the level-``level`` percentiles of the result are the calibrated band. A side
        with no width (every replicate on the median or beyond the other end) is stretched by
        :math:`k` alone.
        """
        med = np.median(draws, axis=0)
        alpha = (1.0 - level) / 2.0
        lo, hi = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
        k = self.factor(level, ratio, n_anchors)
        term = self.scale_term(ratio, last_error)
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.where(hi - med > 0, k * (hi - med + term) / (hi - med), k)
            down = np.where(med - lo > 0, k * (med - lo + term) / (med - lo), k)
        return np.asarray(med + np.where(draws > med, up, down) * (draws - med), dtype=float)

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: ``level, anchors_min, anchors_max, ratio, factor, n_scores``."""
        rows = []
        edges = list(self.anchor_edges) + [math.inf]
        for i, level in enumerate(self.levels):
            for g in range(len(self.anchor_edges)):
                for j, ratio in enumerate(self.ratios):
                    rows.append({"level": level, "anchors_min": edges[g], "anchors_max": edges[g + 1] - 1,
                                 "ratio": ratio, "factor": float(self.factors[i, g, j]),
                                 "n_scores": int(self.n_scores[g, j])})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"levels": list(self.levels), "anchor_edges": list(self.anchor_edges),
                "ratios": list(self.ratios), "distance_term": self.distance_term,
                "factors": np.round(self.factors, 6).tolist(), "n_scores": self.n_scores.tolist(),
                "source": self.source}

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> BandCalibration:
        return cls(tuple(float(v) for v in payload["levels"]), tuple(int(v) for v in payload["anchor_edges"]),
                   tuple(float(v) for v in payload["ratios"]), np.asarray(payload["factors"], dtype=float),
                   np.asarray(payload["n_scores"], dtype=np.int64), str(payload["source"]),
                   float(payload["distance_term"]))

    def __repr__(self) -> str:
        return (f"<BandCalibration levels={list(self.levels)} groups={len(self.anchor_edges)} "
                f"ratios={len(self.ratios)}>")


@functools.cache
def default_calibration() -> BandCalibration:
    """The factors shipped with the package (learned on the development half of LCDB)."""
    text = resources.files("consilience.curves").joinpath("data", _DATA_FILE).read_text()
    return BandCalibration.from_dict(json.loads(text))


def band_scores(fit: CurveFit, sizes: Any, observed: Any, levels: Sequence[float], *,
                distance_term: float = DISTANCE_TERM) -> pd.DataFrame:
    """Conformity scores of observed scores at ``sizes`` against the fit's uncalibrated bands.

    Returns one row per size and level: ``size, ratio, n_anchors, level, score``, the distance
    of the observed error from the median of the bootstrap draws in units of the scale
    :math:`w_\\pm + c\\, e_n \\log_2 r` (``inf`` where that scale is 0 and the distance is not).
    """
    x = np.asarray(sizes, dtype=float)
    error = to_error(observed, fit.direction, fit.perfect_score)
    draws = to_error(fit.draws(x, calibrated=False), fit.direction, fit.perfect_score)
    med = np.median(draws, axis=0)
    ratio = x / fit.current_size
    last_error = float(to_error(fit.observed[-1], fit.direction, fit.perfect_score))
    term = _distance_term(distance_term, ratio, last_error)
    rows = []
    for level in levels:
        alpha = (1.0 - level) / 2.0
        lo, hi = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
        gap = error - med
        width = np.where(gap > 0, hi - med, med - lo) + term
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(gap == 0, 0.0, np.abs(gap) / width)
        score = np.where(np.isfinite(score), score, np.inf)
        rows.append(pd.DataFrame({"size": x, "ratio": ratio, "n_anchors": fit.sizes.size, "level": level,
                                  "score": score}))
    return pd.concat(rows, ignore_index=True)


def _conformal_quantile(scores: FloatArray, level: float) -> float:
    n = scores.size
    rank = math.ceil((n + 1) * level)
    if n == 0 or rank > n:
        return math.inf
    return float(np.sort(scores)[rank - 1])


def calibrate_bands(
    scores: pd.DataFrame,
    *,
    levels: Sequence[float] = (0.5, 0.8, 0.9, 0.95, 0.99),
    anchor_edges: Sequence[int] = (3, 9, 12, 15),
    ratios: Sequence[float] = (1.0, 2**0.5, 2.0, 2**1.5, 4.0, 8.0, 16.0),
    distance_term: float = DISTANCE_TERM,
    source: str = "",
) -> BandCalibration:
    r"""Learn inflation factors from conformity scores (the rows of :func:`band_scores`).

    Parameters
    ----------
    scores : DataFrame
        Columns ``ratio, n_anchors, level, score``.
    levels, anchor_edges, ratios
        The table's levels, lower edges of the anchor-count groups, and grid ratios (the first
        must be 1).
    distance_term : float
        The constant :math:`c` the scores were computed with (see :func:`band_scores`).
    source : str
        Where the scores come from.

    Returns
    -------
    BandCalibration
        Cell ``(level, group, j)`` for ``j >= 1`` is the conformal quantile of the scores of the
        group whose ratio lies between the geometric midpoints of grid ratio ``j`` and its
        neighbours (above the last midpoint for the last ratio), made non-decreasing along the
        grid ratios above 1; a cell with too few scores for its level takes the quantile of all groups pooled,
        and where even those are too few, the factor of the next smaller grid ratio.

    Notes
    -----
    With :math:`n` scores in a cell, :math:`k_\ell = s_{(\lceil (n+1)\ell \rceil)}`, which gives
    coverage of at least :math:`\ell` for a new curve exchangeable with the calibration curves.
    """
    grid = np.asarray(ratios, dtype=float)
    if grid[0] != 1.0 or np.any(np.diff(grid) <= 0):
        raise InputError(f"The 'ratios' parameter must start at 1 and increase. Got {list(ratios)} instead.")
    cuts = np.sqrt(grid[:-1] * grid[1:])
    upper = np.r_[cuts[1:], np.inf]
    edges = np.asarray(anchor_edges)
    group = np.maximum(np.searchsorted(edges, scores["n_anchors"].to_numpy(), side="right") - 1, 0)
    ratio = scores["ratio"].to_numpy()
    score = scores["score"].to_numpy()
    factors = np.ones((len(levels), edges.size, grid.size))
    counts = np.zeros((edges.size, grid.size), dtype=np.int64)
    for i, level in enumerate(levels):
        at_level = np.isclose(scores["level"].to_numpy(), level)
        for j in range(1, grid.size):
            in_cell = at_level & (ratio > cuts[j - 1]) & (ratio <= upper[j - 1])
            pooled = _conformal_quantile(score[in_cell], level)
            for g in range(edges.size):
                cell = score[in_cell & (group == g)]
                counts[g, j] = cell.size
                k = _conformal_quantile(cell, level)
                factors[i, g, j] = k if np.isfinite(k) else pooled
    for j in range(1, grid.size):
        factors[:, :, j] = np.where(np.isfinite(factors[:, :, j]), factors[:, :, j], factors[:, :, j - 1])
    factors[:, :, 1:] = np.maximum.accumulate(factors[:, :, 1:], axis=2)
    return BandCalibration(tuple(float(v) for v in levels), tuple(int(v) for v in edges),
                           tuple(float(v) for v in grid), factors, counts, source, float(distance_term))
