"""REML for many intercept-only meta-analyses through the array API (GPU via PyTorch or CuPy).

The default kernels (:mod:`consilience.pooling._intercept`) are written for numpy on the CPU:
they drop finished analyses from their arrays and lean on numpy's out= arguments. This module
is the same estimator written against the Python array API standard, so one piece of code runs
on numpy, on PyTorch tensors (on a CUDA GPU when one is visible) and on CuPy arrays. It keeps
fixed shapes between compactions (finished analyses are frozen with ``where`` and set aside
once they are half of the rows), which suits accelerators, and follows metafor's iteration
exactly as the numpy kernels do: start at ``max(0, tau²_HE)``,
Fisher-scoring steps halved while they would make tau² negative, stop when the change is at
most 1e-5 or after 100 steps, then the ll0 check and the standard error from ``tr(PP)``.

Sums run in the device's order, so numbers equal the numpy kernels' to floating-point
tolerance rather than to the last bit. Everything after the estimate of tau² (one pass for
the coefficients, tests and heterogeneity) stays on the host in :func:`meta_analyze_many`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from consilience._backend import Backend
from consilience.pooling._linalg import Batch
from consilience.pooling.tau2._base import Tau2Fit
from consilience.pooling.tau2.likelihood import LL_TOL, MAXITER, THRESHOLD

__all__ = ["reml_tau2"]

_BIG = float(np.finfo(float).max)


def _traces(xp: Any, w: Any, s1: Any) -> tuple[Any, Any]:
    """``tr(P)`` and ``tr(PP)`` for intercept-only weights ``w`` with row sums ``s1``."""
    inv = 1.0 / s1
    w2 = w * w
    s2 = xp.sum(w2, axis=1)
    sa = inv * s2
    s3 = xp.sum(w2 * w, axis=1)
    return s1 - sa, s2 - 2.0 * (inv * s3) + sa * sa


def _log_lik(xp: Any, ymc: Any, v: Any, present: Any, k: Any, tau2: Any, zero: Any) -> Any:
    """Restricted log-likelihood at ``tau2`` (mean-centred effects, padding excluded)."""
    vt = v + tau2[:, None]
    logv = xp.sum(xp.where(present, xp.log(vt), zero), axis=1)
    w = xp.where(present, 1.0 / vt, zero)
    s1 = xp.sum(w, axis=1)
    b = xp.sum(w * ymc, axis=1) / s1
    r = ymc - b[:, None]
    rss = xp.sum(w * r * r, axis=1)
    return -0.5 * (k - 1.0) * float(np.log(2 * np.pi)) - 0.5 * logv - 0.5 * xp.log(s1) - 0.5 * rss


def _halve(xp: Any, t: Any, adj: Any, live: Any, neg_zero: Any) -> Any:
    """metafor's step halving: halve while ``t + adj < 0``; from ``t = 0`` the step ends at 0."""
    neg = live & (t + adj < 0.0)
    adj = xp.where(neg & (t == 0.0), neg_zero, adj)
    neg = neg & (t != 0.0)
    while bool(xp.any(neg)):
        adj = xp.where(neg, adj / 2.0, adj)
        neg = neg & (t + adj < 0.0)
    return adj


def _fisher_scoring(xp: Any, ymc: Any, v: Any, present: Any, t: Any,
                    const: Callable[[float], Any]) -> tuple[Any, Any, Any]:
    """metafor's REML Fisher scoring from ``t``: the last iterates, steps taken, convergence.

    Analyses that stop are set aside whenever fewer than half of the working rows are still
    moving (the standard has no scatter, so finished rows are kept as chunks and put back in
    order with one ``argsort`` at the end); the rest continue on gathered copies.
    """
    zero, neg_zero = const(0.0), const(-0.0)
    m = t.shape[0]
    idx = xp.arange(m, device=t.device)
    live = xp.ones(m, dtype=xp.bool, device=t.device)
    iterations = xp.zeros_like(t)
    converged = live
    done: list[tuple[Any, Any, Any, Any]] = []  # (positions, t, iterations, converged)
    for step in range(1, MAXITER + 2):
        w = xp.where(present, 1.0 / (v + t[:, None]), zero)
        s1 = xp.sum(w, axis=1)
        b = xp.sum(w * ymc, axis=1) / s1
        wr = w * (ymc - b[:, None])
        ypp = xp.sum(wr * wr, axis=1)
        tr_p, tr_pp = _traces(xp, w, s1)
        adj = (ypp - tr_p) / tr_pp
        adj = xp.where(xp.isnan(adj), zero, adj)
        adj = _halve(xp, t, adj, live, neg_zero)
        new = t + adj
        iterations = xp.where(live, const(float(step)), iterations)
        if step > MAXITER:  # metafor checks the count after every step
            converged = converged & ~live
            t = xp.where(live, new, t)
            break
        moving = live & (xp.abs(t - new) > THRESHOLD)
        t = xp.where(live, new, t)
        live = moving
        n_live = int(xp.sum(xp.astype(live, xp.int64)))
        if n_live == 0:
            break
        if n_live < t.shape[0] // 2:
            stop, keep = xp.nonzero(~live)[0], xp.nonzero(live)[0]
            done.append(tuple(xp.take(a, stop, axis=0) for a in (idx, t, iterations, converged)))
            idx, t, iterations, converged, live, ymc, v, present = (
                xp.take(a, keep, axis=0)
                for a in (idx, t, iterations, converged, live, ymc, v, present))
    if not done:
        return t, iterations, converged
    done.append((idx, t, iterations, converged))
    parts = [xp.concat([chunk[j] for chunk in done]) for j in range(4)]
    order = xp.argsort(parts[0])
    return xp.take(parts[1], order), xp.take(parts[2], order), xp.take(parts[3], order)


