"""Input checks shared by the multilevel and Bayesian models: effects, variances, missing rows."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from consilience._validation import as_float_vector, describe_rows
from consilience.errors import DataDroppedWarning, InputError

__all__ = ["drop_missing_effects", "effect_vectors"]


def effect_vectors(yi: Any, vi: Any) -> tuple[np.ndarray, np.ndarray]:
    """``yi`` and ``vi`` as float vectors (NaN kept), refusing vectors of different lengths."""
    y = as_float_vector("yi", yi)
    v = as_float_vector("vi", vi)
    if y.shape != v.shape:
        raise InputError(
            f"'yi' and 'vi' must have the same length; got {y.size} and "
            f"{v.size}. Pass one sampling variance per effect."
        )
    return y, v


def drop_missing_effects(y: np.ndarray, v: np.ndarray, *, stacklevel: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Refuse ``vi <= 0``; find the rows with a missing ``yi`` or ``vi`` and warn once about them.

    Returns the mask of the rows kept and the warning's text (empty when none is dropped);
    ``stacklevel`` is the one the caller would give :func:`warnings.warn` itself.
    """
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise InputError(
            f"'vi' must be > 0; got {v[bad[0]]} at {describe_rows(bad)}. Pass sampling "
            "variances (SE²), not standard errors, and check for degenerate effects."
        )
    missing = np.isnan(y) | np.isnan(v)
    if not missing.any():
        return ~missing, ()
    msg = (
        f"{int(missing.sum())} effect(s) with missing yi or vi omitted "
        f"({describe_rows(np.flatnonzero(missing))})."
    )
    warnings.warn(msg, DataDroppedWarning, stacklevel=stacklevel + 1)
    return ~missing, (msg,)
