"""One group with a binary outcome: the raw proportion (PR) and its logit (PLO).

Study *i* has ``xi`` events among ``ni`` (``mi = ni - xi`` non-events; either ``ni`` or ``mi``
may be given). With metafor's defaults (``add=0.5``, ``to="only0"``), a study with ``xi = 0`` or
``xi = ni`` gets 1/2 added to both counts before ``yi`` and ``vi`` are computed, so a proportion
of 0 or 1 still has a positive variance.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from consilience.effects._registry import (
    Bound,
    FloatArray,
    Measure,
    Split,
    ZeroCellOptions,
    register,
)
from consilience.effects.binary import add_to_zero_cells

__all__ = ["logit_proportion", "proportion"]

_REQUIRED = ("xi",)
_SPLITS = (Split("xi", "mi", "ni"),)
_BOUNDS: Mapping[str, Bound] = {"xi": "nonnegative", "mi": "nonnegative", "ni": "positive"}


def _counts(x: Mapping[str, FloatArray], options: ZeroCellOptions) -> tuple[FloatArray, FloatArray]:
    xi, mi = add_to_zero_cells((x["xi"], x["mi"]), options)
    return xi, mi


def proportion(
    x: Mapping[str, FloatArray], options: ZeroCellOptions
) -> tuple[FloatArray, FloatArray]:
    r"""Raw proportion (measure ``PR``).

    Parameters
    ----------
    x : mapping of str to ndarray
        ``xi`` and ``mi`` (``ni`` completed from them).
    options : ZeroCellOptions
        Zero-cell correction of ``xi`` and ``mi``, applied before both ``yi`` and ``vi``.

    Returns
    -------
    yi, vi : ndarray
        The proportion and its binomial variance.

    Notes
    -----
    With corrected counts and :math:`n = x + m`, :math:`p = x/n`:

    .. math:: y_i = p, \qquad v_i = p(1-p)/n

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48.

    Validated against: metafor 3.8-1, ``escalc(measure="PR")`` (vtype "LS").
    """
    xi, mi = _counts(x, options)
    ni = xi + mi
    p = xi / ni
    return p, p * (1 - p) / ni


def logit_proportion(
    x: Mapping[str, FloatArray], options: ZeroCellOptions
) -> tuple[FloatArray, FloatArray]:
    r"""Logit of a proportion, the log odds (measure ``PLO``).

    Parameters
    ----------
    x : mapping of str to ndarray
        ``xi`` and ``mi`` (``ni`` completed from them).
    options : ZeroCellOptions
        Zero-cell correction of ``xi`` and ``mi``, applied before both ``yi`` and ``vi``.

    Returns
    -------
    yi, vi : ndarray
        ``log(p / (1 - p))`` and its variance; NaN for ``xi = 0`` or ``xi = ni`` when no
        correction is applied (``to="none"``).

    Notes
    -----
    .. math:: y_i = \log\frac{p}{1-p}, \qquad v_i = \frac1x + \frac1m

    References
    ----------
    Viechtbauer, W. (2010). Journal of Statistical Software, 36(3), 1-48.

    Validated against: metafor 3.8-1, ``escalc(measure="PLO")`` (vtype "LS").
    """
    xi, mi = _counts(x, options)
    p = xi / (xi + mi)
    return np.log(p / (1 - p)), 1 / xi + 1 / mi


register(Measure("PR", "raw proportion", _REQUIRED, proportion, splits=_SPLITS, bounds=_BOUNDS))
register(
    Measure(
        "PLO",
        "logit proportion (log odds)",
        _REQUIRED,
        logit_proportion,
        splits=_SPLITS,
        bounds=_BOUNDS,
    )
)
