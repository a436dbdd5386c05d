"""Checks at the public boundary: one place, one message template.

Messages follow the house template: the input, the rule, what was received, and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from consilience.errors import InputError

__all__ = ["as_float_vector", "check_choice", "check_level", "describe_rows", "require_columns"]


def check_choice(name: str, value: Any, options: Iterable[str], *, aliases: dict[str, str] | None = None) -> str:
    """Return ``value`` (normalised through ``aliases``) if it is one of ``options``."""
    opts = list(options)
    if not isinstance(value, str):
        raise TypeError(f"The '{name}' parameter must be a string, one of {opts}. Got {value!r} instead.")
    key = value
    if aliases and key in aliases:
        key = aliases[key]
    if key not in opts:
        upper = {o.upper(): o for o in opts}
        if key.upper() in upper:
            return upper[key.upper()]
        raise InputError(f"The '{name}' parameter must be one of {opts}. Got {value!r} instead.")
    return key


def describe_rows(idx: Sequence[int] | np.ndarray, labels: Sequence[Any] | None = None, limit: int = 5) -> str:
    """Human-readable list of row positions (0-based in, shown 0-based with optional labels)."""
    idx = [int(i) for i in np.asarray(idx).ravel()]
    parts = []
    for i in idx[:limit]:
        if labels is not None:
            parts.append(f"row {i} ({labels[i]!r})")
        else:
            parts.append(f"row {i}")
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return ", ".join(parts) + more


def as_float_vector(name: str, values: Any, *, labels: Sequence[Any] | None = None) -> np.ndarray:
    """Convert ``values`` to a 1-D float array, refusing non-numeric data with a named error.

    NaN is kept (callers decide whether to drop it); infinities are refused.
    """
    if isinstance(values, (str, bytes)):
        raise TypeError(f"'{name}' must be a sequence of numbers; got a string {values!r}.")
    if isinstance(values, pd.Series):
        series = values
    else:
        arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
        if arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != 1:
            raise InputError(f"'{name}' must be one-dimensional; got an array of shape {arr.shape}. Pass one value per study.")
        series = pd.Series(arr)
    if series.dtype.kind in "biuf":
        out = series.to_numpy(dtype=float)
    else:
        coerced = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(coerced.isna().to_numpy() & series.notna().to_numpy())
        if bad.size:
            first = series.iloc[bad[0]]
            raise InputError(
                f"'{name}' must be numeric; got {first!r} at {describe_rows(bad, labels)}. "
                f"Convert the column to numbers (or mark missing values as NaN)."
            )
        out = coerced.to_numpy(dtype=float)
    inf = np.flatnonzero(np.isinf(out))
    if inf.size:
        raise InputError(
            f"'{name}' must be finite; got {out[inf[0]]} at {describe_rows(inf, labels)}. "
            f"Remove or correct these studies (an infinite effect usually means a zero cell or a zero variance upstream)."
        )
    return out


def check_level(level: float) -> float:
    """Accept a confidence level as percent (95) or fraction (0.95); return the fraction."""
    if isinstance(level, bool) or not isinstance(level, (int, float, np.integer, np.floating)):
        raise TypeError(f"The 'level' parameter must be a number such as 95 or 0.95. Got {level!r} instead.")
    lv = float(level)
    if lv > 1:
        lv = lv / 100.0
    if not (0.0 < lv < 1.0):
        raise InputError(f"The 'level' parameter must lie in (0, 100) percent. Got {level!r} instead. Use e.g. level=95.")
    return lv


def require_columns(frame: pd.DataFrame, columns: Iterable[str], *, what: str = "data") -> None:
    """Raise a named error when any of ``columns`` is missing from ``frame``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} has no column(s) {missing}. Available columns: {list(map(str, frame.columns))}. "
            f"Pass the right column names."
        )
