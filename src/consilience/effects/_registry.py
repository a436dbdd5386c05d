"""The registry of effect-size measures: measure code -> the arguments it needs and its formula.

Each family module (``continuous``, ``binary``, ``proportions``, ``correlations``, ``paired``)
describes its measures with :class:`Measure` and calls :func:`register` at import time. The public
function :func:`consilience.effects.effect_sizes` validates the inputs once, from these
declarations, and then calls ``Measure.compute`` on clean float arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ARGUMENTS",
    "MEASURES",
    "Bound",
    "ComputeFn",
    "FloatArray",
    "Measure",
    "Split",
    "To",
    "ZeroCellOptions",
    "register",
]

FloatArray = npt.NDArray[np.float64]

To = Literal["only0", "all", "if0all", "none"]
"""When ``add`` is added to the cells of a table (metafor's ``to``)."""

Bound = Literal["nonnegative", "positive", "correlation"]
"""Value rule of one argument: ``>= 0``, ``> 0`` or ``-1 <= x <= 1``."""

ARGUMENTS: tuple[str, ...] = (
    "ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "sd1i", "m2i", "sd2i", "xi", "mi", "ni", "ri",
)  # fmt: skip
"""Every data argument of :func:`~consilience.effects.effect_sizes`, named as in metafor's escalc."""


@dataclass(frozen=True)
class ZeroCellOptions:
    """How counts with zero cells are corrected (metafor's ``add``, ``to`` and ``drop00``)."""

    add: float = 0.5
    to: To = "only0"
    drop00: bool = False


@dataclass(frozen=True)
class Split:
    """A total split into two counts, ``part + complement = total`` (e.g. ``ai + bi = n1i``).

    A measure that declares a split accepts either the complement or the total; the other is
    derived, and both are checked against each other when both are given.
    """

    part: str
    complement: str
    total: str


ComputeFn = Callable[[Mapping[str, FloatArray], ZeroCellOptions], tuple[FloatArray, FloatArray]]
"""``compute(x, options) -> (yi, vi)``; ``x`` holds every argument of the measure as float arrays
of one common length, splits already completed. May return NaN or +-inf for undefined rows."""


@dataclass(frozen=True)
class Measure:
    """One effect-size measure: what it needs, the value rules of its inputs, and its formula.

    Attributes
    ----------
    code : str
        metafor's measure code (``"SMD"``).
    description : str
        One line naming the measure.
    required : tuple of str
        Arguments that must always be given.
    splits : tuple of Split
        Counts given either as the complement or as the total (``bi`` or ``n1i``).
    bounds : mapping of str to Bound
        Value rule per argument; arguments not listed may take any finite value.
    compute : ComputeFn
        The formula, vectorised over studies.
    """

    code: str
    description: str
    required: tuple[str, ...]
    compute: ComputeFn
    splits: tuple[Split, ...] = ()
    bounds: Mapping[str, Bound] = field(default_factory=dict)

    @property
    def arguments(self) -> tuple[str, ...]:
        """Every argument the measure accepts, in the order of :data:`ARGUMENTS`."""
        names = set(self.required)
        for s in self.splits:
            names.update((s.part, s.complement, s.total))
        return tuple(a for a in ARGUMENTS if a in names)

    def needs(self) -> str:
        """The arguments the measure needs, for error messages (``"ai, ci, bi or n1i, ..."``)."""
        parts = list(self.required)
        parts += [f"{s.complement} or {s.total}" for s in self.splits]
        return ", ".join(parts)


_MEASURES: dict[str, Measure] = {}

MEASURES: Mapping[str, Measure] = MappingProxyType(_MEASURES)
"""Read-only view of the registered measures, keyed by measure code."""


def register(measure: Measure) -> Measure:
    """Add ``measure`` to the registry; a code can be registered only once."""
    if measure.code in _MEASURES:
        raise ValueError(f"measure {measure.code!r} is already registered")
    unknown = [a for a in (*measure.required, *measure.bounds) if a not in ARGUMENTS]
    if unknown:
        raise ValueError(f"measure {measure.code!r} names unknown arguments {unknown}")
    _MEASURES[measure.code] = measure
    return measure
