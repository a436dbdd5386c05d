"""Random-effects meta-analysis power: reductions to statsmodels, tau² ceiling, simulation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from consilience.design import power_meta
from consilience.design.meta import task_variance
from consilience.errors import InputError

from ._refs import load

REF = load("statsmodels_power", "statsmodels_power.json")["meta"]


def test_meta_z_with_tau2_zero_matches_statsmodels_fixed_effect_z_test() -> None:
    for alt in ("two-sided", "larger", "smaller"):
        rows = [r for r in REF["z_tau2_0"] if r["alternative"] == alt]
        res = power_meta(
            np.array([r["effect"] for r in rows]),
            np.array([r["k"] for r in rows]),
            np.array([r["seeds"] for r in rows]),
            sd=1.0,
            tau2=0.0,
            test="z",
            alternative=alt,
        )
        assert_allclose(res.power, [r["power"] for r in rows], rtol=1e-9, atol=1e-15)


def test_meta_knha_matches_statsmodels_one_sample_t_on_task_effects() -> None:
    for r in [r for r in REF["knha"] if r["power"] is not None]:  # null: statsmodels returned NaN
        res = power_meta(
            r["effect"],
            r["k"],
            r["seeds"],
            sd=r["sd"],
            tau2=r["tau2"],
            rho=r["rho"],
            test="knha",
            alternative=r["alternative"],
        )
        assert_allclose(res.power, r["power"], rtol=1e-7, atol=1e-14)


def test_meta_solve_k_matches_statsmodels_root() -> None:
    for r in REF["solve_k_knha"]:
        res = power_meta(
            r["effect"],
            None,
            r["seeds"],
            r["power"],
            sd=r["sd"],
            tau2=r["tau2"],
            rho=r["rho"],
            alternative=r["alternative"],
        )
        assert_allclose(res.k, r["root_k"], rtol=1e-9)
        assert res.k_required == np.ceil(r["root_k"])


def test_z_power_reduces_to_fixed_effect_when_tau2_is_zero() -> None:
    k, seeds = np.array([2.0, 5.0, 12.0]), np.array([3.0, 7.0, 20.0])
    re = power_meta(0.25, k, seeds, sd=1.3, tau2=0.0, rho=0.4, test="z")
    lam = 0.25 / np.sqrt(task_variance(seeds, sd=1.3, rho=0.4) / k)  # fixed effect: variance v / k
    crit = stats.norm.isf(0.025)
    assert_allclose(re.power, stats.norm.sf(crit - lam) + stats.norm.cdf(-crit - lam), rtol=1e-12)


def test_solvers_invert_each_other() -> None:
    base = {"sd": 1.0, "tau2": 0.03, "rho": 0.2}
    k = power_meta(0.3, None, 5, 0.8, **base)
    assert_allclose(power_meta(0.3, k.k, 5, **base).power, 0.8, rtol=1e-12)
    s = power_meta(0.3, 20, None, 0.8, **base)
    assert_allclose(power_meta(0.3, 20, s.n, **base).power, 0.8, rtol=1e-12)
    e = power_meta(None, 20, 5, 0.8, **base)
    assert_allclose(power_meta(e.effect, 20, 5, **base).power, 0.8, rtol=1e-12)


def test_seeds_cannot_beat_the_tau2_ceiling() -> None:
    with pytest.raises(InputError, match=r"at least 9 tasks\. Add tasks"):
        power_meta(0.3, 5, None, 0.9, sd=1.0, tau2=0.05)
    limit = power_meta(0.3, 5, 1e9, sd=1.0, tau2=0.05)
    lam = 0.3 * np.sqrt(5) / np.sqrt(0.05)
    assert_allclose(
        limit.power,
        stats.nct.sf(stats.t.isf(0.025, 4), 4, lam) + stats.nct.sf(stats.t.isf(0.025, 4), 4, -lam),
        rtol=1e-6,
    )


def test_meta_power_matches_simulated_knapp_hartung_test() -> None:
    rng = np.random.default_rng(20240601)
    reps, k, seeds, sd, tau2, mu = 4000, 6, 4, 1.0, 0.05, 0.45
    theta = mu + rng.normal(0.0, np.sqrt(tau2), (reps, k))
    base = rng.normal(0.0, sd, (reps, k, seeds)).mean(axis=2)
    cand = theta + rng.normal(0.0, sd, (reps, k, seeds)).mean(axis=2)
    y = cand - base
    # equal per-task variances: any weights are equal, so the Knapp-Hartung statistic is the one-sample t
    t_stat = y.mean(axis=1) / (y.std(axis=1, ddof=1) / np.sqrt(k))
    rejected = np.abs(t_stat) >= stats.t.isf(0.025, k - 1)
    expected = power_meta(mu, k, seeds, sd=sd, tau2=tau2).power
    mc_se = np.sqrt(expected * (1 - expected) / reps)
    assert abs(rejected.mean() - expected) < 4 * mc_se


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"effect": 0.3, "k": 1, "seeds": 3}, "'k' must lie in \\[2.0"),
        (
            {"effect": 0.3, "k": 4, "seeds": 3, "tau2": -0.1},
            "'tau2' parameter must be finite and >= 0",
        ),
        (
            {"effect": 0.3, "k": 4, "seeds": 3, "rho": 1.0},
            "'rho' parameter must be a number in \\[-1, 1\\)",
        ),
        ({"effect": 0.3, "k": 4, "seeds": 3, "test": "t"}, "'test' parameter must be one of"),
        ({"effect": 0.3, "k": 4}, "Exactly one of effect, k, seeds, power"),
    ],
)
def test_bad_input_is_named(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        power_meta(**{"sd": 1.0, **kwargs})
