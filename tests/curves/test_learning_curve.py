"""LearningCurve: choice by held-back anchors, ensemble, bootstrap bands, validation, result contract."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from consilience._results import Summary
from consilience.curves import FAMILIES, CurveFit, LearningCurve, choose_families
from consilience.errors import DataDroppedWarning, InputError

from .conftest import ANCHORS, simulate, true_error

FRAME_COLUMNS = ["family", "formula", "n_params", "status", "reason", "rmse", "holdout_rmse", "holdout_reason",
                 "weight", "chosen", "params"]


@pytest.fixture(scope="module")
def pow4_fit() -> CurveFit:
    data = simulate("pow4", n_seeds=4, noise=0.005, seed=1)
    return LearningCurve(n_boot=60, seed=3).fit_frame(data, size_col="size", score_col="score", seed_col="seed")


def test_result_contract(pow4_fit: CurveFit) -> None:
    fit = pow4_fit
    assert repr(fit).startswith("<CurveFit ensemble ") and "\n" not in repr(fit)
    summary = fit.summary()
    assert isinstance(summary, Summary) and "Learning curve" in str(summary)
    assert "| family |" in summary.to_markdown()
    frame = fit.to_frame()
    assert list(frame.columns) == FRAME_COLUMNS and len(frame) == len(FAMILIES)
    payload = json.loads(json.dumps(fit.to_dict(), allow_nan=False))
    assert payload["chosen"] == list(fit.chosen) and payload["scheme"] == "seeds"
    assert fit.provenance.k == ANCHORS.size and fit.provenance.input_hash
    assert abs(sum(fit.weights) - 1) < 1e-12 and len(fit.chosen) == 5
    assert fit.n_boot_ok == 60 and fit.n_seeds == 4


def test_ensemble_prediction_is_a_convex_combination_of_its_families(pow4_fit: CurveFit) -> None:
    far = np.array([2.0, 8.0]) * ANCHORS[-1]
    ens = pow4_fit.point(far)
    by = {f.family: f for f in pow4_fit.fits}
    members = np.array([1 - FAMILIES[n].evaluate(far, np.asarray(by[n].params), pow4_fit.scale)
                        for n in pow4_fit.chosen])
    assert np.all(ens >= members.min(axis=0) - 1e-12) and np.all(ens <= members.max(axis=0) + 1e-12)


def test_choose_families_ranks_by_held_back_error_and_weights_by_its_inverse() -> None:
    rmse = {"last1": 0.02, "pow3": 0.01, "pow4": float("nan"), "mmf4": 0.01, "exp3": 0.04, "wbl4": 0.001}
    chosen, weights = choose_families(rmse, usable={"last1", "pow3", "pow4", "mmf4", "exp3"}, ensemble_size=3)
    assert chosen == ["pow3", "mmf4", "last1"]  # wbl4 unusable, pow4 unscored; ties keep their order
    inv = 1 / (np.array([0.01, 0.01, 0.02]) + 1e-4)
    np.testing.assert_allclose(weights, inv / inv.sum())
    best, one = choose_families(rmse, usable=set(rmse), method="select")
    assert best == ["wbl4"] and one == (1.0,)


def test_draws_are_a_weighted_mixture_of_the_chosen_families(pow4_fit: CurveFit) -> None:
    x = np.array([3.0 * ANCHORS[-1]])
    draws = pow4_fit.draws(x, calibrated=False)[:, 0]
    assert draws.size == pow4_fit.n_boot_ok
    matched = 0
    for name, weight in zip(pow4_fit.chosen, pow4_fit.weights):
        own = 1 - FAMILIES[name].evaluate(x, pow4_fit.boot_params[name], pow4_fit.scale)[:, 0]
        count = int(np.isin(draws, own).sum())
        assert abs(count - weight * pow4_fit.n_boot_ok) <= 1
        matched += count
    assert matched == draws.size  # every draw is one family's refitted curve


def test_band_brackets_the_estimate_and_widens_with_distance(pow4_fit: CurveFit) -> None:
    band = pow4_fit.predict(ANCHORS[-1] * np.array([1.0, 4.0, 16.0]))
    assert list(band.columns) == ["size", "estimate", "ci_low", "ci_high", "level"]
    assert np.all(band["ci_low"] <= band["ci_high"])
    width = (band["ci_high"] - band["ci_low"]).to_numpy()
    assert width[0] < width[2]
    at = pow4_fit.predict_at(4 * ANCHORS[-1])
    assert at.ci_low <= at.estimate <= at.ci_high and at.level == 0.95


@pytest.mark.parametrize("family", ["pow4", "mmf4", "wbl4", "exp3"])
def test_chosen_prediction_extrapolates_simulated_curves(family: str) -> None:
    data = simulate(family, n_seeds=3, noise=0.003, seed=11)
    fit = LearningCurve(n_boot=0).fit(data["size"], data["score"], data["seed"])
    far = np.array([4.0 * ANCHORS[-1]])
    assert abs(fit.point(far)[0] - (1 - true_error(family, far)[0])) < 0.01


def test_bootstrap_band_covers_the_true_curve_of_a_correctly_specified_family() -> None:
    est = LearningCurve(families=("pow3",), method="select", n_boot=100, seed=0)
    at = np.array([ANCHORS[-1], 2 * ANCHORS[-1]])
    truth = 1 - true_error("pow3", at)
    covered = 0
    for rep in range(10):
        data = simulate("pow3", n_seeds=6, noise=0.01, seed=100 + rep)
        band = est.fit(data["size"], data["score"], data["seed"]).predict(at)
        covered += int(np.all((band["ci_low"] <= truth) & (truth <= band["ci_high"])))
    assert covered >= 7


def test_same_seed_same_band_and_another_seed_another() -> None:
    data = simulate("pow3", n_seeds=4, noise=0.01, seed=5)
    one = LearningCurve(families=("last1", "pow3"), n_boot=40, seed=9)
    a = one.fit(data["size"], data["score"], data["seed"]).predict([5000.0])
    b = one.fit(data["size"], data["score"], data["seed"]).predict([5000.0])
    c = LearningCurve(families=("last1", "pow3"), n_boot=40, seed=10).fit(
        data["size"], data["score"], data["seed"]).predict([5000.0])
    pd.testing.assert_frame_equal(a, b)
    assert a["ci_low"].iloc[0] != c["ci_low"].iloc[0]


def test_row_order_does_not_matter() -> None:
    data = simulate("exp3", n_seeds=3, noise=0.01, seed=2)
    shuffled = data.sample(frac=1.0, random_state=4)
    est = LearningCurve(n_boot=0, families=("last1", "pow3", "exp3", "mmf4"))
    a = est.fit(data["size"], data["score"], data["seed"])
    b = est.fit(shuffled["size"], shuffled["score"], shuffled["seed"])
    assert a.chosen == b.chosen
    np.testing.assert_allclose(a.point([9000.0]), b.point([9000.0]), rtol=1e-9)


def test_lower_is_better_mirrors_higher_is_better() -> None:
    data = simulate("pow4", n_seeds=2, noise=0.004, seed=8)
    est = {"n_boot": 0, "families": ("last1", "pow3", "pow4")}
    up = LearningCurve(**est).fit(data["size"], data["score"], data["seed"])  # type: ignore[arg-type]
    down = LearningCurve(direction="lower", **est).fit(  # type: ignore[arg-type]
        data["size"], 1 - data["score"], data["seed"])
    assert up.chosen == down.chosen
    np.testing.assert_allclose(1 - up.point([8000.0]), down.point([8000.0]), rtol=1e-9)


def test_worst_score_bounds_the_predictions() -> None:
    error = 0.2 * (ANCHORS / ANCHORS[0]) ** 0.3  # a learner that gets worse: error passes 1 when extrapolated
    est = {"families": ("vap3",), "n_boot": 0}
    fit = LearningCurve(worst_score=0.0, **est).fit(ANCHORS, 1 - error)  # type: ignore[arg-type]
    assert fit.point([1e7])[0] == 0.0
    unbounded = LearningCurve(**est).fit(ANCHORS, 1 - error)  # type: ignore[arg-type]
    assert unbounded.point([1e7])[0] < 0


def test_bootstrap_scheme_follows_the_data() -> None:
    data = simulate("pow3", n_seeds=3, noise=0.01, seed=1)
    est = LearningCurve(families=("last1", "pow3"), n_boot=20)
    assert est.fit(data["size"], data["score"], data["seed"]).scheme == "seeds"
    assert est.fit(data["size"], data["score"]).scheme == "rows"
    one = data[data["seed"] == "s0"]
    fit = est.fit(one["size"], one["score"])
    assert fit.scheme == "residuals" and fit.n_boot_ok == 20


def test_no_bootstrap_gives_missing_intervals() -> None:
    data = simulate("pow3", n_seeds=1, noise=0.01, seed=1)
    fit = LearningCurve(n_boot=0, families=("last1", "pow3")).fit(data["size"], data["score"])
    row = fit.predict([5000.0]).iloc[0]
    assert fit.n_boot_ok == 0 and np.isnan(row["ci_low"]) and np.isfinite(row["estimate"])


def test_missing_rows_are_dropped_with_a_counted_warning() -> None:
    data = simulate("pow3", n_seeds=2, noise=0.01, seed=1)
    data.loc[[0, 5], "score"] = np.nan
    with pytest.warns(DataDroppedWarning, match="2 row"):
        fit = LearningCurve(n_boot=0, families=("last1", "pow3")).fit(data["size"], data["score"], data["seed"])
    assert fit.provenance.n_dropped == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"families": ()}, "'families' parameter must be a non-empty tuple"),
        ({"families": ("pow9",)}, "'family' parameter must be one of"),
        ({"method": "vote"}, "'method' parameter must be one of"),
        ({"loss": "cauchy2"}, "'loss' parameter must be one of"),
        ({"ensemble_size": 0}, "'ensemble_size' parameter must be >= 1"),
        ({"f_scale": -1.0}, "'f_scale' parameter must be a positive number"),
        ({"level": 120}, "'level' parameter must lie in"),
        ({"worst_score": 2.0}, "'worst_score' parameter must be a finite score on the worse side"),
    ],
)
def test_configuration_errors_name_the_parameter(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        LearningCurve(**kwargs)  # type: ignore[arg-type]


def test_choices_are_normalised() -> None:
    est = LearningCurve(method="SELECT", direction="Lower")  # type: ignore[arg-type]
    assert (est.method, est.direction) == ("select", "lower")


def test_configuration_type_errors() -> None:
    with pytest.raises(TypeError, match="'n_boot' parameter must be an integer"):
        LearningCurve(n_boot=1.5)  # type: ignore[arg-type]


def test_input_errors_name_the_input_the_value_and_the_fix() -> None:
    est = LearningCurve(n_boot=0)
    with pytest.raises(InputError, match="at least 3 distinct training-set sizes"):
        est.fit([10, 20, 20], [0.5, 0.6, 0.61])
    with pytest.raises(InputError, match=r"'sizes' must be training-set sizes > 1.*fractions"):
        est.fit([0.1, 0.2, 0.5], [0.5, 0.6, 0.7])
    with pytest.raises(InputError, match=r"must not be above perfect_score=1.*got 1.2"):
        est.fit([10, 20, 40], [0.5, 0.6, 1.2])
    with pytest.raises(InputError, match="same length"):
        est.fit([10, 20, 40], [0.5, 0.6])
    with pytest.raises(InputError, match="'seeds' must have one label per score"):
        est.fit([10, 20, 40], [0.5, 0.6, 0.7], ["a"])
    with pytest.raises(InputError, match=r"'n_holdout' parameter must leave at least 2 anchors.*n_holdout <= 1"):
        LearningCurve(n_boot=0, n_holdout=2).fit([10, 20, 40], [0.5, 0.6, 0.7])
    with pytest.raises(InputError, match=r"no family could be fitted.*mmf4: too few anchors"):
        LearningCurve(n_boot=0, families=("mmf4",)).fit([10, 20, 40, 80], [0.5, 0.6, 0.7, 0.72])
    with pytest.raises(InputError, match="curve table has no column"):
        est.fit_frame(pd.DataFrame({"n": [1]}), size_col="size", score_col="score")


def test_estimator_is_frozen_and_reusable() -> None:
    est = LearningCurve(n_boot=0, families=("last1", "pow2", "pow3"))
    with pytest.raises(AttributeError):
        est.n_boot = 5  # type: ignore[misc]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = simulate("pow2", n_seeds=1, noise=0.002, seed=3)
        first = est.fit(data["size"], data["score"])
        second = est.fit(data["size"], data["score"])
    assert first.chosen == second.chosen
