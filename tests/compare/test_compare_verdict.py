"""The verdict rule (truth table) and the sample size that would settle an inconclusive result."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from consilience.compare import VERDICTS, sample_size_to_conclude, verdict
from consilience.errors import InputError

CASES = [
    # ci_low, ci_high, pi_low, pi_high, threshold, rope, expected
    (0.01, 0.03, 0.005, 0.035, 0.0, None, "robust improvement"),
    (0.01, 0.03, -0.02, 0.06, 0.0, None, "improvement, not general"),
    (0.01, 0.03, float("nan"), float("nan"), 0.0, None, "improvement, not general"),
    (0.01, 0.03, 0.015, 0.035, 0.02, None, "inconclusive"),
    (0.03, 0.05, 0.025, 0.06, 0.02, None, "robust improvement"),
    (-0.03, -0.01, -0.04, 0.0, 0.0, None, "regression"),
    (-0.03, -0.01, -0.04, 0.0, 0.02, None, "inconclusive"),
    (-0.01, 0.02, -0.03, 0.04, 0.0, None, "inconclusive"),
    (-0.004, 0.004, -0.01, 0.01, 0.0, 0.005, "equivalent"),
    (0.001, 0.004, 0.0005, 0.0045, 0.0, 0.005, "equivalent"),
    (-0.004, 0.006, -0.01, 0.01, 0.0, 0.005, "inconclusive"),
]


@pytest.mark.parametrize(("ci_low", "ci_high", "pi_low", "pi_high", "threshold", "rope", "expected"), CASES)
def test_verdict_truth_table(ci_low: float, ci_high: float, pi_low: float, pi_high: float, threshold: float,
                             rope: float | None, expected: str) -> None:
    got = verdict(ci_low=ci_low, ci_high=ci_high, pi_low=pi_low, pi_high=pi_high, threshold=threshold, rope=rope)
    assert got == expected
    assert got in VERDICTS


def test_verdict_refuses_bad_margins() -> None:
    with pytest.raises(InputError, match="'threshold' must be a finite number >= 0"):
        verdict(ci_low=0, ci_high=1, pi_low=0, pi_high=1, threshold=-0.1)
    with pytest.raises(InputError, match="'rope' must be a positive half-width"):
        verdict(ci_low=0, ci_high=1, pi_low=0, pi_high=1, rope=0.0)


def _tasks(k: int, var_d: float, n: int) -> pd.DataFrame:
    return pd.DataFrame({"design": "paired", "n_baseline": n, "n_candidate": n, "n_pairs": n,
                         "vi": np.full(k, var_d / n), "seed_variance": np.full(k, var_d / n)})


def test_seeds_and_tasks_needed_match_the_closed_form() -> None:
    k, var_d, n, estimate = 10, 0.004, 3, 0.01
    tasks = _tasks(k, var_d, n)
    se = math.sqrt(var_d / n / k)
    z = stats.norm.isf(0.025)
    assert z * se > estimate  # inconclusive as observed
    seeds, n_tasks = sample_size_to_conclude(tasks, estimate=estimate, se=se, tau2=0.0, test="z", level=0.95)
    assert seeds == math.floor(z**2 * var_d / (k * estimate**2)) + 1
    assert n_tasks == math.floor(k * (z * se / estimate) ** 2) + 1


def test_between_task_variance_is_a_floor_for_seeds() -> None:
    tasks = _tasks(5, 0.004, 3)
    se = math.sqrt(1 / np.sum(1 / (tasks["vi"] + 0.01)))
    seeds, n_tasks = sample_size_to_conclude(tasks, estimate=0.01, se=se, tau2=0.01, test="knha", level=0.95)
    assert seeds is None
    assert n_tasks is not None and n_tasks > 5


def test_no_sample_size_when_estimate_sits_between_the_margins() -> None:
    tasks = _tasks(5, 0.004, 3)
    assert sample_size_to_conclude(tasks, estimate=0.001, se=0.01, tau2=0.0, test="z", level=0.95,
                                   threshold=0.005) == (None, None)
    seeds, _ = sample_size_to_conclude(tasks, estimate=0.001, se=0.01, tau2=0.0, test="z", level=0.95, rope=0.01)
    assert seeds is not None
