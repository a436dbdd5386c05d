"""Paule-Mandel (PM) estimator of tau²: the value at which the generalised Q equals k - p."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from consilience.pooling import _intercept
from consilience.pooling._linalg import Batch, wls
from consilience.pooling._zeroin import zeroin
from consilience.pooling.tau2._base import Tau2Fit, df_resid

__all__ = ["estimate", "generalised_q", "tau2_upper"]


def generalised_q(batch: Batch, tau2: np.ndarray, idx: np.ndarray, centred: bool = True) -> np.ndarray:
    """Q(tau²) = y'P(tau²)y for analyses ``idx`` with weights 1/(vi + tau²)."""
    y = batch.ymc[idx] if centred else batch.y[idx]
    w = batch.mask[idx] / (batch.v[idx] + np.asarray(tau2)[:, None])
    return wls(y, w, batch.X[idx]).rss


def tau2_upper(batch: Batch) -> np.ndarray:
    """metafor's search bound ``max(100, 10 * mad(yi)²)`` (mad with R's 1.4826 constant)."""
    y = np.where(batch.mask > 0, batch.y, np.nan)
    med = np.nanmedian(y, axis=1)
    mad = 1.4826 * np.nanmedian(np.abs(y - med[:, None]), axis=1)
    return np.maximum(100.0, 10.0 * mad**2)


def estimate(batch: Batch) -> Tau2Fit:
    """Paule & Mandel (1982) estimator, solved as metafor does with R's ``uniroot``.

    Notes
    -----
    tau² solves ``Q(tau²) = k - p``; it is 0 when ``Q(0) < k - p``. The root is R's ``zeroin``
    iterate with ``tol = eps^0.25`` and ``maxiter = 100`` on ``[0, max(100, 10 mad(y)²)]``::

        se(tau²) = sqrt(2 k² / (k-p) / sum(w)²),  w = 1/(vi + tau²)

    Validated against: metafor 3.8-1 ``rma(yi, vi, method="PM")``.
    """
    m = batch.y.shape[0]
    all_idx = np.arange(m)
    target = df_resid(batch)
    upper = tau2_upper(batch)
    if batch.p == 1:
        ws = _intercept.Workspace(batch)
        q0 = _intercept.q_stat(ws, np.zeros(m), centred=True)
        qmax = _intercept.q_stat(ws, upper, centred=True)
    else:
        q0 = generalised_q(batch, np.zeros(m), all_idx)
        qmax = generalised_q(batch, upper, all_idx)
    tau2 = np.zeros(m)
    converged = np.ones(m, dtype=bool)
    too_low = (q0 >= target) & (qmax > target)
    converged[too_low] = False
    tau2[too_low] = np.nan
    solve = np.flatnonzero((q0 >= target) & ~too_low)
    if solve.size:

        q_of: Callable[[np.ndarray, np.ndarray], np.ndarray]
        if batch.p == 1:
            q_of = _intercept.CompactQ(batch, solve, centred=True)
        else:
            def q_of(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
                return generalised_q(batch, x, solve[idx])

        def f(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
            return np.asarray(q_of(x, idx) - target[solve[idx]])

        root, ok = zeroin(f, np.zeros(solve.size), upper[solve], q0[solve] - target[solve],
                          qmax[solve] - target[solve], maxiter=100)
        tau2[solve] = root
        converged[solve] = ok
    w = batch.mask / (batch.v + np.nan_to_num(tau2)[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(2 * batch.k**2 / target / w.sum(axis=1) ** 2)
    msg = "" if converged.all() else (
        "the Paule-Mandel equation has no root below the search bound "
        "max(100, 10 * mad(yi)^2); the effects may be on a very large scale"
    )
    return Tau2Fit(tau2=np.maximum(tau2, 0.0), se_tau2=se, converged=converged,
                   iterations=np.zeros(m, int), boundary_reset=np.zeros(m, bool), message=msg)
