"""Hunter-Schmidt (HS) estimator of tau²."""

from __future__ import annotations

import numpy as np

from consilience.pooling._linalg import trace_p, trace_p_a_p_b, wls
from consilience.pooling.tau2._base import Batch, Tau2Fit, clip_tau2, df_resid

__all__ = ["estimate"]


def estimate(batch: Batch) -> Tau2Fit:
    """Hunter & Schmidt (2004) estimator.

    Notes
    -----
    With ``W = diag(1/vi)`` and ``P`` as for DL::

        tau² = max(0, (y'Py - k) / sum(w))
        se(tau²) = sqrt((2(k-p) + 4 tau² tr(P) + 2 tau⁴ tr(PP)) / sum(w)²)

    Validated against: metafor 3.8-1 ``rma(yi, vi, method="HS")``.
    """
    w = batch.mask / batch.v
    fit = wls(batch.ymc, w, batch.X)
    sw = w.sum(axis=1)
    tau2 = clip_tau2((fit.rss - batch.k) / sw)
    tr_p = trace_p(w, batch.X, fit.inv)
    tr_pp = trace_p_a_p_b(w, batch.X, fit.inv)
    df = df_resid(batch)
    with np.errstate(invalid="ignore"):
        se = np.sqrt((2 * df + 4 * tau2 * tr_p + 2 * tau2**2 * tr_pp) / sw**2)
    return Tau2Fit.closed_form(tau2, se)
