"""compare(): per-task effects pooled by meta_analyze, predictive probability and verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from tests.compare._compare_helpers import runs_from_arrays, simulated

from consilience.compare import compare, load_lcdb_example, task_effects
from consilience.errors import DataDroppedWarning, InputError, SmallSampleWarning
from consilience.pooling import meta_analyze


def test_compare_pools_task_effects_with_meta_analyze() -> None:
    runs = runs_from_arrays(simulated(10, tasks=9, spread=0.01), n_eval=2000)
    res = compare(runs, baseline="A", candidate="B", method="REML", test="knha")
    tasks = task_effects(runs, baseline="A", candidate="B")
    ref = meta_analyze(tasks["yi"], tasks["vi"], method="REML", test="knha")
    for name in ("k", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "p_value", "df"):
        assert getattr(res, name) == getattr(ref, name), name


def test_prob_better_is_the_predictive_t_probability() -> None:
    res = compare(runs_from_arrays(simulated(11, tasks=7, spread=0.02)), baseline="A", candidate="B")
    expected = stats.t.sf(-res.estimate / np.sqrt(res.se**2 + res.tau2), res.k - 1)
    assert res.prob_better == pytest.approx(expected, rel=1e-12)
    z = compare(runs_from_arrays(simulated(11, tasks=7, spread=0.02)), baseline="A", candidate="B", test="z")
    assert z.prob_better == pytest.approx(stats.norm.sf(-z.estimate / np.sqrt(z.se**2 + z.tau2)), rel=1e-12)


def test_swapping_arms_negates_the_effect() -> None:
    runs = runs_from_arrays(simulated(12, tasks=8, gain=0.03))
    ab = compare(runs, baseline="A", candidate="B")
    ba = compare(runs, baseline="B", candidate="A")
    assert ba.estimate == pytest.approx(-ab.estimate, rel=1e-9)
    assert ba.tau2 == pytest.approx(ab.tau2, rel=1e-6, abs=1e-12)
    assert ab.verdict == "robust improvement" and ba.verdict == "regression"
    assert ba.prob_better == pytest.approx(1 - ab.prob_better, rel=1e-9)


def test_row_order_does_not_matter() -> None:
    runs = runs_from_arrays(simulated(13, tasks=6, spread=0.01))
    shuffled = runs.sample(frac=1.0, random_state=1)
    assert compare(shuffled, baseline="A", candidate="B").estimate == pytest.approx(
        compare(runs, baseline="A", candidate="B").estimate, rel=1e-12)


def test_heterogeneous_gain_is_not_general() -> None:
    res = compare(runs_from_arrays(simulated(14, tasks=12, gain=0.03, spread=0.03)), baseline="A", candidate="B")
    assert res.verdict == "improvement, not general"
    assert res.ci_low > 0 > res.pi_low


def test_equivalence_and_inconclusive_with_sample_size() -> None:
    flat = runs_from_arrays(simulated(15, tasks=10, gain=0.0, noise=0.002))
    assert compare(flat, baseline="A", candidate="B", rope=0.01).verdict == "equivalent"
    noisy = runs_from_arrays(simulated(16, runs=3, tasks=5, gain=0.02, noise=0.03))
    res = compare(noisy, baseline="A", candidate="B", test="z")
    assert res.verdict == "inconclusive"
    assert res.seeds_needed is not None and res.seeds_needed > 3
    assert res.tasks_needed is not None and res.tasks_needed > 5


def test_result_faces() -> None:
    res = compare(runs_from_arrays(simulated(17)), baseline="A", candidate="B")
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert payload["verdict"] == res.verdict and len(payload["tasks"]) == res.k
    assert payload["provenance"]["options"]["baseline"] == "A"
    assert "\n" not in repr(res) and repr(res).startswith("<Comparison B vs A")
    assert "verdict" in str(res.summary()) and "| verdict |" in res.summary().to_markdown()
    assert list(res.to_frame()["task"]) == [f"t{i:02d}" for i in range(8)]


def test_bad_options_are_refused() -> None:
    runs = runs_from_arrays(simulated(18))
    with pytest.raises(InputError, match="must differ"):
        compare(runs, baseline="A", candidate="A")
    with pytest.raises(InputError, match="'method' parameter must be one of"):
        compare(runs, baseline="A", candidate="B", method="XX")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'rope' must be a positive"):
        compare(runs, baseline="A", candidate="B", rope=-1)


def test_lcdb_random_forest_beats_logistic_regression_on_average() -> None:
    runs = load_lcdb_example()
    with pytest.warns(DataDroppedWarning, match="43 of 244 tasks run by one arm only"):
        res = compare(runs, baseline="LogisticRegression", candidate="RandomForestClassifier")
    assert res.k == 201
    assert res.verdict == "improvement, not general"
    assert (res.tasks["test_variance_source"] == "binomial").all()


def test_one_task_cannot_generalise() -> None:
    runs = runs_from_arrays(simulated(19, tasks=1, gain=0.05))
    with pytest.raises(InputError, match="test='knha' needs at least 2 tasks"):
        compare(runs, baseline="A", candidate="B")
    with pytest.warns(SmallSampleWarning, match="only one study"):
        res = compare(runs, baseline="A", candidate="B", test="z")
    assert res.k == 1 and np.isnan(res.pi_low) and np.isnan(res.prob_better)
    assert res.verdict == "improvement, not general"
