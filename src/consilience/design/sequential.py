"""Group-sequential boundaries by Lan-DeMets alpha spending, computed by recursive integration.

Looking at results as seeds or tasks come in, and stopping when they look good, inflates the
false-positive rate unless each look uses a stricter threshold. Alpha spending fixes how much
of the type-I error each look may use; the boundaries follow exactly from the joint normal
distribution of the z statistics at the looks (Armitage, McPherson & Rowe 1969).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import as_float_vector, check_choice
from consilience.design._common import FloatArray, check_probability
from consilience.errors import InputError

__all__ = ["GroupSequentialDesign", "spending_boundaries", "spending_function"]

Spending = Literal["obf", "pocock"]
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_LOWER = 14.0  # the grid starts this many standard deviations below the drift
_PANEL = 1.0  # panel width in units of the narrowest relevant transition standard deviation
_CHUNK = 512  # rows of the transition matrix built at once (bounds memory for close looks)


def spending_function(t: Any, *, alpha: float, spending: Spending) -> FloatArray:
    """Cumulative one-sided alpha spent by information fraction ``t`` (Lan & DeMets 1983).

    ``obf``: :math:`2(1 - \\Phi(z_{1-\\alpha/2}/\\sqrt{t}))`; ``pocock``:
    :math:`\\alpha \\log(1 + (e - 1)t)`.

    Validated against: R rpact 3.3.4 ``getDesignGroupSequential(...)$alphaSpent``.
    """
    tt = np.asarray(t, dtype=float)
    if spending == "obf":
        return np.asarray(
            2.0 * stats.norm.sf(stats.norm.isf(alpha / 2.0) / np.sqrt(tt)), dtype=float
        )
    return np.asarray(alpha * np.log1p((np.e - 1.0) * tt), dtype=float)


def _grid(low: float, high: float, width: float) -> tuple[FloatArray, FloatArray]:
    """Composite 12-point Gauss-Legendre nodes and weights on [low, high], panels <= width."""
    panels = max(1, int(np.ceil((high - low) / width)))
    edges = np.linspace(low, high, panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    x = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
    w = (half[:, None] * _GL_W[None, :]).ravel()
    return x, w


def _tails(b: float, a: float, mu: FloatArray, s: float, mass: FloatArray) -> tuple[float, float]:
    """Probabilities of landing above ``b`` and below ``a`` from the weighted points ``mu``."""
    return float(mass @ stats.norm.sf((b - mu) / s)), float(mass @ stats.norm.cdf((a - mu) / s))


def _crossing(
    t: FloatArray,
    upper: FloatArray,
    lower: FloatArray,
    drift: float,
    solve: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Recursive integration over the looks.

    Returns per-look probabilities of first crossing the upper and the lower boundary, and the
    boundaries used. Where ``solve`` is given (target upper+lower crossing per look), the
    boundary at that look is found first (symmetric when ``lower`` is -upper, i.e. NaN input
    marks 'mirror the upper boundary').
    """
    k = t.size
    up = upper.copy()
    lo = lower.copy()
    cross_up = np.zeros(k)
    cross_lo = np.zeros(k)
    mirror = np.isnan(lo)
    dt = np.diff(np.concatenate([[0.0], t]))
    # Panels of the grid for Z_j are no wider than the scale on which its sub-density varies
    # (sd of the transition into look j) nor than the kernel of the transition out of it.
    sd_in = np.sqrt(dt / t)
    sd_out = np.append(np.sqrt(dt[1:] / t[:-1]), np.inf)
    widths = np.minimum(_PANEL * np.minimum(sd_in, sd_out), 0.5)
    nodes = weights = dens = np.zeros(0)
    for j in range(k):
        if j == 0:
            # Z_1 ~ N(drift sqrt(t_1), 1): a transition from a point mass at 0
            mu, s, mass = np.array([drift * np.sqrt(t[0])]), 1.0, np.array([1.0])
        else:
            mu = nodes * np.sqrt(t[j - 1] / t[j]) + drift * dt[j] / np.sqrt(t[j])
            s = float(np.sqrt(dt[j] / t[j]))
            mass = weights * dens

        if solve is not None:
            target = float(solve[j])

            def excess(
                b: float,
                j: int = j,
                mu: FloatArray = mu,
                s: float = s,
                mass: FloatArray = mass,
                target: float = target,
            ) -> float:
                a = -b if mirror[j] else lo[j]
                hi_p, lo_p = _tails(b, a, mu, s, mass)
                return hi_p + lo_p - target

            up[j] = float(
                optimize.brentq(
                    excess, -8.0 if not mirror[j] else 0.0, 60.0, xtol=1e-15, rtol=1e-15
                )
            )
        if mirror[j]:
            lo[j] = -up[j]
        cross_up[j], cross_lo[j] = _tails(up[j], lo[j], mu, s, mass)
        if j + 1 < k:
            floor = drift * np.sqrt(t[j]) - _LOWER
            a = max(lo[j], floor)
            new_nodes, new_w = _grid(a, up[j], float(widths[j]))
            dens = (
                np.concatenate(
                    [
                        stats.norm.pdf((new_nodes[i : i + _CHUNK, None] - mu[None, :]) / s) @ mass
                        for i in range(0, new_nodes.size, _CHUNK)
                    ]
                )
                / s
            )
            nodes, weights = new_nodes, new_w
    return cross_up, cross_lo, up


