"""Group-sequential boundaries against R rpact and published values; type-I error by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from consilience.design import spending_boundaries, spending_function
from consilience.errors import InputError

from ._refs import load

RPACT = load("rpact", "rpact_boundaries.json")["designs"]


def test_obf_boundaries_reproduce_published_values() -> None:
    # one-sided alpha 0.025, looks at 0.5, 0.75, 1 (Lan-DeMets O'Brien-Fleming-type spending)
    design = spending_boundaries([0.5, 0.75, 1.0], alpha=0.025, spending="obf")
    assert np.round(design.boundary, 3).tolist() == [2.963, 2.359, 2.014]


@pytest.mark.parametrize(
    "case", RPACT, ids=lambda c: f"{c['spending']}-{len(c['looks'])}looks-sided{c['sided']}"
)
def test_boundaries_match_rpact(case: dict) -> None:
    design = spending_boundaries(
        case["looks"], alpha=case["alpha"], spending=case["spending"], sided=case["sided"]
    )
    assert_allclose(design.boundary, case["critical_values"], rtol=1e-6)
    assert_allclose(
        design.alpha_spent, case["alpha_spent"], rtol=1e-6, atol=2e-8
    )  # rpact: alpha - 1e-8 at the end


@pytest.mark.parametrize(
    "case", [c for c in RPACT if c["sided"] == 1][:6], ids=lambda c: f"{c['spending']}-{c['looks']}"
)
def test_inflation_factor_and_power_match_rpact(case: dict) -> None:
    design = spending_boundaries(case["looks"], alpha=case["alpha"], spending=case["spending"])
    assert_allclose(design.inflation_factor(0.8), case["inflation_factor"], rtol=1e-6)
    cumulative = np.cumsum(design.crossing_probabilities(np.sqrt(case["shift"])))
    assert_allclose(cumulative, case["cumulative_power"], rtol=1e-6)


def test_crossing_under_null_spends_alpha_exactly() -> None:
    looks = np.array([0.13, 0.4, 0.41, 0.77, 1.0])
    for spending in ("obf", "pocock"):
        for sided in (1, 2):
            design = spending_boundaries(looks, alpha=0.05, spending=spending, sided=sided)  # type: ignore[arg-type]
            assert_allclose(
                np.cumsum(design.crossing_probabilities(0.0)), design.alpha_spent, rtol=1e-10
            )


def test_single_look_is_the_fixed_sample_test() -> None:
    design = spending_boundaries([1.0], alpha=0.025)
    assert_allclose(design.boundary, [stats.norm.isf(0.025)], rtol=1e-12)
    assert_allclose(
        design.crossing_probabilities(2.8), [stats.norm.sf(stats.norm.isf(0.025) - 2.8)], rtol=1e-10
    )
    assert_allclose(design.inflation_factor(0.8), 1.0, rtol=1e-9)


def test_spending_functions_match_their_formulas() -> None:
    t = np.array([0.25, 0.5, 1.0])
    assert_allclose(
        spending_function(t, alpha=0.025, spending="obf"),
        2 * (1 - stats.norm.cdf(stats.norm.ppf(1 - 0.0125) / np.sqrt(t))),
        rtol=1e-9,
    )
    assert_allclose(
        spending_function(t, alpha=0.025, spending="pocock"),
        0.025 * np.log(1 + (np.e - 1) * t),
        rtol=1e-12,
    )


def _brownian_z(looks: np.ndarray, reps: int, seed: int, drift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dt = np.diff(np.concatenate([[0.0], looks]))
    s = np.cumsum(rng.normal(drift * dt, np.sqrt(dt), size=(reps, looks.size)), axis=1)
    return s / np.sqrt(looks)


def test_type_one_error_is_controlled_by_simulation_while_naive_looks_inflate_it() -> None:
    looks = np.array([0.2, 0.4, 0.6, 0.8, 1.0])
    reps = 200_000
    z = _brownian_z(looks, reps, seed=2024)
    mc_se = np.sqrt(0.025 * 0.975 / reps)
    for spending in ("obf", "pocock"):
        design = spending_boundaries(looks, alpha=0.025, spending=spending)  # type: ignore[arg-type]
        rate = np.mean(np.any(z >= design.boundary, axis=1))
        assert abs(rate - 0.025) < 4 * mc_se
    naive = np.mean(np.any(z >= stats.norm.isf(0.025), axis=1))
    assert naive > 0.05  # five unadjusted looks more than double the false-positive rate


def test_monitor_recommends_stop_from_the_first_crossing() -> None:
    design = spending_boundaries([0.5, 0.75, 1.0])
    frame = design.monitor([1.2, 2.5, 1.0])
    assert frame["recommend"].tolist() == ["continue", "stop", "stop"]
    assert list(frame.columns) == [
        "look",
        "information",
        "statistic",
        "boundary",
        "nominal_alpha",
        "recommend",
    ]
    two = spending_boundaries([0.5, 1.0], alpha=0.05, sided=2)
    assert two.monitor([-3.1])["recommend"].tolist() == ["stop"]
    with pytest.raises(InputError, match="one z statistic per look"):
        design.monitor([1, 2, 3, 4])


def test_close_and_early_looks_stay_accurate() -> None:
    # nearly coincident looks: panels shrink with the transition; null crossing still exact
    design = spending_boundaries([0.01, 0.02, 0.5, 0.999, 1.0], alpha=0.025)
    assert_allclose(np.sum(design.crossing_probabilities(0.0)), 0.025, rtol=1e-9)
    assert np.all(np.isfinite(design.boundary))


@pytest.mark.parametrize(
    ("looks", "kwargs", "match"),
    [
        ([0.5, 0.4, 1.0], {}, "strictly increasing"),
        ([0.0, 1.0], {}, "strictly increasing"),
        ([0.5, 1.2], {}, "strictly increasing"),
        ([0.5, 1.0], {"spending": "haybittle"}, "'spending' parameter must be one of"),
        ([0.5, 1.0], {"sided": 3}, "'sided' parameter must be 1 or 2"),
        ([0.5, 1.0], {"alpha": 0.0}, "'alpha' parameter must lie strictly between 0 and 1"),
    ],
)
def test_bad_input_is_named(looks: list, kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        spending_boundaries(looks, **kwargs)


def test_tiny_early_spend_matches_direct_bivariate_integration() -> None:
    # looks at 0.1 and 0.15 spend about 1e-12 and 7e-9: check the second boundary against an
    # independent integral of the bivariate normal (scipy quad), not a grid
    from scipy import integrate

    design = spending_boundaries([0.1, 0.15, 1.0], alpha=0.025)
    b1, b2 = design.boundary[:2]
    r = np.sqrt(0.1 / 0.15)
    joint, _ = integrate.quad(
        lambda z: stats.norm.pdf(z) * stats.norm.sf((b2 - r * z) / np.sqrt(1 - r * r)),
        b1,
        40.0,
        epsabs=1e-25,
        epsrel=1e-12,
    )
    first_crossing_at_2 = stats.norm.sf(b2) - joint
    spent = spending_function(np.array([0.1, 0.15]), alpha=0.025, spending="obf")
    assert_allclose(stats.norm.sf(b1), spent[0], rtol=1e-9)
    assert_allclose(first_crossing_at_2, spent[1] - spent[0], rtol=1e-7)
