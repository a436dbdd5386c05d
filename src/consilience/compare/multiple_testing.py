"""Adjusted p-values for families of comparisons: Holm and Benjamini-Hochberg."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from consilience._validation import as_float_vector, check_choice
from consilience.errors import InputError

__all__ = ["AdjustMethod", "adjust_p_values"]

AdjustMethod = Literal["holm", "bh"]


def adjust_p_values(p_values: Any, *, method: AdjustMethod = "holm") -> np.ndarray:
    r"""Adjust a family of p-values for multiple comparisons.

    Parameters
    ----------
    p_values : array-like
        Unadjusted p-values in [0, 1]; NaN entries are kept as NaN and left out of the family.
    method : {"holm", "bh"}
        Holm's step-down family-wise error control, or Benjamini-Hochberg false discovery rate.

    Returns
    -------
    ndarray
        Adjusted p-values in the input order.

    Notes
    -----
    With the :math:`m` p-values sorted increasingly, :math:`p_{(1)} \le \dots \le p_{(m)}`:

    - Holm: :math:`\tilde p_{(i)} = \min\{1, \max_{j \le i} (m - j + 1) p_{(j)}\}`;
    - BH: :math:`\tilde p_{(i)} = \min\{1, \min_{j \ge i} \tfrac{m}{j} p_{(j)}\}`.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
    Journal of Statistics, 6(2), 65-70.
    Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B, 57(1),
    289-300.

    Validated against: statsmodels 0.15 ``multipletests(p, method="holm" | "fdr_bh")``.
    """
    how = check_choice("method", method, ("holm", "bh"), aliases={"fdr_bh": "bh", "BH": "bh"})
    p = as_float_vector("p_values", p_values)
    finite = ~np.isnan(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        bad = np.flatnonzero(finite & ((p < 0) | (p > 1)))
        raise InputError(f"'p_values' must lie in [0, 1]; got {p[bad[0]]} at position {int(bad[0])}. Pass p-values, not statistics.")
    out = np.full(p.shape, np.nan)
    q = p[finite]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q, kind="mergesort")
    ranked = q[order]
    i = np.arange(1, m + 1)
    if how == "holm":
        adj = np.maximum.accumulate((m - i + 1) * ranked)
    else:
        adj = np.minimum.accumulate((m / i * ranked)[::-1])[::-1]
    adj = np.minimum(adj, 1.0)
    back = np.empty(m)
    back[order] = adj
    out[finite] = back
    return out
