"""Correlation coefficients: the raw correlation (COR) and Fisher's r-to-z transform (ZCOR).

Both need ``ri`` (the correlation, ``-1 <= ri <= 1``) and ``ni`` (the sample size). For
``ni <= 3`` the variance is undefined: ``vi`` is NaN while ``yi`` is kept, as in metafor.
A correlation of exactly +-1 gives an infinite z, so ZCOR's ``yi`` and ``vi`` are NaN there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from consilience.effects._registry import Bound, FloatArray, Measure, ZeroCellOptions, register

__all__ = ["correlation", "fisher_z"]

_REQUIRED = ("ri", "ni")
_BOUNDS: Mapping[str, Bound] = {"ri": "correlation", "ni": "positive"}


def correlation(
    x: Mapping[str, FloatArray], options: ZeroCellOptions
) -> tuple[FloatArray, FloatArray]:
    r"""Raw correlation coefficient (measure ``COR``).

    Parameters
    ----------
    x : mapping of str to ndarray
        ``ri`` and ``ni``.
    options : ZeroCellOptions
        Unused (no counts).

    Returns
    -------
    yi, vi : ndarray
        ``ri`` and its large-sample variance; ``vi`` is NaN where ``ni <= 3``.

    Notes
    -----
    .. math:: y_i = r_i, \qquad v_i = \frac{(1 - r_i^2)^2}{n_i - 1}

    References
    ----------
    Olkin, I., & Pratt, J. W. (1958). Unbiased estimation of certain correlation coefficients.
    Annals of Mathematical Statistics, 29(1), 201-211.

    Validated against: metafor 3.8-1, ``escalc(measure="COR")`` (vtype "LS").
    """
    ri, ni = x["ri"], x["ni"]
    yi = ri.copy()
    vi = (1 - yi**2) ** 2 / (ni - 1)
    vi[ni <= 3] = np.nan
    return yi, vi


def fisher_z(
    x: Mapping[str, FloatArray], options: ZeroCellOptions
) -> tuple[FloatArray, FloatArray]:
    r"""Fisher's r-to-z transformed correlation (measure ``ZCOR``).

    Parameters
    ----------
    x : mapping of str to ndarray
        ``ri`` and ``ni``.
    options : ZeroCellOptions
        Unused (no counts).

    Returns
    -------
    yi, vi : ndarray
        ``atanh(ri)`` and ``1 / (ni - 3)``; ``vi`` is NaN where ``ni <= 3``; both are NaN where
        ``|ri| = 1``.

    Notes
    -----
    .. math:: y_i = \tfrac12 \log\frac{1 + r_i}{1 - r_i}, \qquad v_i = \frac{1}{n_i - 3}

    References
    ----------
    Fisher, R. A. (1921). On the "probable error" of a coefficient of correlation deduced from a
    small sample. Metron, 1, 3-32.

    Validated against: metafor 3.8-1, ``escalc(measure="ZCOR")``.
    """
    ri, ni = x["ri"], x["ni"]
    yi = 0.5 * np.log((1 + ri) / (1 - ri))
    vi = 1 / (ni - 3)
    vi[ni <= 3] = np.nan
    return yi, vi


register(Measure("COR", "raw correlation coefficient", _REQUIRED, correlation, bounds=_BOUNDS))
register(
    Measure("ZCOR", "Fisher's r-to-z transformed correlation", _REQUIRED, fisher_z, bounds=_BOUNDS)
)