@dataclass(frozen=True)
class GroupSequentialDesign:
    """Efficacy boundaries for a group-sequential test at given information fractions.

    Attributes
    ----------
    looks : ndarray
        Information fractions of the looks, increasing, the last usually 1.
    boundary : ndarray
        z boundary per look: stop for efficacy when ``z >= boundary`` (or ``|z| >= boundary``
        when two-sided).
    nominal_alpha : ndarray
        One look's own p-value threshold, ``1 - Phi(boundary)`` (doubled when two-sided).
    alpha_spent : ndarray
        Cumulative type-I error spent by each look (spending function, both sides).
    alpha : float
        Total type-I error (two-sided designs split it equally between the sides).
    spending : str
        ``obf`` (O'Brien-Fleming-type) or ``pocock`` (Pocock-type).
    sided : int
        1 or 2.
    provenance : Provenance
    """

    looks: FloatArray
    boundary: FloatArray
    nominal_alpha: FloatArray
    alpha_spent: FloatArray
    alpha: float
    spending: str
    sided: int
    provenance: Provenance | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        b = ", ".join(f"{v:.3f}" for v in self.boundary)
        return f"<GroupSequentialDesign {self.spending} sided={self.sided} alpha={self.alpha:g} z=[{b}]>"

    def crossing_probabilities(self, drift: float = 0.0) -> FloatArray:
        """Probability of stopping for efficacy at each look when the z statistic at the final
        look has mean ``drift`` (0 under the null hypothesis); sums to the power."""
        lower = -self.boundary if self.sided == 2 else np.full(self.boundary.shape, -np.inf)
        up, low, _ = _crossing(self.looks, self.boundary, lower, float(drift))
        return up + low if self.sided == 2 else up

    def drift_for_power(self, power: float = 0.8) -> float:
        """Drift (mean of the final z statistic under the alternative) that gives ``power``."""
        pw = check_probability("power", power, hint="Pass e.g. power=0.8.")
        return float(
            optimize.brentq(
                lambda d: float(np.sum(self.crossing_probabilities(d))) - pw, 0.0, 40.0, xtol=1e-13
            )
        )

    def inflation_factor(self, power: float = 0.8) -> float:
        """Maximum information (seeds, examples) relative to a fixed design with the same power."""
        a = self.alpha / self.sided
        fixed = stats.norm.isf(a) + stats.norm.isf(1.0 - check_probability("power", power, hint=""))
        return float((self.drift_for_power(power) / fixed) ** 2)

    def monitor(self, z: Any) -> pd.DataFrame:
        """Recommend per look: ``stop`` once a z statistic crosses its boundary, else ``continue``.

        Columns ``look, information, statistic, boundary, nominal_alpha, recommend``.
        """
        zz = as_float_vector("z", z)
        if zz.size > self.looks.size:
            raise InputError(
                f"'z' has {zz.size} values but the design has {self.looks.size} looks. "
                f"Pass one z statistic per look taken so far."
            )
        b = self.boundary[: zz.size]
        hit = np.abs(zz) >= b if self.sided == 2 else zz >= b
        stopped = np.cumsum(hit) > 0
        return pd.DataFrame(
            {
                "look": np.arange(1, zz.size + 1),
                "information": self.looks[: zz.size],
                "statistic": zz,
                "boundary": b,
                "nominal_alpha": self.nominal_alpha[: zz.size],
                "recommend": np.where(stopped, "stop", "continue"),
            }
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per look: ``look, information, boundary, nominal_alpha, alpha_spent``."""
        return pd.DataFrame(
            {
                "look": np.arange(1, self.looks.size + 1),
                "information": self.looks,
                "boundary": self.boundary,
                "nominal_alpha": self.nominal_alpha,
                "alpha_spent": self.alpha_spent,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "looks": json_safe(self.looks),
            "boundary": json_safe(self.boundary),
            "nominal_alpha": json_safe(self.nominal_alpha),
            "alpha_spent": json_safe(self.alpha_spent),
            "alpha": self.alpha,
            "spending": self.spending,
            "sided": self.sided,
            "provenance": self.provenance.to_dict() if self.provenance is not None else None,
        }

    def summary(self) -> Summary:
        name = {"obf": "O'Brien-Fleming-type", "pocock": "Pocock-type"}[self.spending]
        return Summary(
            title=f"Group-sequential boundaries ({name} alpha spending)",
            lines=[("alpha", self.alpha), ("sided", self.sided), ("looks", self.looks.size)],
            tables=[("boundaries", self.to_frame())],
        )


def spending_boundaries(
    looks: Any,
    *,
    alpha: float = 0.025,
    spending: Spending = "obf",
    sided: Literal[1, 2] = 1,
) -> GroupSequentialDesign:
    """Efficacy boundaries for looks at arbitrary information fractions (Lan-DeMets spending).

    Parameters
    ----------
    looks : sequence of float
        Information fractions in (0, 1], strictly increasing (e.g. ``[0.5, 0.75, 1]``: after
        half, three quarters and all of the planned seeds).
    alpha : float
        Total type-I error; one-sided by default (0.025 matches a two-sided 0.05 test).
    spending : {'obf', 'pocock'}
        O'Brien-Fleming-type (strict early, close to the fixed test at the end) or Pocock-type.
    sided : {1, 2}
        Two-sided designs spend ``alpha / 2`` on each side with symmetric boundaries.

    Returns
    -------
    GroupSequentialDesign
        ``looks``, ``boundary``, ``nominal_alpha``, ``alpha_spent``, ``alpha``, ``spending``,
        ``sided``, ``provenance``; methods ``crossing_probabilities``, ``drift_for_power``,
        ``inflation_factor`` and ``monitor``.

    Notes
    -----
    :math:`S(t) = Z(t)\\sqrt{t}` is Brownian motion with drift, so given :math:`Z_{j-1} = u`,
    :math:`Z_j \\sim N(u\\sqrt{t_{j-1}/t_j} + \\eta\\Delta_j/\\sqrt{t_j},\\ \\Delta_j/t_j)`.
    The sub-density of :math:`Z_j` on the continuation region is propagated look by look
    (composite 12-point Gauss-Legendre quadrature, panels no wider than the standard deviation
    of the transitions into and out of the look), and each boundary solves
    :math:`P(\\text{first crossing at look } j) = \\alpha(t_j) - \\alpha(t_{j-1})` by Brent's
    method. One-sided spending :math:`\\alpha(t)` is :func:`spending_function`.

    References
    ----------
    Armitage, P., McPherson, C. K. & Rowe, B. C. (1969). Repeated significance tests on
    accumulating data. *JRSS A* 132(2), 235-244.
    Lan, K. K. G. & DeMets, D. L. (1983). Discrete sequential boundaries for clinical trials.
    *Biometrika* 70(3), 659-663.
    Jennison, C. & Turnbull, B. W. (2000). *Group Sequential Methods with Applications to
    Clinical Trials*, ch. 19.

    Validated against: R rpact 3.3.4 ``getDesignGroupSequential(typeOfDesign = "asOF"/"asP")``
    critical values and ``getDesignCharacteristics()`` inflation factor and power; published
    one-sided 0.025 O'Brien-Fleming-type boundaries 2.963, 2.359, 2.014 at 0.5, 0.75, 1.
    """
    a = check_probability("alpha", alpha, hint="Pass e.g. alpha=0.025 (one-sided).")
    sp = check_choice("spending", spending, ("obf", "pocock"))
    if sided not in (1, 2) or isinstance(sided, bool):
        raise InputError(f"The 'sided' parameter must be 1 or 2. Got {sided!r} instead.")
    t = as_float_vector("looks", looks)
    if (
        t.size == 0
        or np.any(np.isnan(t))
        or np.any(t <= 0)
        or np.any(t > 1)
        or np.any(np.diff(t) <= 0)
    ):
        raise InputError(
            f"'looks' must be strictly increasing information fractions in (0, 1]; got {t.tolist()}. "
            f"Pass e.g. 0.5,0.75,1 (the share of the planned seeds or examples seen at each look)."
        )
    side_alpha = a / sided
    spent_side = spending_function(t, alpha=side_alpha, spending=sp)  # type: ignore[arg-type]
    increments = np.diff(np.concatenate([[0.0], spent_side])) * sided
    lower = np.full(t.shape, np.nan) if sided == 2 else np.full(t.shape, -np.inf)
    _, _, boundary = _crossing(t, np.zeros(t.shape), lower, 0.0, solve=increments)
    nominal = stats.norm.sf(boundary) * sided
    prov = Provenance(
        method=f"Lan-DeMets alpha spending ({sp}), recursive integration",
        k=0,
        options={"alpha": a, "spending": sp, "sided": sided},
        input_hash=input_hash(t),
    )
    return GroupSequentialDesign(
        looks=t,
        boundary=np.asarray(boundary, dtype=float),
        nominal_alpha=np.asarray(nominal, dtype=float),
        alpha_spent=np.asarray(spent_side * sided, dtype=float),
        alpha=a,
        spending=sp,
        sided=int(sided),
        provenance=prov,
    )
