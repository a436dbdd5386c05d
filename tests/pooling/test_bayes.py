"""Bayesian random-effects pooling against an R integrate() implementation, a brute-force 2-D
grid and a Metropolis-within-Gibbs sampler, plus invariants, priors and errors."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose

from consilience.errors import ConvergenceError, DataDroppedWarning, InputError, SmallSampleWarning
from consilience.pooling.bayes import BayesianMetaAnalysis, BayesResult, bayes_meta_analyze
from consilience.pooling.bayes_priors import (
    CustomTauPrior,
    HalfCauchyPrior,
    HalfNormalPrior,
    UniformPrior,
    make_tau_prior,
    parse_tau_prior,
)

REF = json.loads(
    (
        Path(__file__).resolve().parent.parent / "reference" / "bayes" / "bayes_reference.json"
    ).read_text()
)
CASES = {c["id"]: c for c in REF["cases"]}
FIELD = {
    "mu_mean": "estimate",
    "mu_sd": "se",
    "mu_median": "median",
    "mu_ci_low": "ci_low",
    "mu_ci_high": "ci_high",
}


def exponential_density(t: np.ndarray) -> np.ndarray:
    return np.exp(-2.0 * t)


def fit_reference(case: dict[str, Any], **extra: Any) -> BayesResult:
    prior: Any = exponential_density if case["tau_prior"] == "exponential:2" else case["tau_prior"]
    mu_prior = tuple(case["mu_prior"]) if case["mu_prior"] else None
    return bayes_meta_analyze(
        case["yi"],
        case["vi"],
        tau_prior=prior,
        mu_prior=mu_prior,
        level=case["level"],
        delta=case["delta"],
        **extra,
    )


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_posterior_matches_r_integrate(case_id: str) -> None:
    case = CASES[case_id]
    if case_id == "bcg2_half_cauchy":
        with pytest.warns(SmallSampleWarning, match="the sd of mu, the sd of tau"):
            res = fit_reference(case)
    else:
        res = fit_reference(case)
    for key, expected in case["result"].items():
        ours = getattr(res, FIELD.get(key, key))
        if expected is None:  # a moment that does not exist
            assert ours == math.inf, key
        else:
            assert_allclose(ours, expected, rtol=1e-8, err_msg=key)


def _brute_force(
    y: np.ndarray,
    v: np.ndarray,
    log_prior: Callable[[np.ndarray], np.ndarray],
    tau_max: float,
    mu_prior: tuple[float, float] | None,
) -> dict[str, float]:
    """Joint posterior on a (mu, tau) grid; trapezoid sums; quantiles by interpolating CDFs."""
    mu = np.linspace(y.min() - 4.0, y.max() + 4.0, 4001)
    tau = np.linspace(0.0, tau_max, 2001)
    logp = np.zeros((mu.size, tau.size)) + log_prior(tau)[None, :]
    for yi, vi in zip(y, v):
        s2 = vi + tau[None, :] ** 2
        logp += -0.5 * np.log(s2) - 0.5 * (yi - mu[:, None]) ** 2 / s2
    if mu_prior is not None:
        logp += -0.5 * ((mu[:, None] - mu_prior[0]) / mu_prior[1]) ** 2
    p = np.exp(logp - logp.max())
    p_mu = np.trapezoid(p, tau, axis=1)
    p_tau = np.trapezoid(p, mu, axis=0)
    z = np.trapezoid(p_mu, mu)
    p_mu, p_tau = p_mu / z, p_tau / z

    def quantile(x: np.ndarray, dens: np.ndarray, q: float) -> float:
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(x))])
        return float(np.interp(q, cdf, x))

    mu_mean = float(np.trapezoid(mu * p_mu, mu))
    tau_mean = float(np.trapezoid(tau * p_tau, tau))
    return {
        "estimate": mu_mean,
        "se": math.sqrt(float(np.trapezoid((mu - mu_mean) ** 2 * p_mu, mu))),
        "median": quantile(mu, p_mu, 0.5),
        "ci_low": quantile(mu, p_mu, 0.025),
        "ci_high": quantile(mu, p_mu, 0.975),
        "tau_mean": tau_mean,
        "tau_sd": math.sqrt(float(np.trapezoid((tau - tau_mean) ** 2 * p_tau, tau))),
        "tau_median": quantile(tau, p_tau, 0.5),
        "tau_ci_low": quantile(tau, p_tau, 0.025),
        "tau_ci_high": quantile(tau, p_tau, 0.975),
        "prob_positive": float(np.trapezoid(np.where(mu > 0, p_mu, 0.0), mu)),
    }


@pytest.mark.parametrize(
    ("case_id", "log_prior", "tau_max"),
    [
        ("bcg_half_normal", lambda t: -0.5 * (t / 0.5) ** 2, 4.0),
        ("bcg4_half_normal", lambda t: -0.5 * (t / 0.5) ** 2, 4.0),
        ("bcg3_uniform_normal_mu", lambda t: np.zeros_like(t), 1.0),
    ],
)
def test_posterior_matches_brute_force_2d_grid(
    case_id: str, log_prior: Callable[[np.ndarray], np.ndarray], tau_max: float
) -> None:
    case = CASES[case_id]
    mu_prior = tuple(case["mu_prior"]) if case["mu_prior"] else None
    res = bayes_meta_analyze(case["yi"], case["vi"], tau_prior=case["tau_prior"], mu_prior=mu_prior)
    grid = _brute_force(
        np.asarray(case["yi"]), np.asarray(case["vi"]), log_prior, tau_max, mu_prior
    )
    for key, expected in grid.items():
        assert_allclose(getattr(res, key), expected, rtol=1e-4, atol=1e-4, err_msg=key)


def test_posterior_matches_metropolis_within_gibbs() -> None:
    """mu | tau drawn exactly (normal); log tau | mu by random-walk Metropolis; 400 chains."""
    case = CASES["bcg4_half_normal"]
    y, v = np.asarray(case["yi"]), np.asarray(case["vi"])
    rng = np.random.default_rng(20240601)
    chains, n_iter, burn = 400, 1500, 300
    log_tau = np.full(chains, math.log(0.3))

    def log_target(lt: np.ndarray, mu: np.ndarray) -> np.ndarray:
        s2 = v[None, :] + np.exp(2.0 * lt)[:, None]
        loglik = -0.5 * np.sum(np.log(s2) + (y[None, :] - mu[:, None]) ** 2 / s2, axis=1)
        return np.asarray(-0.5 * (np.exp(lt) / 0.5) ** 2 + loglik + lt)

    draws_mu = np.empty((n_iter - burn, chains))
    draws_tau = np.empty((n_iter - burn, chains))
    for it in range(n_iter):
        w = 1.0 / (v[None, :] + np.exp(2.0 * log_tau)[:, None])
        prec = w.sum(axis=1)
        mu = (w @ y) / prec + rng.standard_normal(chains) / np.sqrt(prec)
        proposal = log_tau + 0.8 * rng.standard_normal(chains)
        accept = np.log(rng.uniform(size=chains)) < log_target(proposal, mu) - log_target(
            log_tau, mu
        )
        log_tau = np.where(accept, proposal, log_tau)
        if it >= burn:
            draws_mu[it - burn], draws_tau[it - burn] = mu, np.exp(log_tau)
    res = bayes_meta_analyze(y, v, tau_prior="half-normal:0.5", delta=-1.5)
    checks = {
        "estimate": draws_mu,
        "tau_mean": draws_tau,
        "prob_above_delta": (draws_mu > -1.5).astype(float),
    }
    for key, draws in checks.items():
        chain_means = draws.mean(axis=0)
        mc_se = chain_means.std(ddof=1) / math.sqrt(chains)
        assert abs(getattr(res, key) - chain_means.mean()) < 4.5 * mc_se, key
    assert abs(res.tau_median - np.median(draws_tau)) < 0.01


def test_tiny_tau_prior_gives_the_common_effect_posterior() -> None:
    case = CASES["bcg_half_normal"]
    y, v = np.asarray(case["yi"]), np.asarray(case["vi"])
    w = 1.0 / v
    fe, fe_se = float(np.sum(w * y) / np.sum(w)), float(1.0 / np.sqrt(np.sum(w)))
    res = bayes_meta_analyze(y, v, tau_prior=HalfNormalPrior(scale=1e-7))
    assert_allclose([res.estimate, res.median, res.se], [fe, fe, fe_se], rtol=1e-6)
    assert_allclose(
        [res.ci_low, res.ci_high],
        [fe - 1.959963984540054 * fe_se, fe + 1.959963984540054 * fe_se],
        rtol=1e-6,
    )


def test_wide_normal_mu_prior_approaches_the_flat_prior() -> None:
    case = CASES["bcg_half_normal"]
    flat = fit_reference(case)
    wide = bayes_meta_analyze(
        case["yi"], case["vi"], tau_prior="half-normal:0.5", mu_prior=(0.0, 1e5), delta=-0.5
    )
    assert_allclose(
        [wide.estimate, wide.se, wide.tau_median, wide.prob_above_delta],
        [flat.estimate, flat.se, flat.tau_median, flat.prob_above_delta],
        rtol=1e-6,
    )


def test_shifting_effects_shifts_mu_and_leaves_tau() -> None:
    case = CASES["bcg_uniform"]
    base = fit_reference(case)
    shifted = bayes_meta_analyze(
        np.asarray(case["yi"]) + 3.0, case["vi"], tau_prior="uniform:2", level=90, delta=3.1
    )
    assert_allclose(
        [shifted.estimate, shifted.median, shifted.ci_low, shifted.pi_high],
        [base.estimate + 3, base.median + 3, base.ci_low + 3, base.pi_high + 3],
        rtol=1e-9,
    )
    assert_allclose(
        [shifted.tau_median, shifted.tau_sd, shifted.prob_above_delta],
        [base.tau_median, base.tau_sd, base.prob_above_delta],
        rtol=1e-9,
    )


def test_fixed_grid_agrees_with_adaptive_quadrature() -> None:
    case = CASES["bcg_half_cauchy_normal_mu"]
    adaptive = fit_reference(case)
    fixed = fit_reference(case, grid=400)
    assert fixed.provenance.options["nodes"] == 400
    assert_allclose(
        [fixed.estimate, fixed.tau_mean, fixed.ci_low],
        [adaptive.estimate, adaptive.tau_mean, adaptive.ci_low],
        rtol=1e-9,
    )


def test_single_effect_with_half_cauchy_reports_undefined_moments() -> None:
    case = CASES["bcg1_half_normal"]
    with pytest.warns(SmallSampleWarning, match="the mean of mu, the sd of mu, the mean of tau"):
        res = bayes_meta_analyze(case["yi"], case["vi"], tau_prior="half-cauchy", tau_scale=0.5)
    assert math.isnan(res.estimate) and math.isnan(res.tau_mean) and res.se == math.inf
    # with one effect and a flat prior on mu, the posterior of tau is its prior
    assert_allclose(
        [res.tau_median, res.tau_ci_high], [0.5, 0.5 * math.tan(math.pi / 2 * 0.975)], rtol=1e-9
    )
    assert res.to_dict()["estimate"] is None
    assert len(res.provenance.warnings) == 1


def test_missing_effects_are_dropped_with_a_counted_warning() -> None:
    case = CASES["bcg4_half_normal"]
    y = np.asarray(case["yi"] + [np.nan])
    v = np.asarray(case["vi"] + [0.1])
    with pytest.warns(DataDroppedWarning, match="1 effect"):
        res = bayes_meta_analyze(y, v, tau_prior="half-normal:0.5", delta=-0.5)
    assert res.provenance.n_dropped == 1 and res.k == 4
    assert_allclose(res.tau_median, case["result"]["tau_median"], rtol=1e-8)


def test_result_contract() -> None:
    res = fit_reference(CASES["bcg_half_normal"])
    assert repr(res).startswith("<BayesResult half-normal(scale=0.5) k=13") and "\n" not in repr(
        res
    )
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert (
        "_posterior" not in d
        and d["tau_prior"] == "half-normal(scale=0.5)"
        and d["mu_prior"] == "flat"
    )
    assert d["provenance"]["method"] == "Bayes"
    frame = res.to_frame()
    assert frame["parameter"].tolist() == ["mu", "tau", "theta_new"]
    assert list(frame.columns) == [
        "parameter",
        "mean",
        "median",
        "sd",
        "ci_low",
        "ci_high",
        "level",
    ]
    assert frame.loc[2, "ci_low"] == res.pi_low
    assert "P(mu > 0)" in str(res.summary()) and "theta_new" in res.summary().to_markdown()
    assert res.prob_above(res.delta) == pytest.approx(res.prob_above_delta, rel=1e-12)
    assert res.prob_above(0.0) == pytest.approx(res.prob_positive, rel=1e-12)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("half-normal:0.5", HalfNormalPrior(scale=0.5)),
        ("half_cauchy:1", HalfCauchyPrior(scale=1.0)),
        ("HalfCauchy", HalfCauchyPrior(scale=0.5)),
        ("uniform:2", UniformPrior(upper=2.0)),
        (" half-normal : 0.25 ", HalfNormalPrior(scale=0.25)),
    ],
)
def test_parse_tau_prior(spec: str, expected: Any) -> None:
    assert parse_tau_prior(spec) == expected


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("gamma:1", "must be one of"),
        ("uniform", "needs an upper bound"),
        ("half-normal:abc", "must be a number"),
        ("half-cauchy:-1", "must be > 0"),
        ("half-normal:inf", "must be > 0 and finite"),
    ],
)
def test_invalid_prior_specs_are_refused(spec: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        parse_tau_prior(spec)


def test_make_tau_prior_refuses_a_scale_given_twice() -> None:
    with pytest.raises(InputError, match="given twice"):
        make_tau_prior("half-normal:0.5", 1.0)
    with pytest.raises(InputError, match="named priors only"):
        make_tau_prior(HalfNormalPrior(), 1.0)
    assert make_tau_prior("half-cauchy", 2.0) == HalfCauchyPrior(scale=2.0)


def test_flat_prior_on_unbounded_tau_is_refused_when_the_posterior_is_improper() -> None:
    case = CASES["bcg_half_normal"]
    flat = CustomTauPrior(density=np.ones_like, name="flat")
    with pytest.raises(InputError, match="posterior of tau is improper"):
        bayes_meta_analyze(case["yi"][:2], case["vi"][:2], tau_prior=flat)
    # with three effects the flat prior times tau^-2 is integrable: proper and accepted, though
    # too heavy-tailed for posterior means
    with pytest.warns(SmallSampleWarning, match="the mean of tau"):
        res = bayes_meta_analyze(case["yi"][:3], case["vi"][:3], tau_prior=flat)
    assert math.isfinite(res.tau_median)


def test_prior_with_a_pole_at_zero_is_refused() -> None:
    case = CASES["bcg_half_normal"]
    with pytest.raises(InputError, match="improper"):
        bayes_meta_analyze(case["yi"], case["vi"], tau_prior=lambda t: 1.0 / t)


def test_too_heavy_tailed_posterior_is_a_convergence_error() -> None:
    case = CASES["bcg_half_normal"]
    with pytest.raises(ConvergenceError, match="too heavy-tailed"):
        bayes_meta_analyze(case["yi"][:2], case["vi"][:2], tau_prior=lambda t: (1.0 + t) ** -0.01)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tau_prior": 3}, TypeError, "'tau_prior' parameter must be a name"),
        ({"tau_scale": 0.0}, InputError, "'tau_scale' parameter must be > 0"),
        ({"mu_prior": (0.0, -1.0)}, InputError, "'mu_prior' parameter must be"),
        ({"mu_prior": 1.0}, TypeError, "'mu_prior' parameter must be None"),
        ({"level": 0}, InputError, "'level' parameter"),
        ({"delta": math.nan}, InputError, "'delta' parameter"),
        ({"grid": 5}, InputError, "'grid' parameter"),
        ({"tau_prior": lambda t: -np.ones_like(t)}, InputError, "finite and >= 0"),
    ],
)
def test_invalid_options_are_refused(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    case = CASES["bcg_half_normal"]
    with pytest.raises(error, match=match):
        bayes_meta_analyze(case["yi"], case["vi"], **kwargs)


def test_invalid_effects_are_refused() -> None:
    with pytest.raises(InputError, match="'vi' must be > 0"):
        bayes_meta_analyze([0.1, 0.2], [0.01, 0.0])
    with pytest.raises(InputError, match="same length"):
        bayes_meta_analyze([0.1, 0.2], [0.01])
    with pytest.raises(InputError, match="No effects left"), pytest.warns(DataDroppedWarning):
        bayes_meta_analyze([np.nan], [0.01])


def test_estimator_is_frozen_and_reusable() -> None:
    model = BayesianMetaAnalysis(tau_prior="half-normal", tau_scale=0.5)
    case = CASES["bcg4_half_normal"]
    first, second = model.fit(case["yi"], case["vi"]), model.fit(case["yi"], case["vi"])
    assert first.tau_median == second.tau_median
    with pytest.raises(AttributeError):
        model.level = 90  # type: ignore[misc]
