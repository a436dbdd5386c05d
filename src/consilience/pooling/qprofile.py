"""Q-profile confidence intervals for tau², I² and H² (Viechtbauer 2007), batched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from consilience.pooling import _intercept
from consilience.pooling._kernel import per_unique
from consilience.pooling._linalg import Batch
from consilience.pooling._zeroin import zeroin
from consilience.pooling.tau2.paule_mandel import generalised_q

__all__ = ["QProfileCI", "qprofile_ci"]


@dataclass(frozen=True)
class QProfileCI:
    """Interval ends per analysis; ``null_set`` marks intervals that are the empty set {0}."""

    tau2_ci_low: np.ndarray
    tau2_ci_high: np.ndarray
    i2_ci_low: np.ndarray
    i2_ci_high: np.ndarray
    h2_ci_low: np.ndarray
    h2_ci_high: np.ndarray
    null_set: np.ndarray


def qprofile_ci(batch: Batch, tau2: np.ndarray, vt: np.ndarray, level: float) -> QProfileCI:
    """Q-profile interval: the tau² values where the generalised Q meets the chi²(k-p) quantiles.

    Notes
    -----
    The lower end solves ``Q(tau²) = chi²_{1-α/2}(k-p)``, the upper end ``Q(tau²) = chi²_{α/2}(k-p)``,
    both searched on ``[0, max(100, 10 tau²)]`` with R's ``uniroot`` (tol eps^0.25, 1000 steps) as
    metafor's ``confint()`` does; an end is 0 when Q(0) is already below its quantile and the search
    bound when Q there is still above it. ``I² = 100 t/(vt + t)`` and ``H² = t/vt + 1`` at each end.

    Validated against: metafor 3.8-1 ``confint(rma(yi, vi, method=M))`` for M in DL, ML, REML, PM.
    """
    m = batch.y.shape[0]
    alpha = 1 - level
    df = (batch.k - batch.p).astype(float)
    with np.errstate(invalid="ignore"):
        crit_u = per_unique(lambda d: stats.chi2.isf(alpha / 2, d), df)
        crit_l = per_unique(lambda d: stats.chi2.ppf(alpha / 2, d), df)
    t = np.nan_to_num(tau2, nan=0.0)
    upper = np.maximum(100.0, 10.0 * t)
    if batch.p == 1:
        ws = _intercept.Workspace(batch)
        q_min = _intercept.q_stat(ws, np.zeros(m), centred=False)
        q_max = _intercept.q_stat(ws, upper, centred=False)
        del ws
    else:
        allidx = np.arange(m)
        q_min = generalised_q(batch, np.zeros(m), allidx, centred=False)
        q_max = generalised_q(batch, upper, allidx, centred=False)

    lo = np.full(m, np.nan)
    hi = np.full(m, np.nan)
    null_set = q_min < crit_l
    lo[null_set] = 0.0
    hi[null_set] = 0.0
    hi_at_bound = ~null_set & (q_max > crit_l)
    hi[hi_at_bound] = upper[hi_at_bound]
    hi_solve = np.flatnonzero(~null_set & ~hi_at_bound)

    lo_at_bound = q_max > crit_u
    lo[lo_at_bound] = upper[lo_at_bound]
    hi[lo_at_bound] = upper[lo_at_bound]
    lo_zero = ~lo_at_bound & (q_min < crit_u)
    lo[lo_zero] = 0.0
    lo_solve = np.flatnonzero(~lo_at_bound & ~lo_zero)
    hi_solve = hi_solve[~lo_at_bound[hi_solve]]

    # Both ends in one root-finding call: each problem follows its own iterates, and the
    # per-iteration overhead is paid once.
    rows = np.concatenate((hi_solve, lo_solve))
    if rows.size:
        targets = np.concatenate((crit_l[hi_solve], crit_u[lo_solve]))
        q_of: Callable[[np.ndarray, np.ndarray], np.ndarray]
        if batch.p == 1:
            q_of = _intercept.CompactQ(batch, rows, centred=False)
        else:
            def q_of(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
                return generalised_q(batch, x, rows[idx], centred=False)

        def f(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
            return np.asarray(q_of(x, idx) - targets[idx])

        root, _ = zeroin(f, np.zeros(rows.size), upper[rows], q_min[rows] - targets,
                         q_max[rows] - targets, maxiter=1000)
        hi[hi_solve] = root[: hi_solve.size]
        lo[lo_solve] = root[hi_solve.size:]

    invalid = df < 1
    lo[invalid] = np.nan
    hi[invalid] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        i2_lo = 100 * lo / (vt + lo)
        i2_hi = 100 * hi / (vt + hi)
        h2_lo = lo / vt + 1
        h2_hi = hi / vt + 1
    return QProfileCI(lo, hi, i2_lo, i2_hi, h2_lo, h2_hi, null_set & ~invalid)
