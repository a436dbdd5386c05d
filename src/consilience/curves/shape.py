r"""Flags for ill-behaved learning curves: rising, peaking, flat, saturated, too short.

Parametric extrapolation assumes a curve whose error falls ever more slowly with data. Curves that
break the assumption are common (Mohr et al. 2022 report non-monotone and peaking curves for many
LCDB learners) and are flagged rather than refused: the flag travels with the result and the CLI
prints it.

A change between anchors counts only when it exceeds the noise tolerance

.. math:: \tau_{ij} = \max\big(\tau_0,\; 2\sqrt{se_i^2 + se_j^2}\big),

with :math:`se` the standard error across seeds at an anchor. With one measurement per anchor
the standard error is estimated from second differences,
:math:`\hat\sigma = \mathrm{median}|\Delta^2 e| / (0.6745 \sqrt 6)`.

References
----------
Viering, T., & Loog, M. (2022). The shape of learning curves: a review. IEEE TPAMI 45(6).
Mohr, F., Viering, T. J., Loog, M., & van Rijn, J. N. (2022). LCDB 1.0. ECML PKDD 2022.
"""

from __future__ import annotations

import numpy as np

from consilience.curves.families import FloatArray

__all__ = ["FLAG_NAMES", "shape_flags"]

FLAG_NAMES: tuple[str, ...] = ("non_monotone", "peaking", "flat", "saturated", "few_anchors")
"""Every flag :func:`shape_flags` can raise, in the order it reports them."""


def _noise(error: FloatArray, se: FloatArray) -> FloatArray:
    if np.all(np.isfinite(se)):
        return se
    sigma = 0.0
    if error.size >= 3:
        sigma = float(np.median(np.abs(np.diff(error, 2))) / (0.6745 * np.sqrt(6.0)))
    return np.where(np.isfinite(se), se, sigma)


def shape_flags(
    sizes: FloatArray,
    error: FloatArray,
    error_se: FloatArray,
    *,
    min_change: float = 0.005,
    saturation: float = 0.005,
    min_anchors: int = 5,
) -> dict[str, str]:
    r"""Detect ill-behaved shapes in a mean-error curve.

    Parameters
    ----------
    sizes, error, error_se : ndarray
        Anchors (increasing), the mean error and its standard error at each (NaN when unknown).
    min_change : float
        Smallest change in error (:math:`\tau_0`, error units) that counts as real.
    saturation : float
        Error at or below which the curve has reached the perfect score.
    min_anchors : int
        Fewer anchors than this are flagged ``few_anchors``.

    Returns
    -------
    dict of str to str
        Flag name to an explanation with the sizes and errors involved; empty for a well-behaved
        curve. Names: ``non_monotone`` (the error rises by more than the tolerance between two
        anchors), ``peaking`` (it rises and then falls again: a bump), ``flat`` (no detectable
        improvement from the first to the last anchor), ``saturated`` (the last error is at the
        perfect score), ``few_anchors``.

    Notes
    -----
    ``non_monotone`` takes the largest rise :math:`e_j - e_i` over all :math:`i < j`;
    ``peaking`` needs an anchor :math:`j` above both the best error before it and the best
    after it, each by more than :math:`\tau`.

    Validated against: hand-built curves of each shape (``tests/curves/test_shape.py``) and the
    LCDB extract in ``tests/curves/data``.
    """
    flags: dict[str, str] = {}
    m = error.size
    noise = _noise(error, error_se)
    tol = np.maximum(min_change, 2.0 * np.sqrt(noise[:, None] ** 2 + noise[None, :] ** 2))
    rise = error[None, :] - error[:, None]
    upper = np.triu(np.ones((m, m), dtype=bool), k=1)
    excess = np.where(upper, rise - tol, -np.inf)
    i, j = np.unravel_index(int(np.argmax(excess)), excess.shape)
    if excess[i, j] > 0:
        flags["non_monotone"] = (
            f"the error rises by {rise[i, j]:.4g} from size {sizes[i]:g} to size {sizes[j]:g} "
            f"(more than the noise tolerance {tol[i, j]:.3g})"
        )
        for k in range(1, m - 1):
            before = int(np.argmin(error[:k]))
            after = k + 1 + int(np.argmin(error[k + 1:]))
            if error[k] - error[before] > tol[before, k] and error[k] - error[after] > tol[k, after]:
                flags["peaking"] = (
                    f"the error peaks at size {sizes[k]:g} ({error[k]:.4g}) between {error[before]:.4g} "
                    f"at size {sizes[before]:g} and {error[after]:.4g} at size {sizes[after]:g}"
                )
                break
    gain = error[0] - error[-1]
    if gain <= tol[0, -1] and np.ptp(error) <= 2 * tol[0, -1]:
        flags["flat"] = (
            f"no detectable improvement: error {error[0]:.4g} at size {sizes[0]:g} and {error[-1]:.4g} at "
            f"size {sizes[-1]:g}"
        )
    if error[-1] <= saturation:
        flags["saturated"] = (
            f"the error at the largest size ({sizes[-1]:g}) is {error[-1]:.4g}, at the perfect score; "
            f"more data cannot show a gain"
        )
    if m < min_anchors:
        flags["few_anchors"] = f"only {m} anchors; choosing a family by held-back anchors is unreliable"
    return {name: flags[name] for name in FLAG_NAMES if name in flags}
