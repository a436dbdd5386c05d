"""Hedges (HE) unweighted method-of-moments estimator of tau²; also the start of ML/REML/EB."""

from __future__ import annotations

import numpy as np

from consilience.pooling._linalg import cross, trace_p_a_p_b, wls
from consilience.pooling.tau2._base import Batch, Tau2Fit, clip_tau2, df_resid

__all__ = ["estimate", "raw_estimate"]


def raw_estimate(batch: Batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Untruncated HE estimate with the pieces its standard error needs.

    Returns ``(tau2_raw, tr(PV), tr(PVPV))`` with the ordinary-least-squares ``P = I - X(X'X)^-1X'``.
    """
    d = batch.mask
    fit = wls(batch.ymc, d, batch.X)
    tr_pv = (d * batch.v).sum(axis=1) - np.einsum("mij,mji->m", fit.inv, cross(batch.X, d * batch.v))
    tr_pvpv = trace_p_a_p_b(d, batch.X, fit.inv, batch.v, batch.v)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = (fit.rss - tr_pv) / df_resid(batch)
    return tau2, tr_pv, tr_pvpv


def estimate(batch: Batch) -> Tau2Fit:
    """Hedges (1983) / Hedges & Olkin (1985) estimator.

    Notes
    -----
    With the OLS residual maker ``P = I - X(X'X)^-1 X'`` and ``V = diag(vi)``::

        tau² = max(0, (y'Py - tr(PV)) / (k - p))
        se(tau²) = sqrt((2 tr(PVPV) + 4 tau² tr(PV) + 2 tau⁴ (k-p)) / (k-p)²)

    Validated against: metafor 3.8-1 ``rma(yi, vi, method="HE")``.
    """
    raw, tr_pv, tr_pvpv = raw_estimate(batch)
    tau2 = clip_tau2(raw)
    df = df_resid(batch)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt((2 * tr_pvpv + 4 * tau2 * tr_pv + 2 * tau2**2 * df) / df**2)
    return Tau2Fit.closed_form(tau2, se)
