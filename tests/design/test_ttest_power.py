"""t-test power over seeds against statsmodels' TTestIndPower and TTestPower."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from consilience.design import power_paired, power_ttest
from consilience.errors import InputError

from ._refs import load

REF = load("statsmodels_power", "statsmodels_power.json")


def _rows(section: str, part: str, key: str) -> list[dict]:
    return [r for r in REF[section][part] if r[key] is not None]


def test_ttest_ind_power_matches_statsmodels() -> None:
    max_rel = 0.0
    for alt in ("two-sided", "larger", "smaller"):
        for ratio in (1.0, 2.0):
            rows = [
                r
                for r in _rows("ttest_ind", "power", "power")
                if r["alternative"] == alt and r["ratio"] == ratio
            ]
            d = np.array([r["effect_size"] for r in rows])
            n = np.array([r["n"] for r in rows])
            res = power_ttest(d, n, sd=1.0, ratio=ratio, alternative=alt)  # one vectorised call
            expected = np.array([r["power"] for r in rows])
            assert_allclose(res.power, expected, rtol=1e-6, atol=1e-14)
            max_rel = max(max_rel, float(np.max(np.abs(res.power / expected - 1))))
    assert max_rel < 1e-7  # observed 6e-9: scipy's nct.sf against statsmodels' 1 - nctdtr


def test_ttest_ind_solve_n_matches_statsmodels() -> None:
    for r in REF["ttest_ind"]["solve_n"]:
        res = power_ttest(
            r["effect_size"],
            None,
            r["power"],
            ratio=r["ratio"],
            alpha=r["alpha"],
            alternative=r["alternative"],
        )
        assert_allclose(res.n, r["root"], rtol=1e-9)
        if not np.isnan(r["solve_power"]):  # statsmodels returns NaN where its root finder fails
            assert_allclose(res.n, r["solve_power"], rtol=1e-6)
        assert res.n_required == np.ceil(r["root"])


def test_ttest_ind_solve_effect_matches_statsmodels() -> None:
    for r in REF["ttest_ind"]["solve_effect"]:
        res = power_ttest(
            None,
            r["n"],
            r["power"],
            sd=2.0,
            ratio=r["ratio"],
            alpha=r["alpha"],
            alternative=r["alternative"],
        )
        assert_allclose(res.effect_size, r["root"], rtol=1e-9)
        assert_allclose(res.effect, 2.0 * r["root"], rtol=1e-9)
        assert_allclose(
            res.effect_size, r["solve_power"], rtol=1e-5
        )  # statsmodels stops at xtol=1e-5


def test_paired_power_matches_statsmodels_on_difference_scale() -> None:
    rows = _rows("ttest_paired", "power", "power")
    rho, sd = 0.6, 0.5
    sd_diff = sd * np.sqrt(2 * (1 - rho))
    for alt in ("two-sided", "larger", "smaller"):
        sel = [r for r in rows if r["alternative"] == alt]
        effect = (
            np.array([r["effect_size"] for r in sel]) * sd_diff
        )  # d_z = delta / (sd sqrt(2(1-rho)))
        res = power_paired(effect, np.array([r["n"] for r in sel]), sd=sd, rho=rho, alternative=alt)
        assert_allclose(res.power, [r["power"] for r in sel], rtol=1e-6, atol=1e-14)
        assert_allclose(res.effect_size, [r["effect_size"] for r in sel], rtol=1e-12)


def test_paired_solve_n_and_effect_match_statsmodels() -> None:
    for r in REF["ttest_paired"]["solve_n"]:
        res = power_paired(
            r["effect_size"],
            None,
            r["power"],
            alpha=r["alpha"],
            rho=0.5,
            alternative=r["alternative"],
        )
        assert_allclose(res.n, r["root"], rtol=1e-9)
    for r in REF["ttest_paired"]["solve_effect"]:
        res = power_paired(None, r["n"], r["power"], alpha=r["alpha"], alternative=r["alternative"])
        if r["root"] is not None:
            assert_allclose(res.effect_size, r["root"], rtol=1e-9)
        assert_allclose(res.effect_size, r["solve_power"], rtol=1e-5)


def test_solved_values_reproduce_the_target_power() -> None:
    res = power_ttest(np.linspace(0.1, 2.0, 40), None, 0.8, ratio=1.5)
    back = power_ttest(res.effect, res.n, None, ratio=1.5)
    assert_allclose(back.power, 0.8, rtol=1e-12)
    res_e = power_paired(None, np.arange(3, 30), np.full(27, 0.9), rho=0.3, alternative="larger")
    assert_allclose(
        power_paired(res_e.effect, res_e.n, rho=0.3, alternative="larger").power, 0.9, rtol=1e-12
    )


def test_power_curve_broadcasts_effects_against_seeds() -> None:
    res = power_ttest(np.array([[0.2], [0.5], [1.0]]), np.array([3, 5, 10, 20]))
    assert np.shape(res.power) == (3, 4)
    assert np.all(np.diff(res.power, axis=0) > 0) and np.all(np.diff(res.power, axis=1) > 0)
    frame = res.to_frame()
    assert len(frame) == 12
    assert list(frame.columns) == [
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


def test_positive_correlation_between_arms_needs_fewer_pairs() -> None:
    n = [power_paired(0.3, None, 0.8, sd=1.0, rho=rho).n for rho in (0.0, 0.5, 0.9)]
    assert n[0] > n[1] > n[2]
    # same d_z, same pairs: rho = 0.5 with sd = 1 is rho = 0 with sd = sqrt(1/2)
    assert_allclose(power_paired(0.3, None, 0.8, sd=np.sqrt(0.5), rho=0.0).n, n[1], rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"effect": 0.5}, "Exactly one of effect, n, power"),
        ({"effect": 0.5, "n": 5, "power": 0.8}, "Exactly one"),
        ({"effect": 0.0, "power": 0.8}, "zero or points away"),
        ({"effect": -0.5, "power": 0.8, "alternative": "larger"}, "points away"),
        ({"effect": 0.5, "power": 0.01}, "must exceed alpha"),
        ({"effect": 0.5, "n": 1.0}, "'n' must lie in"),
        ({"effect": 0.5, "n": 5, "sd": -1.0}, "'sd' parameter must be finite and > 0"),
        (
            {"effect": 0.5, "n": 5, "alpha": 1.5},
            "'alpha' parameter must lie strictly between 0 and 1",
        ),
        (
            {"effect": 0.5, "n": 5, "alternative": "greater"},
            "'alternative' parameter must be one of",
        ),
    ],
)
def test_bad_input_is_named(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        power_ttest(**kwargs)


def test_paired_rejects_rho_of_one() -> None:
    with pytest.raises(InputError, match=r"'rho' parameter must lie in \[-1, 1\)"):
        power_paired(0.5, 5, rho=1.0)
