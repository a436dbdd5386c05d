"""Automatic judgements from the evidence runs carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from scipy import stats
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience.design import power_proportions
from consilience.quality.rules import (
    judge_eval_size,
    judge_preregistration,
    judge_reporting,
    judge_seeds,
    judge_tuning,
    not_judged,
    required_eval_size,
)


def _runs(seeds_b: dict[str, list[int]], seeds_c: dict[str, list[int]],
          status: str = "complete") -> pd.DataFrame:
    rows = []
    for arm, per in (("baseline", seeds_b), ("candidate", seeds_c)):
        for task, seeds in per.items():
            for s in seeds:
                rows.append({"arm": arm, "task": task, "seed": s, "metric": "accuracy",
                             "value": 0.8, "status": status})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.8, 0.97, 0.995])
def test_required_eval_size_matches_power_proportions(p: float) -> None:
    d = 0.01
    want = power_proportions(effect=d if p + d < 1 else -d, power=0.8, baseline=p, alpha=0.05)
    assert_allclose(required_eval_size(np.array([p]), d)[0], want.n, rtol=1e-6)


def test_seeds_rule() -> None:
    same = _runs({"a": [0, 1, 2], "b": [0, 1]}, {"a": [0, 1, 2], "b": [0, 1]})
    low = judge_seeds(same, baseline="baseline", candidate="candidate")
    assert low.judgement == "low" and low.source == "auto"
    assert low.evidence["min_seeds"] == 2 and low.evidence["tasks"] == 2
    chosen = _runs({"a": [0, 1, 2]}, {"a": [3, 4, 5]})
    assert judge_seeds(chosen, baseline="baseline", candidate="candidate").judgement == (
        "some concerns")
    missing_one = _runs({"a": [0, 1, 2]}, {"a": [0, 1]})  # a missing seed is a reporting matter
    assert judge_seeds(missing_one, baseline="baseline", candidate="candidate").judgement == "low"
    single = _runs({"a": [0]}, {"a": [0]})
    got = judge_seeds(single, baseline="baseline", candidate="candidate")
    assert got.judgement == "high" and got.evidence["tasks_with_one_run"] == 1
    few = _runs({f"t{i}": [0] if i == 0 else [0, 1] for i in range(20)},
                {f"t{i}": [0, 1] for i in range(20)})
    assert judge_seeds(few, baseline="baseline", candidate="candidate").judgement == (
        "some concerns")
    failed = _runs({"a": [0, 1]}, {"a": [0, 1]}, status="failed")
    assert judge_seeds(failed, baseline="baseline", candidate="candidate").judgement == "unknown"


def test_tuning_rule() -> None:
    assert judge_tuning(None, 10, source="x").judgement == "unknown"
    assert judge_tuning(100, 105, source="x").judgement == "low"
    high = judge_tuning(20, 100, source="the runs")
    assert high.judgement == "high" and "5x" in (high.note or "")
    assert judge_tuning(100, 20, source="x").judgement == "some concerns"


def test_eval_size_rule() -> None:
    need = float(np.ceil(required_eval_size(np.array([0.8]), 0.02)[0]))
    tasks = pd.DataFrame({"task": ["a", "b"], "n_eval": [need, need], "p_baseline": [0.8, 0.8]})
    assert judge_eval_size(tasks, min_effect=0.02, metric="accuracy").judgement == "low"
    # Two tasks whose sets cannot detect 0.02 alone, but whose pooled test-set noise gives power
    # Phi(0.5) = 0.69: some concerns. With 50 such tasks the pooled claim is well powered: low.
    z = float(stats.norm.ppf(0.975))
    n_mid = float(np.ceil(0.8 * 0.2 * ((z + 0.5) / 0.02) ** 2))
    half = tasks.assign(n_eval=[n_mid, n_mid])
    mid = judge_eval_size(half, min_effect=0.02, metric="accuracy")
    assert mid.judgement == "some concerns" and mid.evidence["tasks_adequate"] == 0
    se = np.sqrt(0.8 * 0.2 / n_mid)  # sqrt(sum 2p(1-p)/n) / k with k = 2
    assert_allclose(mid.evidence["pooled_power"], stats.norm.cdf(0.02 / se - z), rtol=1e-12)
    many = pd.DataFrame({"task": [f"t{i}" for i in range(50)], "n_eval": n_mid, "p_baseline": 0.8})
    pooled = judge_eval_size(many, min_effect=0.02, metric="accuracy")
    assert pooled.judgement == "low" and "per-task wins are mostly test-set noise" in (pooled.note or "")
    small = tasks.assign(n_eval=[100.0, 100.0])
    got = judge_eval_size(small, min_effect=0.02, metric="accuracy")
    assert got.judgement == "high" and got.evidence["tasks_adequate"] == 0
    assert judge_eval_size(tasks, min_effect=None, metric="accuracy").judgement == "unknown"
    empty = tasks.iloc[0:0]
    assert judge_eval_size(empty, min_effect=0.02, metric=None).judgement == "unknown"
    planned = judge_eval_size(empty, min_effect=0.02, metric=None, planned_n_eval=300)
    assert planned.judgement == "high" and planned.evidence["source"].startswith("planned")


def test_preregistration_rule() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert judge_preregistration([], t0).judgement == "some concerns"
    assert judge_preregistration([("p", t0 - timedelta(days=1))], t0).judgement == "low"
    assert judge_preregistration([("p", t0)], None).judgement == "low"
    late = judge_preregistration([("p", t0 + timedelta(hours=1))], t0)
    assert late.judgement == "high" and "after the first run" in (late.note or "")


def test_reporting_rule() -> None:
    full = _runs({"a": [0, 1], "b": [0, 1]}, {"a": [0, 1], "b": [0, 1]})
    got = judge_reporting(full, baseline="baseline", candidate="candidate", planned_seeds=2)
    assert got.judgement == "low" and got.evidence["runs_planned"] == 8
    some = judge_reporting(full, baseline="baseline", candidate="candidate", planned_seeds=2)
    assert some.evidence["missing_share"] == 0
    short = judge_reporting(full.iloc[:-1], baseline="baseline", candidate="candidate",
                            planned_seeds=2)
    assert short.judgement == "some concerns" and short.evidence["runs_complete"] == 7
    planned_more = judge_reporting(full, baseline="baseline", candidate="candidate",
                                   planned_seeds=5, status="running")
    assert planned_more.judgement == "high" and "running" in (planned_more.note or "")
    assert judge_reporting(full.iloc[0:0], baseline="baseline", candidate="candidate",
                           planned_seeds=2).judgement == "unknown"


def test_items_the_registry_cannot_judge_stay_unknown_with_what_to_check() -> None:
    for item in ("test_set_untouched", "no_leakage"):
        got = not_judged(item)
        assert got.judgement == "unknown" and got.note and "check" in got.note
