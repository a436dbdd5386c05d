"""Predictions from a fitted meta-analysis (metafor ``predict.rma``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:
    from consilience.pooling.result import MetaResult

__all__ = ["predict_frame"]


def predict_frame(result: MetaResult, newmods: Any) -> pd.DataFrame:
    """pred = x'b, se = sqrt(x'Vx), CI pred ± crit se, PI pred ± crit sqrt(se² + tau²).

    ``crit`` is the normal quantile for ``test="z"`` and the t(k - p) quantile for ``knha``.

    Validated against: metafor 3.8-1 ``predict(rma(...), newmods=...)``.
    """
    X = result.design.encode(newmods) if result.design.columns else np.ones((1, 1))
    beta = np.array([c.estimate for c in result.coefficients])
    pred = X @ beta
    vpred = np.einsum("ni,ij,nj->n", X, result.vcov, X)
    alpha = 1 - result.level
    crit = stats.t.isf(alpha / 2, result.df) if result.df is not None else stats.norm.isf(alpha / 2)
    se = np.sqrt(vpred)
    half_pi = crit * np.sqrt(vpred + result.tau2)
    return pd.DataFrame({"pred": pred, "se": se, "ci_low": pred - crit * se, "ci_high": pred + crit * se,
                         "pi_low": pred - half_pi, "pi_high": pred + half_pi})
