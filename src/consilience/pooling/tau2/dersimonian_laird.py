"""DerSimonian-Laird (DL) method-of-moments estimator of tau²."""

from __future__ import annotations

import numpy as np

from consilience.pooling import _intercept
from consilience.pooling._linalg import trace_p, trace_p_a_p_b, wls
from consilience.pooling.tau2._base import Batch, Tau2Fit, clip_tau2, df_resid

__all__ = ["estimate"]


def estimate(batch: Batch) -> Tau2Fit:
    """DerSimonian & Laird (1986), generalised to meta-regression.

    Notes
    -----
    With ``W = diag(1/vi)`` and ``P = W - W X (X'WX)^-1 X'W``::

        tau² = max(0, (y'Py - (k - p)) / tr(P))
        se(tau²) = sqrt((2(k-p) + 4 tau² tr(P) + 2 tau⁴ tr(PP)) / tr(P)²)

    Validated against: metafor 3.8-1 ``rma(yi, vi, method="DL")``.
    """
    df = df_resid(batch)
    if batch.p == 1:  # intercept only: sums shared with Cochran's Q (see _intercept.fixed_effect)
        rss, tr_p, tr_pp = _intercept.fixed_effect_traces(_intercept.Workspace(batch))
    else:
        w = batch.mask / batch.v
        fit = wls(batch.ymc, w, batch.X)
        rss = fit.rss
        tr_p = trace_p(w, batch.X, fit.inv)
        tr_pp = trace_p_a_p_b(w, batch.X, fit.inv)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = clip_tau2((rss - df) / tr_p)
        se = np.sqrt((2 * df + 4 * tau2 * tr_p + 2 * tau2**2 * tr_pp) / tr_p**2)
    return Tau2Fit.closed_form(tau2, se)
