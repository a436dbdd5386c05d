"""Shared pieces of the plot layouts: number formatting, axis ticks and the layout base class.

A layout is a frozen dataclass of plain numbers and strings (often a DataFrame of rows) that says
everything a plot shows. It is computed before anything is drawn, so the static report and the web
dashboard draw the same picture from the same numbers, and tests can check the numbers directly.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from consilience._results import json_safe
from consilience.errors import InputError, MissingDependencyError

__all__ = [
    "MINUS",
    "Layout",
    "check_ax",
    "fmt_num",
    "fmt_p",
    "iter_rows",
    "linear_ticks",
    "log_ticks",
    "z_value",
]

MINUS = "\u2212"
"""The typographic minus sign used in every number the plots print."""


def _fields(obj: Any) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(obj)


class Layout:
    """Mixin of the layout dataclasses: ``to_dict()`` (JSON-safe) and ``to_frame()``."""

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-safe (frames become lists of records, NaN becomes None)."""
        return {f.name: json_safe(getattr(self, f.name)) for f in _fields(self)}

    def to_frame(self) -> pd.DataFrame:
        """The layout's main table (its ``rows`` field, or the first DataFrame field)."""
        for f in _fields(self):
            value = getattr(self, f.name)
            if isinstance(value, pd.DataFrame):
                return value.copy()
        return pd.DataFrame()


def iter_rows(frame: pd.DataFrame) -> Iterator[Any]:
    """The rows of ``frame`` as named tuples (attribute access by column name)."""
    return iter(frame.itertuples(index=False))


def check_ax(ax: Any) -> None:
    """Make sure matplotlib is installed and ``ax`` is a matplotlib Axes or None."""
    try:
        from matplotlib.axes import Axes
    except ImportError as exc:
        raise MissingDependencyError(
            f"The 'matplotlib' package is needed for plots but is not installed ({exc}). "
            f"Install it with: pip install 'consilience[plot]'"
        ) from exc
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(
            f"The 'ax' parameter must be a matplotlib Axes or None. Got {type(ax).__name__} "
            f"instead. Pass ax=None to draw on a new figure."
        )


def z_value(level: float) -> float:
    """Two-sided normal quantile for a confidence ``level`` given as a fraction."""
    return float(stats.norm.isf((1.0 - level) / 2.0))


def fmt_num(value: float, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals and a typographic minus; an en dash for NaN."""
    if value is None or not math.isfinite(value):
        if value is not None and math.isinf(value):
            return f"{MINUS}\u221e" if value < 0 else "\u221e"
        return "\u2013"
    text = f"{value:.{digits}f}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text.replace("-", MINUS)


def fmt_p(p: float) -> str:
    """A p-value as journals print it: ``p < 0.001`` or ``p = 0.023``."""
    if not math.isfinite(p):
        return "p = \u2013"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}"


def linear_ticks(low: float, high: float, nbins: int = 5) -> np.ndarray:
    """Round tick values that cover ``[low, high]`` (matplotlib's MaxNLocator steps)."""
    from matplotlib.ticker import MaxNLocator

    if not (math.isfinite(low) and math.isfinite(high)):
        raise InputError(
            f"cannot place axis ticks on a range with non-finite ends; got [{low}, {high}]."
        )
    if high <= low:
        low, high = low - 0.5, high + 0.5
    ticks = np.asarray(MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high))
    eps = 1e-9 * (high - low)
    first = max(int(np.searchsorted(ticks, low + eps, side="right")) - 1, 0)
    last = min(int(np.searchsorted(ticks, high - eps, side="left")), ticks.size - 1)
    return np.asarray(ticks[first : last + 1], dtype=float)


_DECADES = 10.0 ** np.arange(-4, 5)
_ONE_TWO_FIVE = np.sort(np.r_[_DECADES, 2 * _DECADES, 5 * _DECADES])


def log_ticks(low: float, high: float) -> np.ndarray:
    """Tick positions (on the log scale) of round ratios that cover ``[exp(low), exp(high)]``.

    Ratios come from the 1-2-5 series (0.1, 0.2, 0.5, 1, 2, 5, ...); when that gives more than eight
    ticks, from the powers of ten, so that the ticks stay evenly spread on the log axis.
    """
    lo, hi = math.exp(low), math.exp(high)
    for series in (_ONE_TWO_FIVE, _DECADES):
        below = series[series <= lo * (1 + 1e-9)]
        above = series[series >= hi * (1 - 1e-9)]
        start = below[-1] if below.size else series[0]
        stop = above[0] if above.size else series[-1]
        chosen = series[(series >= start) & (series <= stop)]
        if chosen.size <= 8:
            break
    return np.asarray(np.log(chosen), dtype=float)


def fmt_tick(value: float, exponentiate: bool = False) -> str:
    """Shortest clean label of a tick (``0.25``, ``1``, ``2.5``), exponentiated on request."""
    v = math.exp(value) if exponentiate else value
    text = f"{v:.6g}"
    if "e" in text:
        text = f"{v:.2g}"
    return text.replace("-", MINUS)
