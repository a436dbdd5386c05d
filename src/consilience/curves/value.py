r"""The value of more labelled data, read off a fitted learning curve.

:func:`data_value` answers three questions at the current training-set size :math:`n_0`: how much
one more labelled example is worth (the slope of the curve), how many examples reach a target
score, and where more labels stop paying for themselves. Each answer carries a bootstrap interval
from the curve's replicates. :func:`value_of_options` (in :mod:`consilience.curves.options`) then
sets labelling budgets against candidate model changes.

Gains are *improvements*: a rise in score when higher is better, a fall when lower is better,
so a positive gain is always good.

References
----------
Mohr, F., Viering, T. J., Loog, M., & van Rijn, J. N. (2022). LCDB 1.0: An extensive learning
curves database for classification tasks. ECML PKDD 2022.
Viering, T., & Loog, M. (2022). The shape of learning curves: a review. IEEE TPAMI 45(6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, json_safe
from consilience.curves.families import FloatArray
from consilience.curves.result import CurveFit, IntervalEstimate
from consilience.errors import InputError

__all__ = ["DataValue", "data_value", "first_crossing", "improvement", "size_grid", "slope"]

_EPS = 1e-3


def improvement(fit: CurveFit, sizes: FloatArray, *, draws: bool) -> FloatArray:
    """Predicted error reduction from the current size to ``sizes`` (point, or one row per draw)."""
    grid = np.concatenate([[fit.current_size], np.asarray(sizes, dtype=float)])
    score = fit.draws(grid) if draws else fit.point(grid)[None, :]
    sign = 1.0 if fit.direction == "higher" else -1.0
    return np.asarray(sign * (score[:, 1:] - score[:, :1]), dtype=float)


def slope(fit: CurveFit, sizes: FloatArray, *, draws: bool) -> FloatArray:
    """Improvement per extra labelled example at ``sizes`` (central difference in size)."""
    x = np.asarray(sizes, dtype=float)
    both = np.concatenate([x * (1 - _EPS), x * (1 + _EPS)])
    gain = improvement(fit, both, draws=draws)
    return np.asarray((gain[:, x.size:] - gain[:, : x.size]) / (2 * _EPS * x), dtype=float)


def size_grid(start: float, stop: float, n: int = 400) -> FloatArray:
    return np.geomspace(start, stop, n)


def first_crossing(values: FloatArray, grid: FloatArray, threshold: Any, *, above: bool) -> FloatArray:
    """Per row, the first grid size where ``values`` crosses ``threshold`` (a scalar or one per
    row; log-linear interpolation between grid points); the first size when already across; inf
    when never."""
    thr = np.broadcast_to(np.asarray(threshold, dtype=float), (values.shape[0],))
    hit = values >= thr[:, None] if above else values < thr[:, None]
    first = np.argmax(hit, axis=1)
    found = hit[np.arange(values.shape[0]), first]
    out = np.full(values.shape[0], np.inf)
    out[found] = grid[first[found]]
    inner = found & (first > 0)
    rows, j = np.flatnonzero(inner), first[inner]
    v0, v1 = values[rows, j - 1], values[rows, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.clip(np.where(v1 != v0, (thr[rows] - v0) / (v1 - v0), 1.0), 0.0, 1.0)
    lg = np.log(grid)
    out[rows] = np.exp(lg[j - 1] + frac * (lg[j] - lg[j - 1]))
    return out


def _interval(name: str, point: float, draws: FloatArray, level: float) -> IntervalEstimate:
    if draws.size == 0:
        return IntervalEstimate(name, float(point), math.nan, math.nan, level)
    lo, hi = (float(np.quantile(draws, q, method="inverted_cdf")) for q in ((1 - level) / 2, (1 + level) / 2))
    return IntervalEstimate(name, float(point), lo, hi, level)


def _nan(name: str, level: float) -> IntervalEstimate:
    return IntervalEstimate(name, math.nan, math.nan, math.nan, level)


def _positive(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"The '{name}' parameter must be a number. Got {value!r} instead.")
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise InputError(f"The '{name}' parameter must be a positive finite number. Got {value!r} instead.")
    return float(value)


@dataclass(frozen=True)
class DataValue:
    """What more labelled data is worth at the current size, with bootstrap intervals.

    Attributes
    ----------
    current_size : float
        The largest anchor :math:`n_0`.
    current_score : IntervalEstimate
        Fitted score at :math:`n_0`.
    marginal_gain : IntervalEstimate
        Improvement per extra labelled example at :math:`n_0` (score units per example).
    gain_per_usd : IntervalEstimate
        ``marginal_gain / label_cost`` (NaN without ``label_cost``).
    size_for_target : IntervalEstimate
        Training-set size at which the curve reaches ``target_score`` (inf when it never does
        within ``max_size``; NaN without a target).
    p_reachable : float
        Share of bootstrap replicates that reach the target within ``max_size`` (NaN without).
    stop_size : IntervalEstimate
        Smallest size from :math:`n_0` on where ``gain_per_usd`` falls below
        ``min_gain_per_usd`` (NaN unless both are given; inf when not within ``max_size``).
    label_cost, target_score, min_gain_per_usd, max_size : float or None
        The inputs.
    level : float
        Confidence level.
    provenance : Provenance
        Method, anchors, options and the curve's input hash.
    """

    current_size: float
    current_score: IntervalEstimate
    marginal_gain: IntervalEstimate
    gain_per_usd: IntervalEstimate
    size_for_target: IntervalEstimate
    p_reachable: float
    stop_size: IntervalEstimate
    label_cost: float | None
    target_score: float | None
    min_gain_per_usd: float | None
    max_size: float
    level: float
    provenance: Provenance

    def _rows(self) -> list[IntervalEstimate]:
        return [self.current_score, self.marginal_gain, self.gain_per_usd, self.size_for_target, self.stop_size]

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: ``quantity, estimate, ci_low, ci_high, level``."""
        return pd.DataFrame([{"quantity": r.quantity, "estimate": r.estimate, "ci_low": r.ci_low,
                              "ci_high": r.ci_high, "level": r.level} for r in self._rows()])

    def to_dict(self) -> dict[str, Any]:
        keys = ("current_score", "marginal_gain", "gain_per_usd", "size_for_target", "stop_size")
        return {
            "current_size": self.current_size,
            **{k: getattr(self, k).to_dict() for k in keys},
            "p_reachable": json_safe(self.p_reachable),
            "label_cost": self.label_cost,
            "target_score": self.target_score,
            "min_gain_per_usd": self.min_gain_per_usd,
            "max_size": self.max_size,
            "level": self.level,
            "provenance": self.provenance.to_dict(),
        }

    def summary(self) -> Summary:
        lines: list[tuple[str, Any]] = [("current size", self.current_size), ("label cost (USD)", self.label_cost),
                                        ("target score", self.target_score), ("P(target reachable)", self.p_reachable),
                                        ("level", self.level)]
        return Summary("Value of more labelled data", lines, [("Estimates", self.to_frame())])

    def __repr__(self) -> str:
        m = self.marginal_gain
        return (f"<DataValue n={self.current_size:g} marginal_gain={m.estimate:.3g} "
                f"[{m.ci_low:.3g}, {m.ci_high:.3g}] per example>")


