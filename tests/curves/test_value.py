"""Value of more data against the closed forms of a power-law curve e(n) = a (n / s)^(-b)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from consilience.curves import CurveFit, LearningCurve, data_value
from consilience.curves.value import first_crossing
from consilience.errors import InputError

from .conftest import ANCHORS, TRUE_PARAMS, simulate, true_error

A, B = TRUE_PARAMS["pow2"]
S = float(ANCHORS[-1])


@pytest.fixture(scope="module")
def exact() -> CurveFit:
    """pow2 fitted to its own noiseless curve: the fitted curve is the closed form."""
    return LearningCurve(families=("pow2",), method="select", n_boot=0).fit(ANCHORS, 1 - true_error("pow2", ANCHORS))


@pytest.fixture(scope="module")
def noisy() -> CurveFit:
    data = simulate("pow2", n_seeds=5, noise=0.01, seed=21)
    return LearningCurve(families=("pow2",), method="select", n_boot=200, seed=1).fit(
        data["size"], data["score"], data["seed"])


def test_marginal_gain_is_the_slope_of_the_curve(exact: CurveFit) -> None:
    value = data_value(exact, label_cost=0.25)
    np.testing.assert_allclose(value.marginal_gain.estimate, A * B / S, rtol=1e-4)
    np.testing.assert_allclose(value.gain_per_usd.estimate, A * B / S / 0.25, rtol=1e-4)
    assert value.current_size == S


def test_size_for_a_target_score_inverts_the_curve(exact: CurveFit) -> None:
    target_error = 0.08
    value = data_value(exact, target_score=1 - target_error)
    np.testing.assert_allclose(value.size_for_target.estimate, S * (A / target_error) ** (1 / B), rtol=2e-3)


def test_stop_size_solves_marginal_gain_per_usd_equals_threshold(exact: CurveFit) -> None:
    cost, threshold = 0.1, 2e-5
    value = data_value(exact, label_cost=cost, min_gain_per_usd=threshold)
    expected = (A * B * S**B / (cost * threshold)) ** (1 / (B + 1))
    np.testing.assert_allclose(value.stop_size.estimate, expected, rtol=2e-3)


def test_reached_and_unreachable_targets(exact: CurveFit) -> None:
    assert data_value(exact, target_score=0.5).size_for_target.estimate == S
    far = data_value(exact, target_score=0.999, max_size=100 * S)
    assert far.size_for_target.estimate == np.inf
    assert json.loads(json.dumps(far.to_dict(), allow_nan=False))["size_for_target"]["estimate"] is None


def test_intervals_bracket_the_estimates_and_the_truth(noisy: CurveFit) -> None:
    value = data_value(noisy, label_cost=0.5, target_score=0.88, min_gain_per_usd=1e-5)
    for q in (value.marginal_gain, value.gain_per_usd, value.size_for_target, value.stop_size):
        assert q.ci_low <= q.estimate <= q.ci_high, q
    assert value.marginal_gain.ci_low <= A * B / S <= value.marginal_gain.ci_high
    assert 0.0 <= value.p_reachable <= 1.0


def test_frame_keeps_its_rows_when_quantities_are_not_asked_for(exact: CurveFit) -> None:
    frame = data_value(exact).to_frame()
    assert list(frame.columns) == ["quantity", "estimate", "ci_low", "ci_high", "level"]
    assert len(frame) == 5
    assert frame["estimate"].isna().sum() == 3  # per USD, target, stop size
    assert repr(data_value(exact)).startswith("<DataValue n=")
    assert "Value of more labelled data" in str(data_value(exact).summary())


def test_first_crossing_interpolates_in_log_size() -> None:
    grid = np.array([10.0, 100.0, 1000.0])
    values = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0], [5.0, 6.0, 7.0]])
    out = first_crossing(values, grid, 0.5, above=True)
    np.testing.assert_allclose(out, [np.sqrt(10.0) * 10.0, np.inf, 10.0])
    per_row = first_crossing(values[:1], grid, np.array([1.5]), above=True)
    np.testing.assert_allclose(per_row, [np.sqrt(10.0) * 100.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"label_cost": -1.0}, "'label_cost' parameter must be a positive"),
     ({"max_size": 10.0}, "'max_size' parameter must exceed the current size"),
     ({"target_score": float("nan")}, "'target_score' parameter must be finite")],
)
def test_value_inputs_are_checked(exact: CurveFit, kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(InputError, match=match):
        data_value(exact, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'label_cost' parameter must be a number"):
        data_value(exact, label_cost="cheap")  # type: ignore[arg-type]
