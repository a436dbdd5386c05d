"""Equal-effects (EE, also called fixed-effect FE or common-effect CE) model: tau² = 0."""

from __future__ import annotations

import numpy as np

from consilience.pooling.tau2._base import Batch, Tau2Fit

__all__ = ["estimate"]


def estimate(batch: Batch) -> Tau2Fit:
    """tau² fixed at 0; no standard error.

    Validated against: metafor 3.8-1 ``rma(yi, vi, method="EE")``.
    """
    m = batch.y.shape[0]
    return Tau2Fit.closed_form(np.zeros(m), np.full(m, np.nan))
