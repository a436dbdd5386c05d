"""Aggregates, probability of improvement and performance profiles against rliable 1.2.0.

Point estimates are compared exactly. Intervals come from two different random streams, so they
agree within Monte-Carlo error: a percentile bound from B replicates has a standard error of about
sqrt(a(1 - a) / B) / phi(z_a) bootstrap SDs, 0.012 SD for B = 50,000 and a = 0.025, i.e. 0.3% of
the 95% interval's width (3.92 SD). Two independent bounds differ with an SD of 0.43% of the width;
the tolerance is 2% of the width (more than 4.5 SDs) for 50,000 replicates and 10% for 2,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from consilience.compare import (
    MetricSpec,
    aggregate,
    performance_profile,
    probability_of_improvement,
)
from consilience.compare._bootstrap import arm_generator, count_chunks, iqm_from_counts, score_sets
from consilience.errors import DataDroppedWarning, InputError

REF = json.loads((Path(__file__).parents[1] / "reference" / "rliable" / "reference.json").read_text())
SPEC = {"score": MetricSpec(direction="higher", kind="continuous")}


def _runs() -> pd.DataFrame:
    frames = []
    for arm, matrix in REF["scores"].items():
        m = np.asarray(matrix)
        runs, tasks = m.shape
        frames.append(pd.DataFrame({"arm": arm, "task": np.tile([f"t{t:02d}" for t in range(tasks)], runs),
                                    "seed": np.repeat(np.arange(runs), tasks), "metric": "score", "value": m.ravel()}))
    return pd.concat(frames, ignore_index=True)


def _within(got_low: float, got_high: float, ref: dict, share: float, step: float = 0.0) -> None:
    width = ref["ci_high"] - ref["ci_low"]
    assert abs(got_low - ref["ci_low"]) <= share * width + step
    assert abs(got_high - ref["ci_high"]) <= share * width + step


# Arm C is rounded to 0.1, so its task means move in steps of 0.01 and their median (of an even
# number of tasks) in steps of 0.005: a percentile may land one lattice step away.
STEP = {"A": 0.0, "B": 0.0, "C": 0.005 + 1e-12}


def test_aggregates_match_rliable() -> None:
    res = aggregate(_runs(), metrics=SPEC, reps=REF["reps"], seed=0)
    table = res.table.set_index(["arm", "statistic"])
    for arm, stats_ref in REF["aggregates"].items():
        for name, ref in stats_ref.items():
            row = table.loc[(arm, name)]
            assert row["estimate"] == ref["estimate"], (arm, name)
            _within(row["ci_low"], row["ci_high"], ref, 0.02, STEP[arm])


def test_probability_of_improvement_matches_rliable() -> None:
    for ref in REF["probability_of_improvement"].values():
        res = probability_of_improvement(_runs(), x=ref["x"], y=ref["y"], metrics=SPEC, reps=REF["reps_small"])
        assert res.estimate == pytest.approx(ref["estimate"], rel=1e-15, abs=0)
        _within(res.ci_low, res.ci_high, ref, 0.10)


@pytest.mark.parametrize("kind", ["runs", "tasks"])
def test_performance_profiles_match_rliable(kind: str) -> None:
    res = performance_profile(_runs(), metrics=SPEC, taus=REF["taus"], kind=kind, reps=REF["reps_small"])
    n = 120 if kind == "runs" else 12
    for arm, ref in REF["profiles"][kind].items():
        got = res.table.loc[res.table["arm"] == arm]
        np.testing.assert_array_equal(got["estimate"], ref["estimate"])
        width = np.asarray(ref["ci_high"]) - np.asarray(ref["ci_low"])
        # Profiles are fractions in steps of 1/n: allow one step on top of the Monte-Carlo share.
        assert np.all(np.abs(got["ci_low"] - ref["ci_low"]) <= 0.10 * width + 1 / n + 1e-12)
        assert np.all(np.abs(got["ci_high"] - ref["ci_high"]) <= 0.10 * width + 1 / n + 1e-12)


def test_bootstrap_replicates_equal_direct_resampling() -> None:
    """Count-matrix statistics equal rliable's functions on explicitly resampled score matrices."""
    runs = _runs()
    ss = score_sets(runs.loc[runs["arm"] == "C"], sorted(runs["task"].unique()))["C"]
    order = np.argsort(ss.scores, kind="stable")
    rng = arm_generator(5, "C")
    counts = next(count_chunks(ss, 50, rng, order))
    m = np.asarray(REF["scores"]["C"])
    s_sorted = ss.scores[order]
    t_sorted = ss.task_index[order]
    iqm = iqm_from_counts(counts, s_sorted)
    for b in range(counts.shape[0]):
        resampled = np.repeat(s_sorted, counts[b])
        tasks = np.repeat(t_sorted, counts[b])
        matrix = np.stack([resampled[tasks == t] for t in range(m.shape[1])], axis=1)
        assert matrix.shape == m.shape
        assert iqm[b] == pytest.approx(stats.trim_mean(matrix, 0.25, axis=None), rel=1e-12)
        assert counts[b].sum() == m.size


