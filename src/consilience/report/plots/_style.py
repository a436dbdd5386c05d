"""The shared look of the plots: colours, type sizes, text measurement and figure creation.

Everything visual that two plots have in common lives here, so that the figures of a report look
like one family. Figures are created in one place (:func:`new_axes`), and only when the caller
passes no Axes.
"""

from __future__ import annotations

import functools

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "ACCENT",
    "BAND",
    "FONT",
    "GRID",
    "HIGHLIGHT",
    "INK",
    "MUTED",
    "SMALL",
    "arm_colors",
    "new_axes",
    "spines",
    "text_width",
]

INK = "#1a1a1a"
"""Text, markers and the main lines."""
MUTED = "#707070"
"""Secondary text, reference lines and observed-data markers of lesser weight."""
GRID = "#e3e3e3"
"""Grid lines."""
ACCENT = "#1f4e79"
"""Pooled estimates, fitted curves and the plot's one highlighted quantity."""
BAND = "#9ecae1"
"""Shaded uncertainty bands (with transparency)."""
HIGHLIGHT = "#c0392b"
"""Targets, thresholds and recommendations."""
FONT = 9.0
"""Body text size in points."""
SMALL = 8.0
"""Size of annotations, notes and tick labels in points."""

# Okabe-Ito (colour-blind safe; its pale yellow last) for up to 8 arms, tab20 for more.
_QUALITATIVE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#000000",
    "#F0E442",
)
_EXTRA = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)


def arm_colors(names: Sequence[str]) -> dict[str, str]:
    """One colour per name, in order: Okabe-Ito for up to 8, tab20 for more."""
    palette = _QUALITATIVE if len(names) <= len(_QUALITATIVE) else _EXTRA
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def text_width(text: str, size: float = FONT, *, weight: str = "normal") -> float:
    """Width of ``text`` in points at font ``size``, measured on the glyph outlines.

    Backend-independent, so layouts can reserve room for text columns before any figure exists.
    Each distinct character is measured once (cached), so a table of hundreds of rows costs a
    few dictionary look-ups per label; kerning pairs are ignored, which changes a width by well
    under one character.
    """
    if not text:
        return 0.0
    return float(sum(_char_width(ch, float(size), weight) for ch in text))


@functools.lru_cache(maxsize=8192)
def _char_width(ch: str, size: float, weight: str) -> float:
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    prop = FontProperties(size=size, weight=weight)
    # Measure between two "|" so that a space has its advance width.
    full = TextPath((0, 0), f"|{ch}|", size=size, prop=prop).get_extents().width
    bars = TextPath((0, 0), "||", size=size, prop=prop).get_extents().width
    return float(full - bars)


def new_axes(
    width: float,
    height: float,
    *,
    left: float = 0.6,
    right: float = 0.25,
    top: float = 0.25,
    bottom: float = 0.55,
) -> Axes:
    """A new figure of ``width`` x ``height`` inches holding one Axes with the given margins.

    Margins are in inches, so the plotting area stays the same size whatever text surrounds it.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height))
    rect = (
        left / width,
        bottom / height,
        max(width - left - right, 0.5) / width,
        max(height - top - bottom, 0.5) / height,
    )
    return fig.add_axes(rect)


def spines(ax: Axes, *, keep: Sequence[str] = ("bottom", "left")) -> None:
    """Show only the spines in ``keep``, in the muted colour, with outward ticks."""
    for name, spine in ax.spines.items():
        spine.set_visible(name in keep)
        spine.set_color(MUTED)
        spine.set_linewidth(0.8)
    ax.tick_params(colors=INK, labelsize=SMALL, direction="out", length=3, width=0.8, color=MUTED)
