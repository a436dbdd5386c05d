"""McNemar power: Connor (1987) against published values and their R code; exact power against
statsmodels' exact McNemar test summed over every table; both against seeded simulation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from consilience.design import power_mcnemar
from consilience.errors import InputError

from ._refs import load

CONNOR = load("connor1987", "connor1987.json")
EXACT = load("statsmodels_mcnemar", "mcnemar_exact_power.json")


def _alt(sides: int, p01: float, p10: float) -> str:
    return "two-sided" if sides == 2 else ("larger" if p01 > p10 else "smaller")


def test_connor_sample_size_matches_published_examples() -> None:
    for case in CONNOR["published"]:
        if "p01" in case:
            effect, psi = case["p01"] - case["p10"], case["p01"] + case["p10"]
        else:
            effect, psi = case["effect"], case["discordance"]
        alt = "two-sided" if case["sides"] == 2 else "larger"
        res = power_mcnemar(
            effect, None, case["power"], discordance=psi, alpha=case["alpha"], alternative=alt
        )
        assert res.n_required == case["n_required"]
        if "achieved_power_percent" in case:
            at_n = power_mcnemar(effect, case["n_required"], discordance=psi, alpha=case["alpha"])
            assert round(100 * float(at_n.power), 1) == case["achieved_power_percent"]


def test_connor_power_matches_published_r_code() -> None:
    for r in CONNOR["rows"]:
        alt = _alt(r["sides"], r["p01"], r["p10"])
        res = power_mcnemar(
            r["p01"] - r["p10"],
            r["n"],
            discordance=r["p01"] + r["p10"],
            alpha=r["alpha"],
            alternative=alt,
        )
        assert_allclose(res.power, r["power_at_n"], rtol=1e-10)


def test_connor_one_sided_sample_size_equals_closed_form_from_r() -> None:
    for r in [r for r in CONNOR["rows"] if r["sides"] == 1]:
        res = power_mcnemar(
            r["p01"] - r["p10"],
            None,
            1 - r["beta"],
            discordance=r["p01"] + r["p10"],
            alpha=r["alpha"],
            alternative=_alt(1, r["p01"], r["p10"]),
        )
        assert_allclose(res.n, r["n_closed_form"], rtol=1e-10)


def test_connor_two_sided_sample_size_is_closed_form_plus_far_tail() -> None:
    # the closed form drops the far rejection tail; with it the solved n is never larger
    for r in [r for r in CONNOR["rows"] if r["sides"] == 2]:
        res = power_mcnemar(
            r["p01"] - r["p10"],
            None,
            1 - r["beta"],
            discordance=r["p01"] + r["p10"],
            alpha=r["alpha"],
        )
        assert res.n <= r["n_closed_form"] * (1 + 1e-12)
        assert_allclose(res.n, r["n_closed_form"], rtol=1e-4)  # far tail: up to 2e-6 relative here


def test_exact_power_matches_statsmodels_exact_mcnemar_enumeration() -> None:
    for r in EXACT["rows"]:
        res = power_mcnemar(
            r["effect"],
            r["n"],
            discordance=r["discordance"],
            alpha=r["alpha"],
            alternative=r["alternative"],
            method="exact",
        )
        assert_allclose(res.power, r["power"], rtol=1e-9, atol=1e-15)


def test_exact_power_is_vectorised_over_test_set_sizes() -> None:
    rows = [r for r in EXACT["rows"] if r["alternative"] == "two-sided" and r["discordance"] == 0.3]
    res = power_mcnemar(0.1, np.array([r["n"] for r in rows]), discordance=0.3, method="exact")
    assert_allclose(res.power, [r["power"] for r in rows], rtol=1e-9)


def test_exact_sample_size_is_the_smallest_whole_n_reaching_power() -> None:
    res = power_mcnemar(0.15, None, 0.8, discordance=0.45, method="exact")
    n = int(res.n)
    grid = power_mcnemar(0.15, np.arange(1, n + 1), discordance=0.45, method="exact").power
    assert grid[-1] >= 0.8 and np.all(grid[:-1] < 0.8)
    assert (
        res.n >= power_mcnemar(0.15, None, 0.8, discordance=0.45).n
    )  # exact test is conservative here


def _simulate(
    n: int, p01: float, p10: float, reps: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cells = rng.multinomial(n, [p01, p10, 1 - p01 - p10], size=reps)
    return cells[:, 0].astype(float), cells[:, 1].astype(float)


def test_connor_power_matches_simulated_asymptotic_mcnemar_test() -> None:
    n, p01, p10, reps = 300, 0.09, 0.05, 20000
    b, c = _simulate(n, p01, p10, reps, seed=11)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(
            b + c > 0, (b - c) / np.sqrt(b + c), 0.0
        )  # McNemar without continuity correction
    rate = np.mean(np.abs(z) >= stats.norm.isf(0.025))
    expected = float(power_mcnemar(p01 - p10, n, discordance=p01 + p10).power)
    mc_se = np.sqrt(expected * (1 - expected) / reps)
    assert abs(rate - expected) < 4 * mc_se + 0.01  # 0.01: Connor's normal approximation at n = 300


def test_exact_power_matches_simulated_exact_test() -> None:
    n, p01, p10, reps = 120, 0.12, 0.04, 20000
    b, c = _simulate(n, p01, p10, reps, seed=12)
    m = b + c
    p_two = np.minimum(1.0, 2 * stats.binom.cdf(np.minimum(b, c), m, 0.5))
    rate = np.mean(p_two <= 0.05)
    expected = float(power_mcnemar(p01 - p10, n, discordance=p01 + p10, method="exact").power)
    mc_se = np.sqrt(expected * (1 - expected) / reps)
    assert abs(rate - expected) < 4 * mc_se


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"effect": 0.3, "n": 100, "discordance": 0.2}, "cannot exceed the disagreement rate"),
        (
            {"effect": 0.1, "n": 100, "discordance": 0.0},
            "'discordance' parameter must lie in \\(0, 1\\]",
        ),
        ({"effect": 0.1, "n": 100.5, "discordance": 0.3, "method": "exact"}, "whole numbers"),
        (
            {"effect": 0.1, "n": 100, "discordance": 0.3, "method": "mid-p"},
            "'method' parameter must be one of",
        ),
        ({"n": 30, "power": 0.99, "discordance": 0.1}, "as large as the disagreement rate"),
    ],
)
def test_bad_input_is_named(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        power_mcnemar(**kwargs)
