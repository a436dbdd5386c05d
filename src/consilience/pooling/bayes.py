"""Bayesian random-effects pooling: the exact posterior by one-dimensional integration over tau.

Model: ``yi ~ N(theta_i, vi)``, ``theta_i ~ N(mu, tau²)``, with a prior on tau (half-normal,
half-Cauchy, uniform or a user density) and a flat or normal prior on mu. Given tau, mu's
posterior is normal and integrates out in closed form, so the whole posterior is a one-dimensional
mixture over tau, computed here by quadrature (the approach of the R package bayesmeta).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import check_level
from consilience.errors import ConvergenceError, InputError, SmallSampleWarning
from consilience.pooling._effects import drop_missing_effects, effect_vectors
from consilience.pooling.bayes_priors import (
    TauPrior,
    check_mu_prior,
    describe_mu_prior,
    existing_moments,
    make_tau_prior,
    posterior_tail_exponent,
)

__all__ = ["BayesResult", "BayesianMetaAnalysis", "bayes_meta_analyze"]


def _ncdf(x: np.ndarray) -> np.ndarray:
    return np.asarray(special.ndtr(x), dtype=float)


# ----------------------------------------------------------------------------------------------
# The posterior of tau on quadrature nodes


def _conditional(
    tau: np.ndarray, y: np.ndarray, v: np.ndarray, m0: float, w0: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log marginal likelihood (up to a constant), and mu's conditional mean and variance."""
    n = tau.size
    ll, mean, var = np.empty(n), np.empty(n), np.empty(n)
    step = max(1, 2_000_000 // max(y.size, 1))
    for lo in range(0, n, step):
        sl = slice(lo, lo + step)
        w = 1.0 / (v[None, :] + tau[sl, None] ** 2)
        prec = w.sum(axis=1) + w0
        m = (w @ y + w0 * m0) / prec
        r = y[None, :] - m[:, None]
        rss = np.einsum("ij,ij->i", w, r * r) + w0 * (m0 - m) ** 2
        ll[sl] = 0.5 * np.log(w).sum(axis=1) - 0.5 * rss - 0.5 * np.log(prec)
        mean[sl], var[sl] = m, 1.0 / prec
    return ll, mean, var


@dataclass(frozen=True)
class TauPosterior:
    """Quadrature nodes for the posterior of tau, normalised weights and mu's conditionals."""

    k: int
    tau: np.ndarray
    weight: np.ndarray
    mu_mean: np.ndarray
    mu_var: np.ndarray
    moments_exist: dict[str, bool]
    cdf_t: Callable[[float], float] = field(repr=False)
    tau_of_t: Callable[[float], float] = field(repr=False)
    t_range: tuple[float, float] = (0.0, 0.0)

    def tau_quantile(self, p: float) -> float:
        t = _quantile(self.cdf_t, p, self.t_range[0], self.t_range[1], 1e-13)
        return self.tau_of_t(t)


_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


def tau_posterior(
    y: np.ndarray,
    v: np.ndarray,
    prior: TauPrior,
    mu_prior: tuple[float, float] | None,
    *,
    grid: int | None = None,
) -> TauPosterior:
    """Nodes and weights of the posterior of tau (see :class:`BayesianMetaAnalysis`, Notes)."""
    k = y.size
    m0, w0 = (0.0, 0.0) if mu_prior is None else (mu_prior[0], 1.0 / mu_prior[1] ** 2)
    ref_lo = float(np.sqrt(np.min(v)))
    ref_hi = float(max(np.sqrt(np.max(v)), np.std(y)))
    for attr in ("scale", "upper"):
        val = getattr(prior, attr, math.inf)
        if math.isfinite(val):
            ref_lo, ref_hi = min(ref_lo, val), max(ref_hi, val)
    a_tot = posterior_tail_exponent(prior, k, mu_prior is None, math.sqrt(ref_lo * ref_hi))
    bounded = math.isfinite(prior.upper)
    upper = prior.upper
    if bounded:

        def tau_of(z: np.ndarray) -> np.ndarray:
            return np.asarray(upper * special.expit(z))

        def log_jac(z: np.ndarray) -> np.ndarray:
            return np.asarray(math.log(upper) - np.logaddexp(0.0, -z) - np.logaddexp(0.0, z))

        z_min, z_max = math.log(ref_lo / upper) - 60.0, 60.0
    else:

        def tau_of(z: np.ndarray) -> np.ndarray:
            return np.asarray(np.exp(z))

        def log_jac(z: np.ndarray) -> np.ndarray:
            return z

        z_min, z_max = math.log(ref_lo) - 60.0, 340.0

    def log_f(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        tau = tau_of(z)
        ll, mean, var = _conditional(tau, y, v, m0, w0)
        with np.errstate(invalid="ignore"):
            h = prior.log_density(tau) + ll + log_jac(z)
        return np.where(np.isnan(h), -np.inf, h), tau, mean, var

    # locate the mode in z on a coarse grid, then refine it; its curvature sets the node spacing
    z_grid = np.arange(
        max(z_min, math.log(ref_lo) - 14.0 - (0 if not bounded else math.log(upper))),
        min(z_max, math.log(ref_hi) + 14.0) if not bounded else 40.0,
        0.1,
    )
    h_grid = log_f(z_grid)[0]
    if not np.isfinite(h_grid).any():
        raise InputError(
            f"The prior {prior.describe()} gives no weight to any plausible tau. "
            "Check the density and its support."
        )
    i = int(np.argmax(h_grid))
    lo_z, hi_z = z_grid[max(i - 1, 0)], z_grid[min(i + 1, z_grid.size - 1)]
    opt = optimize.minimize_scalar(
        lambda z: -float(log_f(np.array([z]))[0][0]),
        bounds=(lo_z, hi_z),
        method="bounded",
        options={"xatol": 1e-7},
    )
    z0 = float(opt.x)
    h3 = log_f(np.array([z0 - 1e-3, z0, z0 + 1e-3]))[0]
    h_max = float(h3[1])
    curv = float(h3[0] - 2.0 * h3[1] + h3[2]) / 1e-6
    sigma = (
        float(np.clip(1.0 / math.sqrt(-curv), 0.02, 5.0)) if curv < 0 and np.isfinite(curv) else 1.0
    )

    def z_of_t(t: np.ndarray) -> np.ndarray:
        return np.asarray(np.clip(z0 + sigma * np.sinh(t), z_min, z_max))

    def t_edge(sign: float) -> float:
        t = 0.0
        while True:
            t += sign * 0.25
            z = float(z_of_t(np.array([t]))[0])
            if float(log_f(np.array([z]))[0][0]) < h_max - 50.0:
                return t
            if z <= z_min or z >= z_max:
                raise ConvergenceError(
                    f"The posterior of tau with the prior {prior.describe()} is too heavy-tailed to "
                    f"integrate (still {math.exp(float(log_f(np.array([z]))[0][0]) - h_max):.2g} of "
                    f"its peak density at tau={float(tau_of(np.array([z]))[0]):.3g}). Use a "
                    "lighter-tailed prior on tau."
                )

    t_lo, t_hi = t_edge(-1.0), t_edge(1.0)

    def nodes(dt: float, t: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        if t is None:
            t = np.arange(math.ceil(t_lo / dt), math.floor(t_hi / dt) + 1) * dt
        h, tau, mean, var = log_f(z_of_t(t))
        mass = np.exp(h - h_max) * sigma * np.cosh(t) * dt
        return mass, tau, mean, var

    if grid is not None:
        mass, tau, mean, var = nodes((t_hi - t_lo) / (grid - 1), np.linspace(t_lo, t_hi, grid))
    else:
        dt, prev = 0.5, None
        for _ in range(12):
            mass, tau, mean, var = nodes(dt)
            total = float(mass.sum())
            stats_now = np.array(
                [total, float(mass @ np.log(tau)) / total, float(mass @ mean) / total]
            )
            if prev is not None and np.all(
                np.abs(stats_now - prev) <= 1e-11 * np.maximum(np.abs(stats_now), 1.0)
            ):
                break
            prev, dt = stats_now, dt / 2.0
        else:
            raise ConvergenceError(
                "The quadrature over tau did not converge after 12 refinements. Pass grid= with "
                "a large number of nodes, or use a smoother prior density."
            )
    weight = mass / mass.sum()

    def density_t(t: np.ndarray) -> np.ndarray:
        h = log_f(z_of_t(t))[0]
        return np.asarray(np.exp(h - h_max) * sigma * np.cosh(t))

    def panels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Gauss-Legendre integrals of the density of t over the panels [a_i, b_i]."""
        half = (b - a)[:, None] / 2.0
        pts = a[:, None] + half * (_GL_X[None, :] + 1.0)
        return np.asarray(np.sum(density_t(pts.ravel()).reshape(pts.shape) * half * _GL_W, axis=1))

    # CDF of t: cumulative panel integrals plus one partial panel per evaluation
    edges = np.append(np.arange(t_lo, t_hi, 0.25), t_hi)
    cum = np.concatenate([[0.0], np.cumsum(panels(edges[:-1], edges[1:]))])

    def cdf_t(t: float) -> float:
        i = int(np.clip(np.searchsorted(edges, t) - 1, 0, edges.size - 2))
        part = float(panels(edges[i : i + 1], np.array([t]))[0])
        return float((cum[i] + part) / cum[-1])

    return TauPosterior(
        k=k,
        tau=tau,
        weight=weight,
        mu_mean=mean,
        mu_var=var,
        moments_exist=existing_moments(a_tot, mu_prior is None),
        cdf_t=cdf_t,
        tau_of_t=lambda t: float(tau_of(z_of_t(np.array([t])))[0]),
        t_range=(t_lo, t_hi),
    )


@dataclass(frozen=True)
class BayesResult:
    """Posterior summaries of a Bayesian random-effects meta-analysis.

    Attributes
    ----------
    k : int
        Number of effects used.
    estimate, median, se : float
        Posterior mean, median and standard deviation of mu (NaN / inf when the posterior is
        too heavy-tailed for the moment to exist; a SmallSampleWarning says so).
    ci_low, ci_high : float
        Equal-tailed credible interval of mu at ``level``.
    pi_low, pi_high : float
        Equal-tailed posterior predictive interval of a new task's true effect
        ``theta_new ~ N(mu, tau²)``.
    tau_mean, tau_median, tau_sd : float
        Posterior mean, median and standard deviation of tau (NaN / inf when undefined).
    tau_ci_low, tau_ci_high : float
        Equal-tailed credible interval of tau.
    prob_positive : float
        Posterior probability P(mu > 0).
    prob_above_delta : float
        Posterior probability P(mu > delta).
    delta : float
        The threshold of ``prob_above_delta`` (a minimal effect worth having).
    level : float
        Credible level as a fraction.
    tau_prior, mu_prior : str
        The priors, as text.
    provenance : Provenance
        Method, rows dropped, options (quadrature nodes) and input hash.
    """

    k: int
    estimate: float
    median: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau_mean: float
    tau_median: float
    tau_sd: float
    tau_ci_low: float
    tau_ci_high: float
    prob_positive: float
    prob_above_delta: float
    delta: float
    level: float
    tau_prior: str
    mu_prior: str
    provenance: Provenance = field(repr=False)
    _posterior: TauPosterior = field(repr=False, compare=False)

    def __repr__(self) -> str:
        return (
            f"<BayesResult {self.tau_prior} k={self.k} mu={self.median:.3f} "
            f"[{self.ci_low:.3f}, {self.ci_high:.3f}] tau={self.tau_median:.3f} "
            f"P(mu>0)={self.prob_positive:.3f}>"
        )

    def prob_above(self, threshold: float) -> float:
        """Posterior probability that mu exceeds ``threshold``."""
        post = self._posterior
        return float(np.sum(post.weight * _ncdf((post.mu_mean - threshold) / np.sqrt(post.mu_var))))

    def to_frame(self) -> pd.DataFrame:
        """Rows ``mu``, ``tau`` and ``theta_new`` (a new task's true effect).

        Columns ``parameter, mean, median, sd, ci_low, ci_high, level``; for ``theta_new`` the
        interval is the predictive interval, the mean equals mu's and median and sd are NaN.
        """
        nan = float("nan")
        rows = [
            ("mu", self.estimate, self.median, self.se, self.ci_low, self.ci_high),
            ("tau", self.tau_mean, self.tau_median, self.tau_sd, self.tau_ci_low, self.tau_ci_high),
            ("theta_new", self.estimate, nan, nan, self.pi_low, self.pi_high),
        ]
        frame = pd.DataFrame(
            rows, columns=["parameter", "mean", "median", "sd", "ci_low", "ci_high"]
        )
        frame["level"] = self.level
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every public field."""
        out = {
            name: json_safe(getattr(self, name))
            for name in self.__dataclass_fields__
            if not name.startswith("_")
        }
        out["provenance"] = self.provenance.to_dict()
        return out

    def summary(self) -> Summary:
        """Printable summary: posterior of mu and tau, predictive interval and probabilities."""
        lines: list[tuple[str, Any]] = [
            ("k", self.k),
            ("tau prior", self.tau_prior),
            ("mu prior", self.mu_prior),
            ("P(mu > 0)", self.prob_positive),
            (f"P(mu > {self.delta:g})", self.prob_above_delta),
        ]
        return Summary(
            title=f"Bayesian random-effects model ({100 * self.level:g}% credible intervals)",
            lines=lines,
            tables=[("Posterior", self.to_frame())],
            notes=list(self.provenance.warnings),
        )


def _is_number(x: Any, *, integer: bool = False) -> bool:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    return not isinstance(x, bool) and isinstance(x, kinds)


def _quantile(cdf: Callable[[float], float], p: float, lo: float, hi: float, xtol: float) -> float:
    return float(
        optimize.brentq(lambda x: cdf(x) - p, lo, hi, xtol=xtol, rtol=8.9e-16, maxiter=500)
    )


@dataclass(frozen=True, kw_only=True)
class BayesianMetaAnalysis:
    """Bayesian random-effects model with an exact posterior (numerical integration over tau).

    Parameters
    ----------
    tau_prior : str, TauPrior or callable
        ``"half-normal"``, ``"half-cauchy"``, ``"uniform"`` (optionally ``"name:scale"``), a
        :class:`~consilience.pooling.bayes_priors.TauPrior`, or a vectorised density of tau.
    tau_scale : float, optional
        Scale of a named prior (upper bound for ``uniform``); 0.5 when not given.
    mu_prior : (mean, sd), optional
        Normal prior on mu; None (default) is the flat prior.
    level : float
        Credible level, percent (95) or fraction.
    delta : float
        Threshold for ``prob_above_delta`` = P(mu > delta).
    grid : int, optional
        Number of quadrature nodes over tau; None (default) refines until the normalising
        constant and posterior means agree to 1e-11 between successive halvings of the step.

    Notes
    -----
    Given tau, with weights ``w_i = 1/(vi + tau²)`` and the normal prior written as an extra
    observation ``(m0, s0²)`` (absent when flat), mu is ``N(m(tau), V(tau))`` with
    ``V = 1 / (sum w_i + 1/s0²)``, ``m = V (sum w_i yi + m0/s0²)``, and the marginal likelihood is

        p(y | tau) ∝ prod (vi + tau²)^(-1/2) · V^(1/2) · exp(-1/2 [sum w_i (yi - m)² + (m0 - m)²/s0²]).

    The posterior ``p(tau | y) ∝ p(tau) p(y | tau)`` is integrated with the trapezoidal rule in
    ``t``, where ``log tau = z0 + s sinh(t)`` (``tau = U·logistic(z)`` for support (0, U)) is
    centred at the posterior mode: the integrand then decays double-exponentially and the rule
    converges geometrically. Summaries of mu are exact mixtures of normals over the nodes:
    ``P(mu <= x | y) = sum_j w_j Φ((x - m_j)/sqrt(V_j))``; quantiles are found by root finding,
    tau's with Gauss-Legendre integrals of its density. The predictive distribution of a new true
    effect mixes ``N(m_j, V_j + tau_j²)``. The posterior is proper when the prior density times
    ``tau^-(k-1)`` (flat mu) or ``tau^-k`` (normal mu) is integrable at infinity; improper set-ups
    are refused, and moments that do not exist are reported as NaN (means) or inf (sds).

    References
    ----------
    Röver, C. (2020). Bayesian random-effects meta-analysis using the bayesmeta R package.
    Journal of Statistical Software, 93(6).
    Gelman, A. (2006). Prior distributions for variance parameters in hierarchical models.
    Bayesian Analysis, 1(3), 515-534.

    Validated against: a brute-force two-dimensional grid over (mu, tau); a Metropolis-within-Gibbs
    sampler; and an independent R implementation with ``integrate()`` and ``uniroot()``
    (R 4, tests/reference/bayes/make_reference.R).
    """

    tau_prior: str | TauPrior | Callable[[np.ndarray], np.ndarray] = "half-normal"
    tau_scale: float | None = None
    mu_prior: tuple[float, float] | None = None
    level: float = 95
    delta: float = 0.0
    grid: int | None = None

    def __post_init__(self) -> None:
        make_tau_prior(self.tau_prior, self.tau_scale)
        check_mu_prior(self.mu_prior)
        check_level(self.level)
        delta, grid = self.delta, self.grid
        if not _is_number(delta) or not math.isfinite(float(delta)):
            raise InputError(
                f"The 'delta' parameter must be a finite number. Got {delta!r} instead."
            )
        if grid is not None and (not _is_number(grid, integer=True) or grid < 16):
            raise InputError(
                f"The 'grid' parameter must be None (adaptive) or an integer >= 16. Got {grid!r}."
            )

    def fit(self, yi: Any, vi: Any) -> BayesResult:
        """Compute the posterior for effects ``yi`` with sampling variances ``vi``."""
        prior = make_tau_prior(self.tau_prior, self.tau_scale)
        mu_prior = check_mu_prior(self.mu_prior)
        level = check_level(self.level)
        delta = float(self.delta)
        y_all, v_all = effect_vectors(yi, vi)
        keep, dropped = drop_missing_effects(y_all, v_all, stacklevel=3)
        n_dropped = int((~keep).sum())
        notes = list(dropped)
        y, v = y_all[keep], v_all[keep]
        if y.size == 0:
            raise InputError(
                "No effects left: every row has a missing yi or vi. Pass at least one complete effect."
            )
        post = tau_posterior(y, v, prior, mu_prior, grid=self.grid)
        result = self._summarise(post, prior, mu_prior, level, delta, notes)
        options = {"tau_prior": prior.describe(), "mu_prior": result["mu_prior"], "level": level}
        digest = input_hash(y_all, v_all, *options.values(), delta)
        options.update(delta=delta, grid=self.grid, nodes=int(post.tau.size))
        prov = Provenance(method="Bayes", k=int(y.size), n_dropped=n_dropped,
                          dropped_reason="missing yi or vi" if n_dropped else None,
                          warnings=tuple(notes), options=options,
                          input_hash=digest)
        return BayesResult(k=int(y.size), level=level, delta=delta, tau_prior=prior.describe(),
                           provenance=prov, _posterior=post, **result)

    @staticmethod
    def _summarise(post: TauPosterior, prior: TauPrior, mu_prior: tuple[float, float] | None,
                   level: float, delta: float, notes: list[str]) -> dict[str, Any]:
        w, m, var, tau = post.weight, post.mu_mean, post.mu_var, post.tau
        sd = np.sqrt(var)
        lo_p, hi_p = (1.0 - level) / 2.0, (1.0 + level) / 2.0
        # mixtures of normals: brackets wide enough for every node that carries weight
        live = w > 0
        scale = float(np.sqrt(np.sum(w * var)))
        xtol = 1e-13 * max(scale, float(np.max(np.abs(m[live]))), 1e-300)

        def mu_cdf(x: float) -> float:
            return float(np.sum(w * _ncdf((x - m) / sd)))

        pred_sd = np.sqrt(var + tau**2)

        def pred_cdf(x: float) -> float:
            return float(np.sum(w * _ncdf((x - m) / pred_sd)))

        lo = float(np.min((m - 60 * pred_sd)[live]))
        hi = float(np.max((m + 60 * pred_sd)[live]))
        mu_q = [_quantile(mu_cdf, p, lo, hi, xtol) for p in (lo_p, 0.5, hi_p)]
        pi_q = [_quantile(pred_cdf, p, lo, hi, xtol) for p in (lo_p, hi_p)]
        tau_q = [post.tau_quantile(p) for p in (lo_p, 0.5, hi_p)]

        moments = post.moments_exist
        mu_mean = float(np.sum(w * m)) if moments["the mean of mu"] else float("nan")
        mu_sd = (
            float(np.sqrt(np.sum(w * (var + (m - np.sum(w * m)) ** 2))))
            if moments["the sd of mu"]
            else math.inf
        )
        tau_mean = float(np.sum(w * tau)) if moments["the mean of tau"] else float("nan")
        tau_sd = (
            float(np.sqrt(np.sum(w * (tau - np.sum(w * tau)) ** 2)))
            if moments["the sd of tau"]
            else math.inf
        )
        undefined = [name for name, ok in moments.items() if not ok]
        if undefined:
            msg = (
                f"The posterior is too heavy-tailed for {', '.join(undefined)} to exist "
                f"(k={post.k}, tau prior {prior.describe()}); means are reported as "
                "NaN and sds as inf. Use the medians and credible intervals, or a lighter-tailed prior."
            )
            warnings.warn(msg, SmallSampleWarning, stacklevel=4)
            notes.append(msg)
        out: dict[str, Any] = {
            "estimate": mu_mean,
            "se": mu_sd,
            "tau_mean": tau_mean,
            "tau_sd": tau_sd,
        }
        out.update(zip(("ci_low", "median", "ci_high"), mu_q))
        out.update(zip(("pi_low", "pi_high"), pi_q))
        out.update(zip(("tau_ci_low", "tau_median", "tau_ci_high"), tau_q))
        out["prob_positive"] = float(np.sum(w * _ncdf(m / sd)))
        out["prob_above_delta"] = float(np.sum(w * _ncdf((m - delta) / sd)))
        out["mu_prior"] = describe_mu_prior(mu_prior)
        return out


def bayes_meta_analyze(
    yi: Any,
    vi: Any,
    *,
    tau_prior: str | TauPrior | Callable[[np.ndarray], np.ndarray] = "half-normal",
    tau_scale: float | None = None,
    mu_prior: tuple[float, float] | None = None,
    level: float = 95,
    delta: float = 0.0,
    grid: int | None = None,
) -> BayesResult:
    """Bayesian random-effects pooling with an exact posterior; see :class:`BayesianMetaAnalysis`.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances (rows with NaN are dropped with a warning).
    tau_prior, tau_scale, mu_prior, level, delta, grid
        As for :class:`BayesianMetaAnalysis` (default: half-normal prior with scale 0.5 on tau,
        flat prior on mu).

    Returns
    -------
    BayesResult
        See its attributes for every field.

    Validated against: a brute-force 2-D grid, a Metropolis-within-Gibbs sampler and an
    independent R ``integrate()`` implementation (tests/reference/bayes/).
    """
    return BayesianMetaAnalysis(
        tau_prior=tau_prior,
        tau_scale=tau_scale,
        mu_prior=mu_prior,
        level=level,
        delta=delta,
        grid=grid,
    ).fit(yi, vi)
