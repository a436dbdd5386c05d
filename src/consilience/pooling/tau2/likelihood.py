"""Likelihood-based estimators of tau²: ML, REML and empirical Bayes (EB), by Fisher scoring."""

from __future__ import annotations

from typing import Literal

import numpy as np

from consilience.pooling import _intercept
from consilience.pooling._linalg import Batch, cross, trace_p, trace_p_a_p_b, wls
from consilience.pooling.tau2._base import Tau2Fit, df_resid
from consilience.pooling.tau2.hedges import raw_estimate

__all__ = ["LL_TOL", "MAXITER", "THRESHOLD", "estimate"]

THRESHOLD = 1e-5  # metafor control$threshold: stop when |change in tau²| <= this
MAXITER = 100  # metafor control$maxiter
LL_TOL = np.finfo(float).eps ** 0.25  # metafor control$tol, used by the ll0 check


def _log_lik(batch: Batch, tau2: np.ndarray, reml: bool) -> np.ndarray:
    w = batch.mask / (batch.v + tau2[:, None])
    fit = wls(batch.ymc, w, batch.X)
    logv = np.where(batch.mask > 0, np.log(batch.v + tau2[:, None]), 0.0).sum(axis=1)
    if reml:
        _, logdet = np.linalg.slogdet(cross(batch.X, w))
        return -0.5 * (batch.k - batch.p) * np.log(2 * np.pi) - 0.5 * logv - 0.5 * logdet - 0.5 * fit.rss
    return -0.5 * batch.k * np.log(2 * np.pi) - 0.5 * logv - 0.5 * fit.rss


def _fisher_scoring(
    batch: Batch, start: np.ndarray, kind: Literal["ML", "REML", "EB"], df: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fisher scoring with the general p x p algebra (meta-regression)."""
    m = batch.y.shape[0]
    tau2 = start.copy()
    iterations = np.zeros(m, dtype=int)
    converged = np.ones(m, dtype=bool)
    active = np.ones(m, dtype=bool)
    for _ in range(MAXITER + 1):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        sub = batch.take(idx)
        t = tau2[idx]
        w = sub.mask / (sub.v + t[:, None])
        fit = wls(sub.ymc, w, sub.X)
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "ML":
                ypp = ((w * fit.resid) ** 2).sum(axis=1)
                adj = (ypp - w.sum(axis=1)) / (w**2).sum(axis=1)
            elif kind == "REML":
                ypp = ((w * fit.resid) ** 2).sum(axis=1)
                adj = (ypp - trace_p(w, sub.X, fit.inv)) / trace_p_a_p_b(w, sub.X, fit.inv)
            else:
                adj = (fit.rss * sub.k / df[idx] - sub.k) / w.sum(axis=1)
        adj = np.where(np.isnan(adj), 0.0, adj)
        _intercept.halve_step(t, adj)
        new = t + adj
        change = np.abs(t - new)
        tau2[idx] = new
        iterations[idx] += 1
        failed = iterations[idx] > MAXITER  # metafor checks the count after every step
        stop = (change <= THRESHOLD) & ~failed
        converged[idx[failed]] = False
        active[idx[stop | failed]] = False
    return tau2, iterations, converged


def _se_tau2(batch: Batch, tau2: np.ndarray, kind: str, df: np.ndarray) -> np.ndarray:
    w = batch.mask / (batch.v + tau2[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ML":
            return np.asarray(np.sqrt(2.0 / (w**2).sum(axis=1)))
        if kind == "REML":
            inv = wls(batch.ymc, w, batch.X).inv
            return np.asarray(np.sqrt(2.0 / trace_p_a_p_b(w, batch.X, inv)))
        return np.asarray(np.sqrt(2 * batch.k**2 / df / w.sum(axis=1) ** 2))


def estimate(batch: Batch, kind: Literal["ML", "REML", "EB"]) -> Tau2Fit:
    """Fisher scoring for ML, REML or EB exactly as metafor iterates it.

    Notes
    -----
    Start at ``max(0, tau²_HE)``. With ``W = diag(1/(vi + tau²))`` and ``P = W - WX(X'WX)^-1X'W``
    each step adds::

        ML:   (y'PPy - tr(W)) / tr(W²)
        REML: (y'PPy - tr(P)) / tr(PP)
        EB:   (y'Py k/(k-p) - k) / tr(W)

    halving it while it would make tau² negative, until the change is at most 1e-5 (at most 100
    steps). For ML/REML, if the log-likelihood at tau² = 0 exceeds the one at the estimate by more
    than eps^0.25, tau² is set to 0 (metafor's ``ll0check``). Standard errors::

        ML: sqrt(2 / tr(W²));  REML: sqrt(2 / tr(PP));  EB: sqrt(2 k² / (k-p) / tr(W)²)

    Validated against: metafor 3.8-1 ``rma(yi, vi, method="REML" | "ML" | "EB")``.
    """
    m = batch.y.shape[0]
    df = df_resid(batch)
    if batch.p == 1:  # intercept-only kernels: the same arithmetic, less work
        ws = _intercept.Workspace(batch)
        start = _intercept.he_start(ws)
        tau2, iterations, converged = _intercept.fisher_scoring(
            ws, np.maximum(0.0, np.nan_to_num(start, nan=0.0)), kind, threshold=THRESHOLD,
            maxiter=MAXITER)

        def log_lik(t: np.ndarray) -> np.ndarray:
            return _intercept.log_lik(ws, t, kind == "REML")

        def log_lik0() -> np.ndarray:
            return _intercept.log_lik_at_zero(ws, kind == "REML")

        def se_of(t: np.ndarray) -> np.ndarray:
            return _intercept.se_tau2(ws, t, kind, df)
    else:
        start, _, _ = raw_estimate(batch)
        tau2, iterations, converged = _fisher_scoring(
            batch, np.maximum(0.0, np.nan_to_num(start, nan=0.0)), kind, df)

        def log_lik(t: np.ndarray) -> np.ndarray:
            return _log_lik(batch, t, kind == "REML")

        def log_lik0() -> np.ndarray:
            return log_lik(np.zeros(m))

        def se_of(t: np.ndarray) -> np.ndarray:
            return _se_tau2(batch, t, kind, df)

    boundary_reset = np.zeros(m, dtype=bool)
    if kind in ("ML", "REML"):
        ll0 = log_lik0()
        ll = log_lik(tau2)
        boundary_reset = converged & (ll0 - ll > LL_TOL) & (tau2 > THRESHOLD)
        tau2 = np.where(boundary_reset, 0.0, tau2)

    tau2 = np.maximum(tau2, 0.0)
    se = se_of(tau2)
    msg = "" if converged.all() else (
        f"Fisher scoring for {kind} did not converge in {MAXITER} iterations"
    )
    return Tau2Fit(tau2=np.where(converged, tau2, np.nan), se_tau2=np.where(converged, se, np.nan),
                   converged=converged, iterations=iterations, boundary_reset=boundary_reset, message=msg)