def data_value(
    fit: CurveFit,
    *,
    label_cost: float | None = None,
    target_score: float | None = None,
    min_gain_per_usd: float | None = None,
    max_size: float | None = None,
) -> DataValue:
    r"""Marginal value of labelled data, size for a target score, and where labelling stops paying.

    Parameters
    ----------
    fit : CurveFit
        A fitted learning curve (bootstrap replicates give the intervals; with ``n_boot=0`` the
        intervals are NaN).
    label_cost : float, optional
        Cost of one labelled example in USD.
    target_score : float, optional
        Score to reach.
    min_gain_per_usd : float, optional
        Improvement per USD below which more labels are not worth buying.
    max_size : float, optional
        Largest size searched; default ``1000 * current_size``.

    Returns
    -------
    DataValue
        See its attributes.

    Notes
    -----
    With :math:`g(n)` the predicted improvement over :math:`n_0`, the marginal gain is
    :math:`g'(n_0) \approx (g(n_0(1+\epsilon)) - g(n_0(1-\epsilon))) / (2\epsilon n_0)`,
    :math:`\epsilon = 10^{-3}`. The target size solves :math:`g(n) = g^*` and the stopping size
    :math:`g'(n)/c = t` on a 400-point geometric grid from :math:`n_0` to ``max_size``, with
    log-linear interpolation; both are found for the fit and for every bootstrap replicate in one
    array operation. Intervals are percentiles of the replicates (``inf`` kept, so an interval may
    be open above).

    Validated against: closed forms for a power law :math:`e(n) = a n^{-b}` (slope
    :math:`-a b n^{-b-1}`, target size :math:`(a/e^*)^{1/b}`; ``tests/curves/test_value.py``).
    """
    cost = _positive("label_cost", label_cost)
    threshold = _positive("min_gain_per_usd", min_gain_per_usd)
    n0 = fit.current_size
    top = _positive("max_size", max_size) or 1000.0 * n0
    if top <= n0:
        raise InputError(f"The 'max_size' parameter must exceed the current size {n0:g}. Got {max_size!r}.")
    level, has_draws = fit.level, fit.n_boot_ok > 0
    x0 = np.array([n0])
    cur = fit.point(x0)[0]
    cur_draws = fit.draws(x0)[:, 0] if has_draws else np.empty(0)
    current = _interval(f"score at size {n0:g}", cur, cur_draws, level)
    s_point = slope(fit, x0, draws=False)[0, 0]
    s_draws = slope(fit, x0, draws=True)[:, 0] if has_draws else np.empty(0)
    marginal = _interval("gain per extra example", s_point, s_draws, level)
    per_usd = (_interval("gain per USD of labels", s_point / cost, s_draws / cost, level) if cost
               else _nan("gain per USD of labels", level))
    grid = size_grid(n0, top)
    reach, p_reach = _nan("size for target score", level), math.nan
    if target_score is not None:
        if not math.isfinite(float(target_score)):
            raise InputError(f"The 'target_score' parameter must be finite. Got {target_score!r}.")
        sign = 1.0 if fit.direction == "higher" else -1.0
        goal = sign * float(target_score)
        point = first_crossing(sign * fit.point(grid)[None, :], grid, goal, above=True)[0]
        rows = np.empty(0)
        if has_draws:
            rows = first_crossing(sign * fit.draws(grid), grid, goal, above=True)
            p_reach = float(np.mean(np.isfinite(rows)))
        reach = _interval(f"size for score {float(target_score):g}", point, rows, level)
    stop = _nan("size where labels stop paying", level)
    if cost and threshold:
        point = first_crossing(slope(fit, grid, draws=False) / cost, grid, threshold, above=False)[0]
        rows = (first_crossing(slope(fit, grid, draws=True) / cost, grid, threshold, above=False)
                if has_draws else np.empty(0))
        stop = _interval(f"size where gain per USD < {threshold:g}", point, rows, level)
    provenance = Provenance(
        method="value of data (learning curve)", k=fit.provenance.k,
        options={"label_cost": cost, "target_score": target_score, "min_gain_per_usd": threshold,
                 "max_size": top, "chosen": list(fit.chosen)},
        input_hash=fit.provenance.input_hash,
    )
    return DataValue(n0, current, marginal, per_usd, reach, p_reach, stop, cost,
                     None if target_score is None else float(target_score), threshold, top, level, provenance)