def test_bootstrap_is_deterministic_and_arm_keyed() -> None:
    runs = _runs()
    one = aggregate(runs, metrics=SPEC, reps=500, seed=3)
    two = aggregate(runs, metrics=SPEC, reps=500, seed=3)
    pd.testing.assert_frame_equal(one.table, two.table)
    other = aggregate(runs, metrics=SPEC, reps=500, seed=4)
    assert not np.allclose(one.table["ci_low"], other.table["ci_low"])
    alone = aggregate(runs.loc[runs["arm"] == "B"], metrics=SPEC, reps=500, seed=3)
    pd.testing.assert_frame_equal(alone.table.reset_index(drop=True),
                                  one.table.loc[one.table["arm"] == "B"].reset_index(drop=True))


def test_ragged_tasks_and_lower_is_better() -> None:
    runs = _runs()
    ragged = runs.loc[~((runs["task"] == "t00") & (runs["seed"] >= 6))]
    res = aggregate(ragged, metrics=SPEC, reps=300, arms=["A"])
    a = ragged.loc[ragged["arm"] == "A"]
    task_means = a.groupby("task")["value"].mean()
    mean_row = res.table.set_index("statistic").loc["mean"]
    assert mean_row["estimate"] == pytest.approx(task_means.mean(), rel=1e-12)
    assert mean_row["ci_low"] < mean_row["estimate"] < mean_row["ci_high"]
    assert res.table.set_index("statistic").loc["iqm", "estimate"] == pytest.approx(
        stats.trim_mean(a["value"], 0.25), rel=1e-12)
    loss = runs.assign(metric="loss")
    gap = aggregate(loss, reps=200, statistics=["optimality_gap"], arms=["A"])
    assert gap.gamma == 0.0
    assert gap.table["estimate"].iloc[0] == pytest.approx(np.mean(np.maximum(loss.loc[loss["arm"] == "A", "value"], 0.0)))


def test_aggregate_faces_and_errors() -> None:
    runs = _runs()
    res = aggregate(runs, metrics=SPEC, reps=200)
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert set(payload["arms"]["A"]) == {"mean", "median", "iqm", "optimality_gap"}
    assert set(payload["arms"]["A"]["iqm"]) == {"estimate", "ci_low", "ci_high"}
    assert "\n" not in repr(res) and "percentile" in str(res.summary())
    with pytest.raises(InputError, match="'reps' parameter must be a positive integer"):
        aggregate(runs, metrics=SPEC, reps=0)
    with pytest.raises(InputError, match="'statistics' parameter must be one of"):
        aggregate(runs, metrics=SPEC, statistics=["mode"])  # type: ignore[list-item]
    partial = runs.loc[~((runs["arm"] == "A") & (runs["task"] == "t03"))]
    with pytest.warns(DataDroppedWarning, match="1 task"):
        assert aggregate(partial, metrics=SPEC, reps=100).table["n_tasks"].iloc[0] == 11
    poi = probability_of_improvement(runs, x="B", y="A", metrics=SPEC, reps=100)
    assert "\n" not in repr(poi) and json.dumps(poi.to_dict(), allow_nan=False)
    with pytest.raises(InputError, match="must differ"):
        probability_of_improvement(runs, x="A", y="A", metrics=SPEC)