def reml_tau2(batch: Batch, backend: Backend) -> Tau2Fit:
    """REML estimates of tau² for every analysis of an intercept-only ``batch`` on ``backend``.

    Parameters
    ----------
    batch : Batch
        Intercept-only batch (one row per analysis, padded with a mask).
    backend : Backend
        Array namespace and device (:func:`consilience._backend.resolve_backend`).

    Returns
    -------
    Tau2Fit
        As the numpy kernels return it: tau² (NaN where Fisher scoring did not converge),
        its standard error, convergence, iterations and metafor's ll0 resets.

    Notes
    -----
    Validated against: the numpy kernels (``meta_analyze_many``, which match metafor 3.8-1
    ``rma(method="REML")``) with the numpy and array-api-strict namespaces, to 1e-9 relative,
    and the metafor reference fits of ``tests/reference/metafor`` directly, to 1e-6.
    """
    if batch.p != 1:
        raise ValueError("internal: the device kernel fits intercept-only batches")
    xp = backend.xp
    mask = batch.mask > 0
    present = backend.asarray(np.ascontiguousarray(mask))
    y = backend.asarray(np.ascontiguousarray(np.where(mask, batch.y, 0.0), dtype=float))
    v = backend.asarray(np.ascontiguousarray(np.where(mask, batch.v, 1.0), dtype=float))
    k = backend.asarray(batch.k.astype(float))

    def const(value: float) -> Any:  # a 0-d array on the batch's device (scalars are not
        return xp.asarray(value, dtype=xp.float64, device=k.device)  # accepted everywhere)

    zero, big = const(0.0), const(_BIG)

    mean = xp.sum(y, axis=1) / xp.maximum(k, const(1.0))
    ymc = xp.where(present, y - mean[:, None], zero)
    # Hedges' estimate with OLS weights as the starting value (metafor's default start)
    b_ols = xp.sum(ymc, axis=1) / k
    r = xp.where(present, ymc - b_ols[:, None], zero)
    sdv = xp.sum(xp.where(present, v, zero), axis=1)
    start = (xp.sum(r * r, axis=1) - (sdv - sdv / k)) / (k - 1.0)
    # max(0, nan_to_num(start)) as the numpy kernels take it (inf becomes the largest float)
    t = xp.where(xp.isnan(start) | (start < 0.0), zero, xp.where(start > _BIG, big, start))

    t, iterations, converged = _fisher_scoring(xp, ymc, v, present, t, const)

    ll0 = _log_lik(xp, ymc, v, present, k, xp.zeros_like(t), zero)
    ll = _log_lik(xp, ymc, v, present, k, t, zero)
    reset = converged & (ll0 - ll > float(LL_TOL)) & (t > THRESHOLD)
    t = xp.where(reset, zero, t)
    t = xp.where(t < 0.0, zero, t)
    w = xp.where(present, 1.0 / (v + t[:, None]), zero)
    _, tr_pp = _traces(xp, w, xp.sum(w, axis=1))
    se = xp.sqrt(2.0 / tr_pp)

    tau2 = backend.to_numpy(t)
    conv = backend.to_numpy(converged).astype(bool)
    msg = "" if conv.all() else f"Fisher scoring for REML did not converge in {MAXITER} iterations"
    return Tau2Fit(tau2=np.where(conv, tau2, np.nan),
                   se_tau2=np.where(conv, backend.to_numpy(se), np.nan), converged=conv,
                   iterations=backend.to_numpy(iterations).astype(int),
                   boundary_reset=backend.to_numpy(reset).astype(bool), message=msg)
