r"""The parametric learning-curve families of the LCDB literature, in one registry.

Every family describes the *error* of a learner as a function of its training-set size ``x``
(error = distance of the score from a perfect score, so curves fall as data grows). All but
``ilog2`` are written in the scaled size ``u = x / s``, where ``s`` is the largest anchor of the
curve being fitted: that keeps every parameter on a scale of order one, whatever the data set
size, so one set of bounds and starting points serves all curves. Parameters are reported for
that scaled size (``CurveFit.scale`` holds ``s``).

============  ==========================================  ========================================
family        error(u)                                    parameters (bounds)
============  ==========================================  ========================================
last1         a                                           a = last observed error (no fitting)
pow2          a u^{-b}                                    a >= 0, 0 <= b <= 5
pow3          c + a u^{-b}                                c in [0, max e], a >= 0, 0 <= b <= 5
pow4          c + a (u + d)^{-b}                          as pow3, 0 <= d <= 10
exp3          c + a exp(-b u)                             c in [0, max e], a in [0, 100 max e], b <= 1e4
exp4          c + exp(b - a u^d)                          a in [0, 1e4], b in [-50, 20], d in [.01, 5]
log2          b - a log u                                 a >= 0
ilog2         b + a / log x        (raw size, x > 1)      a >= 0
vap3          exp(a + b / u + c log u)                    a, b in [-50, 50], c in [-10, 10]
mmf4          (a b + c u^d) / (b + u^d)                   a in [0, 100 max e], b in [1e-12, 1e6], c in [0, max e]
wbl4          c + b exp(-a u^d)                           a in [0, 1e4], b in [0, 100 max e], d in [.01, 5]
janoschek     a + (b - a) exp(-c u^d)                     a in [0, max e], b in [0, 100 max e], c <= 1e4
============  ==========================================  ========================================

Bounds keep the asymptote at or above a perfect score (error >= 0) and the curves decreasing
where the literature's parametrisation allows; ``vap3`` and ``janoschek`` may still rise, which
is how the selection step learns that a curve is ill-behaved. ``max e`` is the largest observed
error. The caps at ``100 max e`` give the four-parameter families a finite optimum where a
power law would otherwise send one parameter to infinity (``mmf4`` with ``b -> 0``, ``wbl4``
with ``d -> 0``); without them the optimiser crawls along that valley for hundreds of steps.

References
----------
Mohr, F., Viering, T. J., Loog, M., & van Rijn, J. N. (2022). LCDB 1.0: An extensive learning
curves database for classification tasks. ECML PKDD 2022.
Viering, T., & Loog, M. (2022). The shape of learning curves: a review. IEEE TPAMI 45(6).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from consilience._validation import check_choice

__all__ = ["FAMILIES", "FAMILY_NAMES", "CurveFamily", "get_family"]

FloatArray = npt.NDArray[np.float64]
Formula = Callable[[FloatArray, FloatArray, FloatArray], FloatArray]
Starts = Callable[[FloatArray, FloatArray, FloatArray], list[list[float]]]
Bounds = Callable[[FloatArray], tuple[list[float], list[float]]]

_INF = np.inf


@dataclass(frozen=True)
class CurveFamily:
    """One parametric family: its formula, parameter bounds and starting points.

    Attributes
    ----------
    name : str
        Registry key (``"pow4"``).
    formula : str
        The formula in plain text, in the error scale and the scaled size ``u``.
    param_names : tuple of str
        Parameter names in the order of the parameter vector.
    fn : callable
        ``fn(u, x, theta) -> error``; ``theta`` has shape ``(..., n_params)`` and broadcasts
        against the sizes, so all bootstrap replicates are evaluated in one call.
    bounds : callable
        ``bounds(error) -> (lower, upper)``, box bounds given the observed errors.
    starts : callable
        ``starts(u, x, error) -> list of parameter vectors`` inside the bounds.
    fitted : bool
        False for ``last1``, whose one parameter is read off the data.
    """

    name: str
    formula: str
    param_names: tuple[str, ...]
    fn: Formula
    bounds: Bounds
    starts: Starts
    fitted: bool = True

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    def evaluate(self, sizes: Any, theta: Any, scale: float) -> FloatArray:
        """Error at ``sizes`` for parameters ``theta`` (shape ``(..., n_params)``)."""
        x = np.asarray(sizes, dtype=float)
        th = np.asarray(theta, dtype=float)
        with np.errstate(all="ignore"):
            return np.asarray(self.fn(x / scale, x, th), dtype=float)

    def __repr__(self) -> str:
        return f"<CurveFamily {self.name}: error = {self.formula}>"


def _p(theta: FloatArray, i: int) -> FloatArray:
    """Parameter ``i`` shaped to broadcast against a trailing size axis."""
    return theta[..., i, None]


def _log_pos(y: FloatArray) -> FloatArray:
    return np.log(np.maximum(y, 1e-6))


def _loglog_start(u: FloatArray, y: FloatArray, c: float) -> tuple[float, float]:
    """(a, b) of ``c + a u^-b`` by a straight line through log(error - c) against log u."""
    slope, intercept = np.polyfit(np.log(u), _log_pos(y - c), 1)
    return float(np.exp(np.clip(intercept, -50, 50))), float(np.clip(-slope, 0.0, 5.0))


def _asymptotes(y: FloatArray) -> list[float]:
    last = float(max(np.min(y[-2:]), 0.0))
    return [0.0, 0.5 * last, 0.9 * last]


def _stretched_exp_start(u: FloatArray, y: FloatArray, c: float, d: float) -> tuple[float, float]:
    """(a, B) with ``c + exp(B - a u^d)`` through the first and last anchors."""
    lo, hi = _log_pos(np.array([y[0] - c, y[-1] - c]))
    u0, u1 = u[0] ** d, u[-1] ** d
    a = float(np.clip((lo - hi) / max(u1 - u0, 1e-9), 0.0, 1e4))
    return a, float(np.clip(lo + a * u0, -50.0, 20.0))


def _ymax(y: FloatArray) -> float:
    return float(max(np.max(y), 1e-9))


# -- formulas -----------------------------------------------------------------------------------


def _last1(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 0) + 0.0 * u


def _pow2(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 0) * u ** -_p(t, 1)


def _pow3(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 0) + _p(t, 1) * u ** -_p(t, 2)


def _pow4(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 0) + _p(t, 1) * (u + _p(t, 3)) ** -_p(t, 2)


def _exp3(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 0) + _p(t, 1) * np.exp(-_p(t, 2) * u)


def _exp4(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 0) + np.exp(_p(t, 2) - _p(t, 1) * u ** _p(t, 3))


def _log2(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 1) - _p(t, 0) * np.log(u)


def _ilog2(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 1) + _p(t, 0) / np.log(x)


def _vap3(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return np.exp(_p(t, 0) + _p(t, 1) / u + _p(t, 2) * np.log(u))


def _mmf4(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    ud = u ** _p(t, 3)
    return (_p(t, 0) * _p(t, 1) + _p(t, 2) * ud) / (_p(t, 1) + ud)


def _wbl4(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 0) + _p(t, 1) * np.exp(-_p(t, 2) * u ** _p(t, 3))


def _janoschek(u: FloatArray, x: FloatArray, t: FloatArray) -> FloatArray:
    return _p(t, 0) + (_p(t, 1) - _p(t, 0)) * np.exp(-_p(t, 2) * u ** _p(t, 3))


# -- starting points ----------------------------------------------------------------------------


def _s_last1(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    return [[float(y[-1])]]


def _s_pow2(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    a, b = _loglog_start(u, y, 0.0)
    return [[a, b], [float(max(y[-1], 1e-6)), 0.3]]


def _s_pow3(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    out = []
    for c in _asymptotes(y):
        a, b = _loglog_start(u, y, c)
        out.append([c, a, b])
    return out


def _s_pow4(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    out = []
    for c in _asymptotes(y):
        a, b = _loglog_start(u, y, c)
        out.append([c, a, b, 0.0])
        out.append([c, a, 2.0 * b + 0.1, float(u[0])])
    return out


def _s_exp3(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    out = []
    for c in _asymptotes(y)[1:]:
        for b in (3.0 / float(u[-1]), 3.0 / float(np.median(u)), 3.0 / float(u[0])):
            b = float(np.clip(b, 0.0, 1e4))
            a = float(max(y[0] - c, 1e-6) * np.exp(min(b * u[0], 50.0)))
            out.append([c, a, b])
    return out


def _s_exp4(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    out = []
    for c in _asymptotes(y)[1:]:
        for d in (0.3, 1.0):
            a, big_b = _stretched_exp_start(u, y, c, d)
            out.append([c, a, big_b, d])
    return out


def _s_log2(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    slope, intercept = np.polyfit(np.log(u), y, 1)
    return [[float(max(-slope, 0.0)), float(intercept)]]


def _s_ilog2(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    slope, intercept = np.polyfit(1.0 / np.log(x), y, 1)
    return [[float(max(slope, 0.0)), float(intercept)], [0.0, float(y[-1])]]


def _s_vap3(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    design = np.column_stack([np.ones_like(u), 1.0 / u, np.log(u)])
    coef = np.linalg.lstsq(design, _log_pos(y), rcond=None)[0]
    coef = np.clip(coef, [-50, -50, -10], [50, 50, 10])
    return [[float(v) for v in coef], [float(_log_pos(y[-1:])[0]), 0.0, 0.0]]


def _s_mmf4(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    out = []
    a = float(max(y[0], 1e-6) * 1.1)
    for c in _asymptotes(y)[1:]:
        half = c + 0.5 * (a - c)
        below = np.flatnonzero(y <= half)
        u_half = float(u[below[0]]) if below.size else float(u[-1])
        for d in (0.5, 1.0):
            out.append([a, float(np.clip(u_half**d, 1e-12, 1e6)), c, d])
    return out


def _s_wbl4(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    out = []
    for c in _asymptotes(y)[1:]:
        for d in (0.3, 1.0):
            a, big_b = _stretched_exp_start(u, y, c, d)
            out.append([c, float(np.exp(big_b)), a, d])
    return out


def _s_janoschek(u: FloatArray, x: FloatArray, y: FloatArray) -> list[list[float]]:
    return [[c, c + b, a, d] for c, b, a, d in _s_wbl4(u, x, y)]


# -- bounds -------------------------------------------------------------------------------------


def _b_last1(y: FloatArray) -> tuple[list[float], list[float]]:
    return [-_INF], [_INF]


def _b_pow2(y: FloatArray) -> tuple[list[float], list[float]]:
    return [0.0, 0.0], [_INF, 5.0]


def _b_pow3(y: FloatArray) -> tuple[list[float], list[float]]:
    return [0.0, 0.0, 0.0], [_ymax(y), _INF, 5.0]


def _b_pow4(y: FloatArray) -> tuple[list[float], list[float]]:
    return [0.0, 0.0, 0.0, 0.0], [_ymax(y), _INF, 10.0, 10.0]


def _b_exp3(y: FloatArray) -> tuple[list[float], list[float]]:
    return [0.0, 0.0, 0.0], [_ymax(y), 100 * _ymax(y), 1e4]


def _b_exp4(y: FloatArray) -> tuple[list[float], list[float]]:
    return [0.0, 0.0, -50.0, 0.01], [_ymax(y), 1e4, 20.0, 5.0]


def _b_lin(y: FloatArray) -> tuple[list[float], list[float]]:
    return [0.0, -_INF], [_INF, _INF]


def _b_vap3(y: FloatArray) -> tuple[list[float], list[float]]:
    return [-50.0, -50.0, -10.0], [50.0, 50.0, 10.0]


def _b_mmf4(y: FloatArray) -> tuple[list[float], list[float]]:
    return [0.0, 1e-12, 0.0, 0.01], [100 * _ymax(y), 1e6, _ymax(y), 5.0]


def _b_stretched_exp(y: FloatArray) -> tuple[list[float], list[float]]:
    # One box for wbl4 (c, b, a, d) and janoschek (a, b, c, d): asymptote, height, rate, exponent.
    return [0.0, 0.0, 0.0, 0.01], [_ymax(y), 100 * _ymax(y), 1e4, 5.0]


def _family(name: str, formula: str, params: str, fn: Formula, bounds: Bounds, starts: Starts,
            fitted: bool = True) -> CurveFamily:
    return CurveFamily(name, formula, tuple(params.split()), fn, bounds, starts, fitted)


FAMILIES: Mapping[str, CurveFamily] = {
    f.name: f
    for f in (
        _family("last1", "a", "a", _last1, _b_last1, _s_last1, fitted=False),
        _family("pow2", "a * u^(-b)", "a b", _pow2, _b_pow2, _s_pow2),
        _family("pow3", "c + a * u^(-b)", "c a b", _pow3, _b_pow3, _s_pow3),
        _family("pow4", "c + a * (u + d)^(-b)", "c a b d", _pow4, _b_pow4, _s_pow4),
        _family("exp3", "c + a * exp(-b * u)", "c a b", _exp3, _b_exp3, _s_exp3),
        _family("exp4", "c + exp(b - a * u^d)", "c a b d", _exp4, _b_exp4, _s_exp4),
        _family("log2", "b - a * log(u)", "a b", _log2, _b_lin, _s_log2),
        _family("ilog2", "b + a / log(x)", "a b", _ilog2, _b_lin, _s_ilog2),
        _family("vap3", "exp(a + b / u + c * log(u))", "a b c", _vap3, _b_vap3, _s_vap3),
        _family("mmf4", "(a * b + c * u^d) / (b + u^d)", "a b c d", _mmf4, _b_mmf4, _s_mmf4),
        _family("wbl4", "c + b * exp(-a * u^d)", "c b a d", _wbl4, _b_stretched_exp, _s_wbl4),
        _family("janoschek", "a + (b - a) * exp(-c * u^d)", "a b c d", _janoschek,
                _b_stretched_exp, _s_janoschek),
    )
}
"""Every family by name, ``last1`` (the last-value baseline) first."""

FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)


def get_family(name: str) -> CurveFamily:
    """The registered family called ``name`` (case-insensitive); InputError otherwise.

    Validated against: the formulas of Mohr et al. (2022) and Viering & Loog (2022), rewritten for
    the error scale (``tests/curves/test_families.py``).
    """
    return FAMILIES[check_choice("family", name, FAMILY_NAMES)]
