"""Decision table: labelling budgets against candidate model changes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from consilience.curves import CurveFit, LearningCurve, value_of_options
from consilience.errors import InputError

from .conftest import ANCHORS, TRUE_PARAMS, simulate, true_error

A, B = TRUE_PARAMS["pow2"]
S = float(ANCHORS[-1])
COLUMNS = ["option", "kind", "cost_usd", "n_labels", "gain", "gain_ci_low", "gain_ci_high", "gain_per_usd",
           "gain_per_usd_ci_low", "gain_per_usd_ci_high", "p_best", "p_beats_labels", "break_even_label_cost", "rank"]


def candidates(*rows: tuple[str, float, float, float, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["name", "effect", "ci_low", "ci_high", "cost_usd"])


@pytest.fixture(scope="module")
def exact() -> CurveFit:
    return LearningCurve(families=("pow2",), method="select", n_boot=0).fit(ANCHORS, 1 - true_error("pow2", ANCHORS))


def data_gain(n_labels: float) -> float:
    return A - A * ((S + n_labels) / S) ** -B


def test_labelling_gains_follow_the_curve(exact: CurveFit) -> None:
    table = value_of_options(exact, 0.5, candidates(("m", 0.01, 0.0, 0.02, 300.0)), budgets=[100.0, 1000.0]).table
    assert list(table.columns) == COLUMNS
    data = table[table["kind"] == "data"]
    np.testing.assert_allclose(data["n_labels"], [200.0, 2000.0])
    np.testing.assert_allclose(data["gain"], [data_gain(200), data_gain(2000)], rtol=1e-9)
    np.testing.assert_allclose(data["gain_per_usd"], data["gain"] / data["cost_usd"])
    assert abs(table["p_best"].sum() - 1) < 1e-12


def test_break_even_label_cost_equalises_the_two_options(exact: CurveFit) -> None:
    effect, cost = 0.03, 1000.0
    out = value_of_options(exact, 0.5, candidates(("m", effect, 0.02, 0.04, cost)))
    price = float(out.table.loc[out.table["kind"] == "model", "break_even_label_cost"].iloc[0])
    np.testing.assert_allclose(data_gain(cost / price), effect, rtol=5e-3)


def test_break_even_limits(exact: CurveFit) -> None:
    out = value_of_options(exact, 0.5, candidates(("worse", -0.01, -0.02, 0.0, 100.0),
                                                  ("beyond any data", A + 0.05, A, A + 0.1, 100.0)))
    model = out.table[out.table["kind"] == "model"].set_index("option")
    assert model.loc["worse", "break_even_label_cost"] == np.inf
    assert model.loc["beyond any data", "break_even_label_cost"] == 0.0
    json.dumps(out.to_dict(), allow_nan=False)


def test_scenarios_pick_the_winner_on_each_reading(exact: CurveFit) -> None:
    budget_gain = data_gain(1000 / 0.5)
    # Expected effect below what the same money buys in labels, optimistic bound far above it.
    out = value_of_options(exact, 0.5, candidates(("gamble", 0.5 * budget_gain, -0.1, 0.5, 1000.0)))
    labels = out.table.loc[out.table["kind"] == "data", "option"].iloc[0]
    assert out.winners["expected"] == labels
    assert out.winners["data_optimistic"] == labels
    assert out.winners["models_optimistic"] == "gamble"
    assert repr(out).startswith("<OptionsTable 2 options")
    assert "winner (expected)" in str(out.summary())


def test_p_best_matches_the_normal_probability(exact: CurveFit) -> None:
    # Labels are made hopeless (a huge budget), so the contest is between two normal effects.
    cand = candidates(("a", 0.02, 0.0, 0.04, 100.0), ("b", 0.015, 0.005, 0.025, 100.0))
    out = value_of_options(exact, 0.5, cand, budgets=[1e9], n_draws=20000, seed=4)
    se_a, se_b = 0.04 / (2 * 1.959964), 0.02 / (2 * 1.959964)
    expected = norm.cdf((0.02 - 0.015) / np.hypot(se_a, se_b))
    got = float(out.table.set_index("option").loc["a", "p_best"])
    assert abs(got - expected) < 0.015


def test_bootstrap_uncertainty_reaches_the_data_rows() -> None:
    data = simulate("pow2", n_seeds=5, noise=0.01, seed=2)
    fit = LearningCurve(families=("pow2",), n_boot=100, seed=2).fit(data["size"], data["score"], data["seed"])
    out = value_of_options(fit, 0.5, candidates(("m", 0.01, 0.005, 0.015, 500.0)), seed=3)
    row = out.table.iloc[0]
    assert row["gain_ci_low"] < row["gain"] < row["gain_ci_high"]
    beats = out.table["p_beats_labels"].iloc[1]
    assert 0.0 <= beats <= 1.0 and out.n_draws == 4000


def test_lower_is_better_curves_give_positive_gains() -> None:
    loss = 0.3 + 2.0 * (ANCHORS / ANCHORS[0]) ** -0.5
    fit = LearningCurve(families=("pow3",), direction="lower", n_boot=0).fit(ANCHORS, loss)
    out = value_of_options(fit, 1.0, candidates(("m", 0.05, 0.0, 0.1, 200.0)))
    assert out.table["gain"].iloc[0] > 0


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"name": ["a"], "effect": [0.1]}), "candidates has no column"),
        (candidates(("a", 0.1, 0.0, 0.2, 10.0), ("a", 0.1, 0.0, 0.2, 10.0)), "must be unique"),
        (candidates(("a", 0.1, 0.2, 0.3, 10.0)), "ci_low <= effect <= ci_high"),
        (candidates(("a", 0.1, 0.0, 0.2, 0.0)), "'cost_usd' must be > 0"),
        (candidates(("a", float("nan"), 0.0, 0.2, 1.0)), "'effect' must not be missing"),
        (candidates((None, 0.1, 0.0, 0.2, 1.0)), "'name' must be non-empty"),  # type: ignore[arg-type]
    ],
)
def test_candidate_errors_name_the_rule(exact: CurveFit, frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(InputError, match=match):
        value_of_options(exact, 0.5, frame)


def test_other_input_errors(exact: CurveFit) -> None:
    with pytest.raises(TypeError, match="'candidates' must be a pandas DataFrame"):
        value_of_options(exact, 0.5, [("a", 0.1, 0.0, 0.2, 1.0)])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="at least one labelling budget"):
        value_of_options(exact, 0.5, candidates())
    with pytest.raises(InputError, match="'label_cost' parameter must be a positive"):
        value_of_options(exact, 0.0, candidates(("a", 0.1, 0.0, 0.2, 1.0)))
