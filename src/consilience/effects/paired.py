"""Paired (pre/post, or two models on the same items) means: MC and SMCC.

Study *i* measured the same ``ni`` units twice: means ``m1i``, ``m2i``, SDs ``sd1i``, ``sd2i``, and
the correlation ``ri`` between the two measurements. A positive ``yi`` means the first measurement
is higher. In ML terms: two models evaluated on the same seeds or test items, ``ri`` being the
correlation of their per-seed (per-item) scores.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from consilience.effects._registry import Bound, FloatArray, Measure, ZeroCellOptions, register
from consilience.effects.continuous import hedges_correction

__all__ = ["mean_change", "standardized_mean_change"]

_REQUIRED = ("m1i", "m2i", "sd1i", "sd2i", "ni", "ri")
_BOUNDS: Mapping[str, Bound] = {
    "sd1i": "nonnegative",
    "sd2i": "nonnegative",
    "ni": "positive",
    "ri": "correlation",
}


def _change_variance(x: Mapping[str, FloatArray]) -> FloatArray:
    sd1, sd2 = x["sd1i"], x["sd2i"]
    out: FloatArray = sd1**2 + sd2**2 - 2 * x["ri"] * sd1 * sd2
    return out


def mean_change(
    x: Mapping[str, FloatArray], options: ZeroCellOptions
) -> tuple[FloatArray, FloatArray]:
    r"""Raw mean change (measure ``MC``).

    Parameters
    ----------
    x : mapping of str to ndarray
        ``m1i, m2i, sd1i, sd2i, ni, ri``.
    options : ZeroCellOptions
        Unused (no counts).

    Returns
    -------
    yi, vi : ndarray
        Mean of the paired differences and its sampling variance.

    Notes
    -----
    .. math:: y_i = \bar x_1 - \bar x_2, \qquad
              v_i = \frac{s_1^2 + s_2^2 - 2 r s_1 s_2}{n}

    References
    ----------
    Morris, S. B., & DeShon, R. P. (2002). Combining effect size estimates in meta-analysis with
    repeated measures and independent-groups designs. Psychological Methods, 7(1), 105-125.

    Validated against: metafor 3.8-1, ``escalc(measure="MC")``.
    """
    return x["m1i"] - x["m2i"], _change_variance(x) / x["ni"]


def standardized_mean_change(
    x: Mapping[str, FloatArray], options: ZeroCellOptions
) -> tuple[FloatArray, FloatArray]:
    r"""Standardised mean change with change-score standardisation (measure ``SMCC``).

    Parameters
    ----------
    x : mapping of str to ndarray
        ``m1i, m2i, sd1i, sd2i, ni, ri``.
    options : ZeroCellOptions
        Unused (no counts).

    Returns
    -------
    yi, vi : ndarray
        Bias-corrected standardised mean change and its large-sample variance; NaN where
        ``ni <= 2`` (correction undefined) or the SD of the change scores is 0.

    Notes
    -----
    With the SD of the change scores :math:`s_d = \sqrt{s_1^2 + s_2^2 - 2 r s_1 s_2}` and the
    exact correction :math:`c(n-1)` (:func:`~consilience.effects.continuous.hedges_correction`),

    .. math:: y_i = c(n-1)\,\frac{\bar x_1 - \bar x_2}{s_d}, \qquad
              v_i = \frac1n + \frac{y_i^2}{2n}

    (metafor's default vtype "LS").

    References
    ----------
    Gibbons, R. D., Hedeker, D. R., & Davis, J. M. (1993). Estimation of effect size from a
    series of experiments involving paired comparisons. Journal of Educational Statistics,
    18(3), 271-279.

    Validated against: metafor 3.8-1, ``escalc(measure="SMCC")`` (vtype "LS").
    """
    ni = x["ni"]
    d = (x["m1i"] - x["m2i"]) / np.sqrt(_change_variance(x))
    yi = hedges_correction(ni - 1) * d
    return yi, 1 / ni + yi**2 / (2 * ni)


register(Measure("MC", "raw mean change (paired)", _REQUIRED, mean_change, bounds=_BOUNDS))
register(
    Measure(
        "SMCC",
        "standardized mean change, change-score standardization (paired)",
        _REQUIRED,
        standardized_mean_change,
        bounds=_BOUNDS,
    )
)
