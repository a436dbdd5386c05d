"""Priors for the between-task standard deviation tau of the Bayesian random-effects model.

A prior is a frozen object with an (unnormalised) log density on ``tau > 0``, the upper end of its
support, and the power laws of its density at zero and at infinity. The power laws let the
posterior be checked for propriety and its moments for existence before any integration:
a density behaving like ``tau^a`` near infinity, times a likelihood behaving like ``tau^b``, is
integrable only if ``a + b < -1``.

Names accepted by :func:`make_tau_prior` and :func:`parse_tau_prior` (also the CLI's ``--tau-prior``):
``half-normal[:scale]``, ``half-cauchy[:scale]`` and ``uniform:upper``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from consilience.errors import InputError

__all__ = [
    "DEFAULT_TAU_SCALE",
    "TAU_PRIOR_NAMES",
    "CustomTauPrior",
    "HalfCauchyPrior",
    "HalfNormalPrior",
    "TauPrior",
    "UniformPrior",
    "check_mu_prior",
    "describe_mu_prior",
    "existing_moments",
    "make_tau_prior",
    "parse_tau_prior",
    "posterior_tail_exponent",
]

TAU_PRIOR_NAMES = ("half-normal", "half-cauchy", "uniform")
DEFAULT_TAU_SCALE = 0.5
_ALIASES = {
    "halfnormal": "half-normal",
    "half_normal": "half-normal",
    "hn": "half-normal",
    "halfcauchy": "half-cauchy",
    "half_cauchy": "half-cauchy",
    "hc": "half-cauchy",
    "unif": "uniform",
}


def _check_scale(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"The 'tau_scale' parameter must be a number. Got {value!r} instead.")
    x = float(value)
    if not (math.isfinite(x) and x > 0):
        raise InputError(
            f"The 'tau_scale' parameter must be > 0 and finite; got {value!r}. It is the {what}, "
            "on the scale of tau (the units of yi), e.g. 0.5."
        )
    return x


class TauPrior(ABC):
    """A prior density for tau on ``(0, upper)``; it need not be normalised."""

    upper: float = math.inf

    @abstractmethod
    def log_density(self, tau: np.ndarray) -> np.ndarray:
        """Unnormalised log density at ``tau > 0`` (``-inf`` outside the support)."""

    @abstractmethod
    def describe(self) -> str:
        """Short text such as ``half-normal(scale=0.5)``."""

    def power_laws(self, ref: float) -> tuple[float, float]:
        """Exponents ``(a0, a_inf)`` with density ~ ``tau^a0`` at 0 and ~ ``tau^a_inf`` at infinity.

        ``a_inf`` is ``-inf`` when the density falls faster than every power or has bounded
        support. ``ref`` is a typical tau (used only by numerical estimates).
        """
        return 0.0, -math.inf


@dataclass(frozen=True)
class HalfNormalPrior(TauPrior):
    """Half-normal prior: density ∝ exp(-tau² / (2 scale²)) on tau > 0."""

    scale: float = DEFAULT_TAU_SCALE

    def __post_init__(self) -> None:
        _check_scale(self.scale, "half-normal prior's scale")

    def log_density(self, tau: np.ndarray) -> np.ndarray:
        return -0.5 * (tau / self.scale) ** 2

    def describe(self) -> str:
        return f"half-normal(scale={self.scale:g})"


@dataclass(frozen=True)
class HalfCauchyPrior(TauPrior):
    """Half-Cauchy prior: density ∝ 1 / (1 + (tau / scale)²) on tau > 0."""

    scale: float = DEFAULT_TAU_SCALE

    def __post_init__(self) -> None:
        _check_scale(self.scale, "half-Cauchy prior's scale")

    def log_density(self, tau: np.ndarray) -> np.ndarray:
        return -np.log1p((tau / self.scale) ** 2)

    def describe(self) -> str:
        return f"half-cauchy(scale={self.scale:g})"

    def power_laws(self, ref: float) -> tuple[float, float]:
        return 0.0, -2.0


@dataclass(frozen=True)
class UniformPrior(TauPrior):
    """Uniform prior on ``(0, upper)``."""

    upper: float = DEFAULT_TAU_SCALE

    def __post_init__(self) -> None:
        _check_scale(self.upper, "uniform prior's upper bound")

    def log_density(self, tau: np.ndarray) -> np.ndarray:
        return np.where(tau <= self.upper, 0.0, -np.inf)

    def describe(self) -> str:
        return f"uniform(0, {self.upper:g})"


@dataclass(frozen=True)
class CustomTauPrior(TauPrior):
    """A user density (vectorised, non-negative, need not integrate to 1) on ``(0, upper)``.

    Its power laws at zero and infinity are estimated from the density at ``ref·1e-10``,
    ``ref·1e-8`` and ``ref·1e8``, ``ref·1e10``: a density that is not a power law there (e.g. one
    that oscillates) can defeat the propriety check.
    """

    density: Callable[[np.ndarray], np.ndarray]
    upper: float = math.inf
    name: str = "custom"

    def __post_init__(self) -> None:
        if not callable(self.density):
            raise TypeError(
                f"The 'tau_prior' density must be callable. Got {self.density!r} instead."
            )
        if not (self.upper > 0):
            raise InputError(
                f"The custom prior's 'upper' must be > 0; got {self.upper!r}. Pass the upper end of tau's "
                "support, or leave it at math.inf for no bound."
            )

    def _values(self, tau: np.ndarray) -> np.ndarray:
        out = np.asarray(self.density(tau), dtype=float)
        if out.shape != tau.shape:
            raise InputError(
                f"The 'tau_prior' density must be vectorised: called on an array of shape "
                f"{tau.shape} it returned shape {out.shape}. Use numpy operations (np.exp, ...)."
            )
        bad = ~np.isfinite(out) | (out < 0)
        if bad.any():
            raise InputError(
                f"The 'tau_prior' density must be finite and >= 0; got {out[bad][0]!r} at "
                f"tau={tau[bad][0]:.6g}. Return a density, not a log density."
            )
        return out

    def log_density(self, tau: np.ndarray) -> np.ndarray:
        vals = self._values(tau)
        with np.errstate(divide="ignore"):
            logs = np.log(vals)
        return np.where(tau <= self.upper, logs, -np.inf)

    def describe(self) -> str:
        bound = "" if math.isinf(self.upper) else f" on (0, {self.upper:g})"
        return f"{self.name}{bound}"

    def power_laws(self, ref: float) -> tuple[float, float]:
        def slope(t1: float, t2: float) -> float:
            l1, l2 = self.log_density(np.array([t1, t2]))
            if not np.isfinite(l2):
                return -math.inf
            if not np.isfinite(l1):
                return math.inf
            return float((l2 - l1) / math.log(t2 / t1))

        at_zero = slope(ref * 1e-10, ref * 1e-8)
        at_zero = 0.0 if math.isinf(at_zero) and at_zero > 0 else at_zero
        at_inf = -math.inf if math.isfinite(self.upper) else slope(ref * 1e8, ref * 1e10)
        return at_zero, at_inf


def parse_tau_prior(spec: str, *, default_scale: float = DEFAULT_TAU_SCALE) -> TauPrior:
    """Parse ``"half-normal:0.5"``, ``"half-cauchy:1"``, ``"uniform:2"`` (or a bare name).

    A bare ``half-normal`` or ``half-cauchy`` takes ``default_scale``; ``uniform`` needs its
    upper bound, because a flat prior on all of (0, inf) is improper.
    """
    if not isinstance(spec, str):
        raise TypeError(
            f"The 'tau_prior' parameter must be a string such as 'half-normal:0.5'. Got {spec!r} instead."
        )
    name, sep, value = spec.strip().partition(":")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in TAU_PRIOR_NAMES:
        raise InputError(
            f"The 'tau_prior' parameter must be one of {list(TAU_PRIOR_NAMES)}, optionally with "
            f"':scale' (e.g. 'half-normal:0.5', 'uniform:2'). Got {spec!r} instead."
        )
    if sep:
        try:
            scale: float = float(value)
        except ValueError:
            raise InputError(
                f"The scale in 'tau_prior' must be a number; got {value!r} in {spec!r}. "
                "Write e.g. 'half-cauchy:1'."
            ) from None
    elif key == "uniform":
        raise InputError(
            f"The 'uniform' tau prior needs an upper bound; got {spec!r}. A flat prior on all of "
            "(0, inf) can leave the posterior improper: write e.g. 'uniform:2'."
        )
    else:
        scale = default_scale
    if key == "half-normal":
        return HalfNormalPrior(scale=scale)
    if key == "half-cauchy":
        return HalfCauchyPrior(scale=scale)
    return UniformPrior(upper=scale)


def make_tau_prior(
    tau_prior: str | TauPrior | Callable[[np.ndarray], np.ndarray], tau_scale: float | None
) -> TauPrior:
    """Build a prior from the public arguments: a name or spec, a :class:`TauPrior`, or a density."""
    if isinstance(tau_prior, TauPrior):
        if tau_scale is not None:
            raise InputError(
                f"The 'tau_scale' parameter applies to named priors only; got tau_scale={tau_scale!r} "
                f"with the prior object {tau_prior.describe()}. Set the scale on the object."
            )
        return tau_prior
    if isinstance(tau_prior, str):
        has_value = ":" in tau_prior
        if has_value and tau_scale is not None:
            raise InputError(
                f"The tau prior's scale was given twice: in 'tau_prior'={tau_prior!r} and as "
                f"tau_scale={tau_scale!r}. Give it once."
            )
        if tau_scale is None:
            return parse_tau_prior(tau_prior)
        scale = _check_scale(tau_scale, "prior's scale or upper bound")
        return parse_tau_prior(f"{tau_prior}:{scale!r}")
    if callable(tau_prior):
        if tau_scale is not None:
            raise InputError(
                f"The 'tau_scale' parameter applies to named priors only; got tau_scale={tau_scale!r} "
                "with a density callable. Put the scale inside the density, or bound its support "
                "with CustomTauPrior(density, upper=...)."
            )
        return CustomTauPrior(density=tau_prior)
    raise TypeError(
        "The 'tau_prior' parameter must be a name such as 'half-normal', a TauPrior or a vectorised "
        f"density callable. Got {type(tau_prior).__name__} instead."
    )


def check_mu_prior(mu_prior: Any) -> tuple[float, float] | None:
    """Validate the normal prior on mu: None (flat) or ``(mean, sd)`` with ``sd > 0``."""
    if mu_prior is None:
        return None
    if isinstance(mu_prior, np.ndarray):
        mu_prior = mu_prior.tolist()
    if (
        isinstance(mu_prior, (str, bytes))
        or not isinstance(mu_prior, Sequence)
        or len(mu_prior) != 2
    ):
        raise TypeError(
            "The 'mu_prior' parameter must be None (flat) or a pair (mean, sd). "
            f"Got {mu_prior!r} instead."
        )
    mean, sd = (float(x) for x in mu_prior)
    if not (math.isfinite(mean) and math.isfinite(sd) and sd > 0):
        raise InputError(
            "The 'mu_prior' parameter must be (mean, sd) with finite mean and sd > 0; "
            f"got {mu_prior!r}. Use None for a flat prior."
        )
    return mean, sd


def describe_mu_prior(mu_prior: tuple[float, float] | None) -> str:
    """``flat`` or ``normal(mean=.., sd=..)``."""
    return "flat" if mu_prior is None else f"normal(mean={mu_prior[0]:g}, sd={mu_prior[1]:g})"


def posterior_tail_exponent(prior: TauPrior, k: int, flat_mu: bool, ref: float) -> float:
    """Power law of the posterior density of tau at infinity; refuses an improper posterior.

    The marginal likelihood of tau falls like ``tau^-(k-1)`` with a flat prior on mu and like
    ``tau^-k`` with a normal one, and is finite and positive at 0. The posterior is proper when
    the prior's exponent at 0 exceeds -1 and the product's exponent at infinity is below -1.
    Returns ``-inf`` for bounded support or tails lighter than every power.
    """
    a0, a_inf = prior.power_laws(ref)
    a_lik = -(k - 1) if flat_mu else -k
    a_tot = -math.inf if math.isfinite(prior.upper) else a_inf + a_lik
    if a0 <= -1 or a_tot >= -1:
        raise InputError(
            f"The posterior of tau is improper with the prior {prior.describe()} and k={k}: the "
            f"prior density behaves like tau^{a0:.3g} near 0 and tau^{a_inf:.3g} near infinity, "
            f"the likelihood like tau^{a_lik}, and the product is not integrable. Use a proper "
            "prior such as 'half-normal:0.5' or 'uniform:2' (or a normal prior on mu)."
        )
    return a_tot


def existing_moments(tail_exponent: float, flat_mu: bool) -> dict[str, bool]:
    """Which posterior moments exist, given the posterior's power law in tau at infinity.

    ``E[tau^r]`` exists when ``tail_exponent + r < -1``. Given tau, mu has variance of order
    ``tau²/k`` under a flat prior (bounded under a normal prior), so mu's mean and sd need
    tau's first and second moments there.
    """
    tau1, tau2 = tail_exponent + 1 < -1, tail_exponent + 2 < -1
    return {
        "the mean of mu": not flat_mu or tau1,
        "the sd of mu": not flat_mu or tau2,
        "the mean of tau": tau1,
        "the sd of tau": tau2,
    }
