"""Per-task effects against closed forms computed directly with numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special
from tests.compare._compare_helpers import runs_from_arrays, simulated

from consilience.compare import task_effects
from consilience.errors import DataDroppedWarning, InputError


def test_paired_effect_is_mean_of_seed_differences() -> None:
    arrays = simulated(1, runs=5, tasks=6)
    out = task_effects(runs_from_arrays(arrays), baseline="A", candidate="B")
    d = arrays["B"] - arrays["A"]
    assert (out["design"] == "paired").all()
    np.testing.assert_allclose(out["yi"], d.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(out["vi"], d.var(axis=0, ddof=1) / 5, rtol=1e-12)
    np.testing.assert_allclose(out["ci_low"], out["yi"] - 1.959963984540054 * np.sqrt(out["vi"]), rtol=1e-9)
    assert (out["test_variance_source"] == "none").all()


def test_unpaired_effect_uses_welch_variance() -> None:
    arrays = simulated(2, runs=4, tasks=5)
    runs = runs_from_arrays(arrays, seeds={"A": [0, 1, 2, 3], "B": [10, 11, 12, 13]})
    out = task_effects(runs, baseline="A", candidate="B")
    a, b = arrays["A"], arrays["B"]
    assert (out["design"] == "unpaired").all()
    np.testing.assert_allclose(out["yi"], b.mean(0) - a.mean(0), rtol=1e-12)
    np.testing.assert_allclose(out["vi"], b.var(0, ddof=1) / 4 + a.var(0, ddof=1) / 4, rtol=1e-12)


def test_lower_is_better_flips_the_sign_once() -> None:
    arrays = simulated(3)
    acc = task_effects(runs_from_arrays(arrays), baseline="A", candidate="B")
    err = task_effects(runs_from_arrays({k: 1 - v for k, v in arrays.items()}, metric="error"),
                       baseline="A", candidate="B")
    np.testing.assert_allclose(err["yi"], acc["yi"], rtol=1e-9)
    np.testing.assert_allclose(err["vi"], acc["vi"], rtol=1e-9)


def test_binomial_test_set_variance_is_added_for_proportions() -> None:
    arrays = simulated(4, runs=3, tasks=4)
    out = task_effects(runs_from_arrays(arrays, n_eval=500), baseline="A", candidate="B")
    pa, pb = arrays["A"].mean(0), arrays["B"].mean(0)
    adj = lambda p: (p * 500 + 0.5) / 501
    binom = adj(pa) * (1 - adj(pa)) / 500 + adj(pb) * (1 - adj(pb)) / 500
    d = arrays["B"] - arrays["A"]
    np.testing.assert_allclose(out["test_variance"], binom, rtol=1e-12)
    np.testing.assert_allclose(out["vi"], d.var(0, ddof=1) / 3 + binom, rtol=1e-12)
    off = task_effects(runs_from_arrays(arrays, n_eval=500), baseline="A", candidate="B", test_variance="off")
    np.testing.assert_allclose(off["vi"], d.var(0, ddof=1) / 3, rtol=1e-12)


def test_single_run_per_arm_gets_test_set_variance_only() -> None:
    runs = runs_from_arrays({"A": np.array([[0.80, 0.70]]), "B": np.array([[0.84, 0.69]])}, n_eval=1000)
    out = task_effects(runs, baseline="A", candidate="B")
    assert (out["design"] == "single").all()
    assert (out["seed_variance"] == 0).all()
    p = lambda x: (x * 1000 + 0.5) / 1001
    expected = p(0.84) * (1 - p(0.84)) / 1000 + p(0.80) * (1 - p(0.80)) / 1000
    assert out["vi"].iloc[0] == pytest.approx(expected, rel=1e-12)


def test_single_run_without_n_eval_is_a_named_error() -> None:
    runs = runs_from_arrays({"A": np.array([[0.80, 0.70]]), "B": np.array([[0.84, 0.69]])})
    with pytest.raises(InputError, match=r"task\(s\) \['t00', 't01'\] have one run per arm.*n_eval"):
        task_effects(runs, baseline="A", candidate="B")


def test_item_level_variance_is_mcnemar() -> None:
    rs = np.random.RandomState(5)
    n = 400
    a = (rs.uniform(size=n) < 0.7).astype(float)
    b = np.where(rs.uniform(size=n) < 0.85, a, 1 - a)
    rows = [pd.DataFrame({"arm": arm, "task": "t", "seed": 0, "metric": "accuracy", "item": np.arange(n), "value": v})
            for arm, v in (("A", a), ("B", b))]
    out = task_effects(pd.concat(rows), baseline="A", candidate="B")
    p10 = np.mean((b == 1) & (a == 0))
    p01 = np.mean((b == 0) & (a == 1))
    assert out["test_variance_source"].iloc[0] == "items"
    assert out["yi"].iloc[0] == pytest.approx(b.mean() - a.mean(), rel=1e-12)
    assert out["vi"].iloc[0] == pytest.approx(((p10 + p01) - (p10 - p01) ** 2) / n, rel=1e-12)


def test_smd_matches_hedges_g_closed_form() -> None:
    arrays = simulated(6, runs=6, tasks=3)
    runs = runs_from_arrays(arrays, metric="reward")
    out = task_effects(runs.assign(direction="higher"), baseline="A", candidate="B", measure="SMD")
    a, b = arrays["A"], arrays["B"]
    sp = np.sqrt((5 * a.var(0, ddof=1) + 5 * b.var(0, ddof=1)) / 10)
    m = 10
    j = np.exp(special.gammaln(m / 2) - 0.5 * np.log(m / 2) - special.gammaln((m - 1) / 2))
    g = j * (b.mean(0) - a.mean(0)) / sp
    assert (out["design"] == "unpaired").all()
    np.testing.assert_allclose(out["yi"], g, rtol=1e-10)
    np.testing.assert_allclose(out["vi"], 1 / 6 + 1 / 6 + g**2 / (2 * 12), rtol=1e-10)


def test_rom_for_lower_is_better_is_log_ratio_baseline_over_candidate() -> None:
    arrays = {"A": np.array([[2.0, 3.0], [2.2, 3.3], [1.9, 2.9]]), "B": np.array([[1.5, 3.1], [1.6, 3.0], [1.4, 3.2]])}
    out = task_effects(runs_from_arrays(arrays, metric="latency"), baseline="A", candidate="B", measure="ROM")
    np.testing.assert_allclose(out["yi"], np.log(arrays["A"].mean(0) / arrays["B"].mean(0)), rtol=1e-12)


def test_tasks_run_by_one_arm_are_dropped_with_counts() -> None:
    runs = runs_from_arrays(simulated(7, tasks=4))
    runs = runs.loc[~((runs["arm"] == "B") & (runs["task"] == "t03"))]
    with pytest.warns(DataDroppedWarning, match=r"'B': 1 of 4 tasks run by one arm only \(1 without 'B'"):
        out = task_effects(runs, baseline="A", candidate="B")
    assert list(out["task"]) == ["t00", "t01", "t02"]


def test_zero_variance_task_is_refused() -> None:
    same = np.array([[0.5, 0.6], [0.5, 0.7]])
    runs = runs_from_arrays({"A": same, "B": same + np.array([0.1, 0.0])}, metric="reward")
    with pytest.raises(InputError, match=r"\['t00', 't01'\] have zero variance"):
        task_effects(runs.assign(direction="higher"), baseline="A", candidate="B")
