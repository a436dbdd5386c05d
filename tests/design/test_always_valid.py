"""Normal-mixture confidence sequence against R confseq; optional stopping by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from consilience.design import confidence_sequence
from consilience.errors import DataDroppedWarning, InputError

from ._refs import load

REF = load("confseq", "confseq_normal_mixture.json")


def _path_through(sums: list[float], times: list[int]) -> np.ndarray:
    """Differences whose running sum equals sums[j] at observation times[j]."""
    x = np.zeros(times[-1])
    previous = 0.0
    for s, t in zip(sums, times):
        x[t - 1] = s - previous
        previous = s
    return x


def test_boundary_and_e_value_match_confseq() -> None:
    times = [int(t) for t in REF["t"]]
    x = _path_through(REF["s"], times)
    cs = confidence_sequence(
        x, sd=REF["sd"], optimize_at=REF["optimize_at"], alpha=REF["alpha"], looks=times
    )
    radius = (cs.ci_high - cs.ci_low) / 2
    assert_allclose(radius * cs.n, REF["bound"], rtol=1e-10)
    assert_allclose(np.log(cs.e_value), REF["log_mixture"], rtol=1e-10, atol=1e-13)
    assert_allclose(cs.estimate, np.array(REF["s"]) / np.array(times), rtol=1e-12)


def test_interval_excludes_null_exactly_when_p_value_is_below_alpha() -> None:
    rng = np.random.default_rng(5)
    cs = confidence_sequence(rng.normal(0.25, 1.0, 400), sd=1.0, optimize_at=200, null=0.0)
    outside = (cs.ci_low > 0) | (cs.ci_high < 0)
    now = cs.e_value >= 1 / cs.alpha
    assert np.array_equal(outside, now)
    assert cs.recommend[-1] == "stop" and cs.recommend[0] == "continue"
    assert np.all(np.diff(cs.p_value) <= 0)  # running minimum


def test_optional_stopping_keeps_type_one_error_below_alpha_by_simulation() -> None:
    rng = np.random.default_rng(31337)
    reps, n, alpha = 2000, 400, 0.05
    data = rng.normal(0.0, 2.0, size=(reps, n))
    ever = np.array(
        [
            confidence_sequence(row, sd=2.0, optimize_at=100, alpha=alpha).recommend[-1] == "stop"
            for row in data
        ]
    )
    mc_se = np.sqrt(alpha * (1 - alpha) / reps)
    assert ever.mean() <= alpha + 3 * mc_se
    # peeking with the fixed-sample z test after every observation would reject far more often
    z = np.cumsum(data, axis=1) / (2.0 * np.sqrt(np.arange(1, n + 1)))
    assert np.mean(np.any(np.abs(z) >= stats.norm.isf(alpha / 2), axis=1)) > 3 * alpha


def test_missing_differences_are_dropped_with_a_count() -> None:
    with pytest.warns(DataDroppedWarning, match="2 missing difference"):
        cs = confidence_sequence([0.1, np.nan, 0.3, np.nan, 0.2], sd=1.0, optimize_at=10)
    assert cs.n.tolist() == [1, 2, 3]
    assert cs.provenance is not None and cs.provenance.n_dropped == 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sd": 0.0, "optimize_at": 10}, "'sd' parameter must be finite and > 0"),
        ({"sd": 1.0, "optimize_at": 0}, "'optimize_at' parameter must be a positive whole number"),
        ({"sd": 1.0, "optimize_at": 10, "looks": [3, 2]}, "'looks' must be increasing"),
        (
            {"sd": 1.0, "optimize_at": 10, "null": float("nan")},
            "'null' parameter must be a finite number",
        ),
    ],
)
def test_bad_input_is_named(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        confidence_sequence([0.1, 0.2, 0.3], **kwargs)
