"""Sidik-Jonkman (SJ) estimator of tau²."""

from __future__ import annotations

import numpy as np

from consilience.pooling._linalg import trace_p_a_p_b, wls
from consilience.pooling.tau2._base import Batch, Tau2Fit, clip_tau2, df_resid

__all__ = ["estimate"]


def estimate(batch: Batch) -> Tau2Fit:
    """Sidik & Jonkman (2005) estimator, metafor's default start.

    Notes
    -----
    Start from ``tau0² = sum((y - ybar)²) / k``; with ``W = diag(1/(vi + tau0²))`` and ``P`` built
    from it::

        tau² = tau0² y'Py / (k - p)
        se(tau²) = tau0² / (k-p) sqrt(2 tr(PVPV) + 4 tau² sum(PV∘P) + 2 tau⁴ tr(PP))

    Validated against: metafor 3.8-1 ``rma(yi, vi, method="SJ")``.
    """
    tau0 = (batch.ymc**2).sum(axis=1) / batch.k
    w = batch.mask / (batch.v + tau0[:, None])
    fit = wls(batch.ymc, w, batch.X)
    df = df_resid(batch)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = clip_tau2(tau0 * fit.rss / df)
        tr_pvpv = trace_p_a_p_b(w, batch.X, fit.inv, batch.v, batch.v)
        tr_pvp = trace_p_a_p_b(w, batch.X, fit.inv, 1.0, batch.v)
        tr_pp = trace_p_a_p_b(w, batch.X, fit.inv)
        se = np.sqrt(tau0**2 / df**2 * (2 * tr_pvpv + 4 * tau2 * tr_pvp + 2 * tau2**2 * tr_pp))
    return Tau2Fit.closed_form(tau2, se)
