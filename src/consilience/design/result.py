"""The result of every power calculation: one frozen dataclass, one face."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, json_safe
from consilience.design._common import FloatArray

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["PowerResult"]

_COLUMNS = [
    "effect",
    "effect_size",
    "n",
    "n_required",
    "k",
    "k_required",
    "power",
    "alpha",
    "alternative",
]


def _flat(value: float | FloatArray, size: int) -> FloatArray:
    arr = np.asarray(value, dtype=float).ravel()
    return np.broadcast_to(arr, (size,)) if arr.size == 1 else arr


@dataclass(frozen=True)
class PowerResult:
    """Power, sample size and minimum detectable effect of one test design.

    Scalars when every input was a scalar; arrays of one common shape when any input was an
    array (a power curve).

    Attributes
    ----------
    test : str
        ``ttest``, ``paired``, ``proportions``, ``mcnemar``, ``meta`` or ``meta_experiment``.
    solved_for : str
        The quantity that was passed as ``None``: ``power``, ``n``, ``effect``, ``k``.
    effect : float or ndarray
        The effect in the units of the metric (difference in means, in accuracy, ...).
    effect_size : float or ndarray
        The standardised effect the test works with (Cohen's d, d_z, Cohen's h, ...).
    n : float or ndarray
        Sample size in the test's unit (seeds per arm, pairs, test examples per arm, seeds per
        task); continuous when solved for.
    n_required : float or ndarray
        ``ceil(n)``: the whole number of units to plan for.
    k, k_required : float or ndarray
        Number of tasks (meta-analysis only; NaN otherwise) and its ceiling.
    power : float or ndarray
        Probability of rejecting the null hypothesis when the effect is real.
    alpha : float
        Type-I error rate (two-sided tests split it between the tails).
    alternative : str
        ``two-sided``, ``larger`` or ``smaller``.
    parameters : Mapping
        The design parameters that are neither solved for nor swept (sd, rho, ratio, ...).
    provenance : Provenance
        Method, options and input hash.
    """

    test: str
    solved_for: str
    effect: float | FloatArray
    effect_size: float | FloatArray
    n: float | FloatArray
    n_required: float | FloatArray
    k: float | FloatArray
    k_required: float | FloatArray
    power: float | FloatArray
    alpha: float
    alternative: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    provenance: Provenance | None = None

    @property
    def size(self) -> int:
        """Number of design points (1 for a scalar calculation)."""
        sizes = [np.size(v) for v in (self.effect, self.n, self.k, self.power)]
        return int(max(sizes))

    def __repr__(self) -> str:
        if self.size == 1:
            parts = [
                f"{name}={float(np.ravel(getattr(self, name))[0]):.4g}"
                for name in ("effect", "n", "k", "power")
                if np.isfinite(np.ravel(getattr(self, name))[0])
            ]
            body = " ".join(parts)
        else:
            body = f"points={self.size}"
        return f"<PowerResult {self.test} solved={self.solved_for} {body} alpha={self.alpha:g} {self.alternative}>"

    def to_frame(self) -> pd.DataFrame:
        """One row per design point with columns ``effect, effect_size, n, n_required, k,
        k_required, power, alpha, alternative``."""
        size = self.size
        data: dict[str, Any] = {
            name: _flat(getattr(self, name), size)
            for name in ("effect", "effect_size", "n", "n_required", "k", "k_required", "power")
        }
        data["alpha"] = np.full(size, self.alpha)
        data["alternative"] = [self.alternative] * size
        return pd.DataFrame(data, columns=_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (arrays become lists, NaN becomes None)."""
        return {
            "test": self.test,
            "solved_for": self.solved_for,
            "effect": json_safe(self.effect),
            "effect_size": json_safe(self.effect_size),
            "n": json_safe(self.n),
            "n_required": json_safe(self.n_required),
            "k": json_safe(self.k),
            "k_required": json_safe(self.k_required),
            "power": json_safe(self.power),
            "alpha": self.alpha,
            "alternative": self.alternative,
            "parameters": json_safe(dict(self.parameters)),
            "provenance": self.provenance.to_dict() if self.provenance is not None else None,
        }

    def summary(self) -> Summary:
        """Key-value lines for a single design, or a table for a power curve."""
        title = f"Power analysis: {self.test} (solved for {self.solved_for})"
        params = [
            (str(k), v)
            for k, v in self.parameters.items()
            if not isinstance(v, (list, tuple, dict))
        ]
        notes = list(self.provenance.warnings) if self.provenance is not None else []
        if self.size == 1:
            row = self.to_frame().iloc[0]
            lines = [
                (c, row[c])
                for c in _COLUMNS
                if not (isinstance(row[c], float) and np.isnan(row[c]))
            ]
            return Summary(title=title, lines=lines + params, notes=notes)
        return Summary(
            title=title,
            lines=[("alpha", self.alpha), ("alternative", self.alternative)] + params,
            tables=[("power curve", self.to_frame())],
            notes=notes,
        )

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Power curve with the target power and the recommended size; ``options`` are the keywords
        of :func:`consilience.report.plots.power_plot` (target)."""
        from consilience.report.plots import power_plot

        return power_plot(self, ax, **options)
