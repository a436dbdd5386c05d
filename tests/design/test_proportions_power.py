"""Two independent proportions against statsmodels' NormalIndPower with Cohen's h."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from consilience.design import power_meta_experiment, power_proportions
from consilience.design.proportions import cohens_h
from consilience.errors import InputError

from ._refs import load

REF = load("statsmodels_power", "statsmodels_power.json")


def test_cohens_h_matches_statsmodels_proportion_effectsize() -> None:
    rows = REF["proportions"]["power"]
    h = cohens_h(
        np.array([r["baseline"] + r["effect"] for r in rows]),
        np.array([r["baseline"] for r in rows]),
    )
    assert_allclose(h, [r["effect_size"] for r in rows], rtol=1e-12)


def test_proportions_power_matches_statsmodels() -> None:
    for r in REF["proportions"]["power"]:
        res = power_proportions(
            r["effect"],
            r["n"],
            baseline=r["baseline"],
            ratio=r["ratio"],
            alternative=r["alternative"],
        )
        assert_allclose(res.power, r["power"], rtol=1e-9, atol=1e-15)
        assert_allclose(res.effect_size, r["effect_size"], rtol=1e-12)


def test_proportions_solve_n_matches_statsmodels() -> None:
    for r in REF["proportions"]["solve_n"]:
        res = power_proportions(
            r["effect"], None, r["power"], baseline=r["baseline"], alternative=r["alternative"]
        )
        assert_allclose(res.n, r["root"], rtol=1e-9)
        assert_allclose(res.n, r["solve_power"], rtol=1e-6)


def test_proportions_solve_effect_matches_statsmodels() -> None:
    for r in REF["proportions"]["solve_effect"]:
        res = power_proportions(
            None, r["n"], r["power"], baseline=r["baseline"], alternative=r["alternative"]
        )
        assert_allclose(res.effect_size, r["root_effect_size"], rtol=1e-9)
        # the solved h maps back to the candidate proportion
        assert_allclose(
            cohens_h(r["baseline"] + res.effect, r["baseline"]), res.effect_size, rtol=1e-12
        )


def test_meta_experiment_power_matches_statsmodels_with_allocation() -> None:
    for r in REF["meta_experiment"]["power"]:
        res = power_meta_experiment(
            r["effect"],
            r["n_experiments"],
            baseline=r["baseline"],
            allocation=r["allocation"],
            alternative=r["alternative"],
        )
        assert_allclose(res.power, r["power"], rtol=1e-9, atol=1e-15)
        assert res.n == r["n_experiments"] and res.test == "meta_experiment"


def test_meta_experiment_solves_total_experiments() -> None:
    res = power_meta_experiment(0.2, None, 0.8, baseline=0.3, allocation=0.3)
    per_arm = power_proportions(0.2, None, 0.8, baseline=0.3, ratio=0.3 / 0.7)
    assert_allclose(res.n, per_arm.n / 0.7, rtol=1e-12)
    assert res.n_required == np.ceil(res.n)


def test_unreachable_effect_is_explained() -> None:
    with pytest.raises(InputError, match="largest possible change"):
        power_proportions(None, 20, 0.99, baseline=0.97, alternative="larger")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"effect": 0.3, "n": 100, "baseline": 0.8}, "inside \\(0, 1\\)"),
        (
            {"effect": 0.01, "n": 100, "baseline": 1.2},
            "'baseline' parameter must lie strictly between 0 and 1",
        ),
        ({"effect": 0.01, "n": -5, "baseline": 0.5}, "'n' must lie in"),
    ],
)
def test_bad_input_is_named(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        power_proportions(**kwargs)
