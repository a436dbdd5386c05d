"""The plain-language sentences: one per question, read off the result's fields."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from consilience.report.narrative import describe, executive_summary, heterogeneity_words

BASE = {"experiment": "warmup", "baseline": "base", "metric": "accuracy", "measure": "MD",
        "level": 0.95, "threshold": 0.0, "k": 12, "p_value": 0.0004, "i2": 80.0,
        "seeds_needed": None, "tasks_needed": None}


def row(**fields: object) -> dict[str, object]:
    return {**BASE, **fields}


def test_robust_improvement_says_ship_it() -> None:
    f = describe(row(estimate=0.021, ci_low=0.012, ci_high=0.030, pi_low=0.004, pi_high=0.038,
                     prob_better=0.99, verdict="robust improvement", i2=12.0))
    assert f.what == ("warmup improves accuracy over base by 2.1 percentage points on average "
                      "across 12 tasks (95% CI +1.2 to +3.0 points).")
    assert f.certainty.startswith("We are confident the average gain is real")
    assert "(p < 0.001)" in f.certainty
    assert f.generality.startswith("It generalises") and "little" in f.generality
    assert f.next_step == "Next: ship it; warmup can become the new baseline."


def test_prediction_interval_crossing_zero_is_called_out() -> None:
    f = describe(row(estimate=0.02, ci_low=0.01, ci_high=0.03, pi_low=-0.05, pi_high=0.09,
                     prob_better=0.74, verdict="improvement, not general"))
    assert f.generality.startswith("It does not hold on every task")
    assert "crosses zero" in f.generality
    assert "the chance it beats base on a new task is 74%" in f.generality
    assert "vary a lot between tasks (I² = 80%)" in f.generality
    assert f.next_step.startswith("Next: ship it only where it helps")


def test_inconclusive_asks_for_more_seeds_or_more_data() -> None:
    both = describe(row(estimate=0.004, ci_low=-0.002, ci_high=0.010, pi_low=-0.01,
                        pi_high=0.02, prob_better=0.7, verdict="inconclusive", seeds_needed=9,
                        tasks_needed=40))
    assert both.certainty.startswith("We cannot tell yet whether it helps")
    assert "includes zero" in both.certainty
    assert both.next_step == ("Next: run more seeds (9 per arm on every task) or collect more "
                              "data (about 40 tasks like these) to settle it.")
    seeds = describe(row(estimate=0.004, ci_low=-0.002, ci_high=0.01, pi_low=-0.01,
                         pi_high=0.02, verdict="inconclusive", seeds_needed=9))
    assert seeds.next_step == "Next: run more seeds (9 per arm on every task) to settle it."
    data = describe(row(estimate=0.004, ci_low=-0.002, ci_high=0.01, pi_low=-0.01,
                        pi_high=0.02, verdict="inconclusive", tasks_needed=300))
    assert "more seeds will not settle it" in data.next_step and "300 tasks" in data.next_step
    stuck = describe(row(estimate=0.001, ci_low=-0.002, ci_high=0.004, pi_low=-0.01,
                         pi_high=0.01, verdict="inconclusive", threshold=0.01))
    assert "reaches into ±1.0 percentage point" in stuck.certainty
    assert stuck.next_step.startswith("Next: stop here")


def test_regression_and_equivalence() -> None:
    worse = describe(row(estimate=-0.03, ci_low=-0.05, ci_high=-0.01, pi_low=-0.08,
                         pi_high=0.02, prob_better=0.2, verdict="regression"))
    assert worse.what.startswith("warmup does worse than base on accuracy, by 3.0 percentage")
    assert worse.generality.startswith("It is not worse on every task")
    assert worse.next_step == "Next: do not ship it; close the experiment as rejected."
    same = describe(row(estimate=0.0005, ci_low=-0.001, ci_high=0.002, pi_low=-0.002,
                        pi_high=0.003, verdict="equivalent", rope=0.005))
    assert "±0.5 percentage points, the region of practical equivalence" in same.certainty
    assert "keep whichever is simpler or cheaper" in same.next_step


def test_continuous_metrics_keep_their_units() -> None:
    f = describe(row(metric="loss", estimate=0.0213, ci_low=0.01, ci_high=0.0326,
                     pi_low=0.002, pi_high=0.04, verdict="robust improvement"))
    assert "improves loss over base by 0.0213 on average" in f.what
    assert "points" not in f.what


def test_single_task_has_no_prediction_interval() -> None:
    f = describe(row(k=1, estimate=0.02, ci_low=0.01, ci_high=0.03, pi_low=math.nan,
                     pi_high=math.nan, prob_better=math.nan, verdict="improvement, not general"))
    assert "across 1 task " in f.what
    assert f.generality.startswith("With 1 task there is no prediction interval")


def test_rows_that_could_not_be_compared() -> None:
    f = describe({"experiment": "mlp", "baseline": "rf", "error": "no complete runs"})
    assert f.verdict == "not compared"
    assert f.what == "mlp could not be compared with rf: no complete runs."


@pytest.mark.parametrize(("i2", "words"), [(0, "little"), (30, "moderately"),
                                          (60, "substantially"), (90, "a lot"),
                                          (math.nan, "an unknown amount")])
def test_heterogeneity_words_follow_cochrane_bands(i2: float, words: str) -> None:
    assert heterogeneity_words(i2) == words


def test_executive_summary_counts_and_orders() -> None:
    frame = pd.DataFrame([
        row(experiment="a", estimate=-0.03, ci_low=-0.05, ci_high=-0.01, pi_low=-0.08,
            pi_high=0.02, prob_better=0.2, verdict="regression"),
        row(experiment="b", estimate=0.02, ci_low=0.01, ci_high=0.03, pi_low=0.001,
            pi_high=0.04, prob_better=0.97, verdict="robust improvement"),
        row(experiment="c", estimate=0.0, ci_low=-0.01, ci_high=0.01, pi_low=-0.02,
            pi_high=0.02, prob_better=0.5, verdict="inconclusive"),
    ])
    s = executive_summary(frame, metric="accuracy")
    assert s.headline == ("3 candidates compared on accuracy: 1 robust improvement, 1 "
                          "inconclusive comparison and 1 regression. The strongest is b.")
    assert [f.subject for f in s.findings] == ["b", "c", "a"]
    assert s.next_steps[0] == "b: ship it; b can become the new baseline."
    assert s.sentences()[0] == s.headline
    assert s.to_dict()["findings"][0]["verdict"] == "robust improvement"
    empty = executive_summary([], metric="accuracy")
    assert empty.headline.startswith("Nothing was compared on accuracy")


def test_describe_reads_a_comparison() -> None:
    from consilience import compare
    from tests.report_html.conftest import three_arm_runs

    res = compare(three_arm_runs(), baseline="base", candidate="good")
    f = describe(res, subject="good")
    assert f.verdict == res.verdict
    assert f"across {res.k} tasks" in f.what
