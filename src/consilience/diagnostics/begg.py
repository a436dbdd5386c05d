"""Begg and Mazumdar's rank correlation test for funnel-plot asymmetry."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from consilience._results import Provenance, Summary
from consilience.diagnostics._common import OneRowResult, check_result, make_provenance
from consilience.errors import InputError

__all__ = ["EXACT_MAX_K", "BeggTest", "begg_test", "kendall_exact_cdf"]

EXACT_MAX_K = 170  # R's exact Kendall distribution overflows (gamma(k + 1)) beyond this k
_FIELDS = ("k", "tau", "statistic", "p_value", "exact")


@dataclass(frozen=True, repr=False)
class BeggTest(OneRowResult):
    """Result of :func:`begg_test`.

    Attributes
    ----------
    k : number of studies.
    tau : Kendall's tau-b between the standardised effects and the sampling variances.
    statistic : the normal-approximation z of the test (reported also when the p-value is exact).
    p_value : two-sided p-value: exact when ``exact`` is True, else from the normal approximation.
    exact : True without ties (and k <= 170), as R's ``cor.test(..., exact=TRUE)`` decides.
    provenance : method, options and input hash.
    """

    k: int
    tau: float
    statistic: float
    p_value: float
    exact: bool
    provenance: Provenance = field(repr=False)

    _fields: ClassVar[tuple[str, ...]] = _FIELDS

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "normal"
        return f"<BeggTest k={self.k} tau={self.tau:.4g} p={self.p_value:.4g} ({kind})>"

    def summary(self) -> Summary:
        lines: list[tuple[str, Any]] = [("k", self.k), ("Kendall's tau", self.tau), ("z", self.statistic),
                                        ("p_value", self.p_value),
                                        ("p-value", "exact" if self.exact else "normal approximation (ties)")]
        return Summary(title="Begg's rank correlation test for funnel-plot asymmetry", lines=lines,
                       notes=tuple(self.provenance.warnings))


@lru_cache(maxsize=32)
def _inversion_distribution(n: int) -> tuple[float, ...]:
    """P(number of inversions = j) of a random permutation of n items, j = 0..n(n-1)/2."""
    dist = np.ones(1)
    for j in range(2, n + 1):
        dist = np.convolve(dist, np.full(j, 1.0 / j))
    return tuple(dist.tolist())


def kendall_exact_cdf(q: int, n: int) -> float:
    """P(T <= q) for T the number of concordant pairs among n untied pairs under independence."""
    if q < 0:
        return 0.0
    dist = _inversion_distribution(n)
    return float(min(1.0, sum(dist[: q + 1])))


def _ties(x: np.ndarray) -> np.ndarray:
    _, counts = np.unique(x, return_counts=True)
    return counts[counts > 1].astype(float)


def _normal_z(tau: float, x: np.ndarray, y: np.ndarray) -> float:
    """z of Kendall's S with the tie-corrected variance, as R's ``cor.test`` computes it."""
    n = float(x.size)
    xt, yt = _ties(x), _ties(y)
    t0 = n * (n - 1) / 2
    t1 = (xt * (xt - 1)).sum() / 2
    t2 = (yt * (yt - 1)).sum() / 2
    s = tau * np.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = (xt * (xt - 1) * (2 * xt + 5)).sum()
    vu = (yt * (yt - 1) * (2 * yt + 5)).sum()
    v1 = (xt * (xt - 1)).sum() * (yt * (yt - 1)).sum()
    v2 = (xt * (xt - 1) * (xt - 2)).sum() * (yt * (yt - 1) * (yt - 2)).sum()
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    return float(s / np.sqrt(var_s))


def begg_test(result: Any) -> BeggTest:
    """Begg and Mazumdar's rank correlation test between standardised effects and their variances.

    Parameters
    ----------
    result : MetaResult
        A fit from :func:`consilience.meta_analyze` with k >= 3 (only its ``yi`` and ``vi`` are used;
        the test always centres on the equal-effects estimate, as metafor does).

    Returns
    -------
    BeggTest
        ``tau, statistic, p_value, exact`` (see the class).

    Notes
    -----
    With ``w = 1/vi``, ``theta = sum(w y) / sum(w)`` and ``v_b = 1 / sum(w)``, the standardised effects
    are ``y*_i = (y_i - theta) / sqrt(v_i - v_b)``; the test is Kendall's tau-b between ``y*`` and ``v``.
    Without ties, the p-value is exact: with ``T`` concordant pairs among ``N = k(k-1)/2``,
    ``p = min(1, 2 P(T <= t))`` in the lower tail and ``2 P(T >= t)`` in the upper one, from the
    distribution of inversions of a random permutation. With ties (common in ML, where many runs
    share a test set and so a variance), ``z = S / sqrt(Var S)`` with the tie-corrected variance and
    a normal p-value. For k > 170, where R's exact distribution overflows and returns NaN, the normal
    approximation is used.

    References
    ----------
    Begg, C. B. & Mazumdar, M. (1994). Operating characteristics of a rank correlation test for
    publication bias. Biometrics, 50(4), 1088-1101.

    Validated against: metafor 3.8-1 ``ranktest(rma(yi, vi))`` (R ``cor.test(method="kendall", exact=TRUE)``).
    """
    res = check_result(result, "begg_test", min_k=3)
    y, v = np.asarray(res.yi, dtype=float), np.asarray(res.vi, dtype=float)
    k = y.size
    w = 1.0 / v
    theta = float((w * y).sum() / w.sum())
    ystar = (y - theta) / np.sqrt(v - 1.0 / w.sum())
    n_v, n_ystar = np.unique(v).size, np.unique(ystar).size
    if n_v == 1 or n_ystar == 1:
        which = "sampling variances" if n_v == 1 else "effect sizes"
        raise InputError(
            f"begg_test needs varying {which}: all {k} studies have the same value, so there is no rank "
            f"correlation to test. With equal variances the funnel plot cannot show small-study effects."
        )
    tau = float(stats.kendalltau(ystar, v).statistic)
    z = _normal_z(tau, ystar, v)
    ties = min(n_ystar, n_v) < k
    exact = (not ties) and k <= EXACT_MAX_K
    if exact:
        n_pairs = k * (k - 1) // 2
        q = int(np.round((tau + 1) * k * (k - 1) / 4))
        lower = q <= k * (k - 1) / 4
        tail = kendall_exact_cdf(q, k) if lower else kendall_exact_cdf(n_pairs - q, k)
        p_value = min(2 * tail, 1.0)
    else:
        p_value = float(2 * stats.norm.sf(abs(z)))
    notes: tuple[str, ...] = ()
    if ties:
        notes = ("ties among the standardised effects or variances: normal approximation (as R's cor.test).",)
    return BeggTest(k=k, tau=tau, statistic=z, p_value=float(p_value), exact=exact,
                    provenance=make_provenance(res, {"diagnostic": "begg_test", "exact": exact}, notes))
