"""Friedman / Nemenyi / Wilcoxon-Holm against autorank, scipy and statsmodels (reference JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from consilience.compare import rank_tests
from consilience.errors import DataDroppedWarning, InputError

REFERENCE = json.loads((Path(__file__).parents[1] / "reference" / "autorank" / "reference.json").read_text())


def _runs(metric: str, values: np.ndarray) -> pd.DataFrame:
    blocks = REFERENCE["blocks"]
    frame = pd.DataFrame(values, index=blocks["tasks"], columns=blocks["models"])
    long = frame.rename_axis("task").reset_index().melt(id_vars="task", var_name="arm", value_name="value")
    return long.assign(seed=0, metric=metric)


@pytest.mark.parametrize(("section", "metric", "scale"), [("higher_is_better", "score", 1.0),
                                                         ("lower_is_better", "loss", 1.0)])
def test_rank_tests_match_autorank_and_scipy(section: str, metric: str, scale: float) -> None:
    ref = REFERENCE[section]
    values = np.asarray(REFERENCE["blocks"]["values"]) * scale
    runs = _runs(metric, values)
    if metric == "score":
        runs = runs.assign(direction="higher")
    res = rank_tests(runs)
    ranks = res.ranks.set_index("arm")["mean_rank"]
    for arm, expected in ref["autorank"]["meanrank"].items():
        assert ranks[arm] == pytest.approx(expected, rel=1e-12)
    assert res.statistic == pytest.approx(ref["friedman"]["statistic"], rel=1e-10)
    assert res.p_value == pytest.approx(ref["friedman"]["p_value"], rel=1e-8)
    assert res.p_value == pytest.approx(ref["autorank"]["pvalue"], rel=1e-8)
    # autorank's CD uses statsmodels' qsturng, an interpolation accurate to about 1e-4; ours is
    # scipy's exact studentized range quantile.
    assert res.cd == pytest.approx(ref["autorank"]["cd"], rel=2e-4)
    got = res.pairwise.set_index(["arm_a", "arm_b"])
    for (a, b), p, p_holm, w in zip(ref["wilcoxon"]["pairs"], ref["wilcoxon"]["p_value"], ref["wilcoxon"]["p_holm"],
                                    ref["wilcoxon"]["statistic"], strict=True):
        row = got.loc[(a, b)] if (a, b) in got.index else got.loc[(b, a)]
        assert row["p_value"] == pytest.approx(p, rel=1e-10)
        assert row["p_holm"] == pytest.approx(p_holm, rel=1e-10)
        assert row["statistic"] == pytest.approx(w, rel=1e-12)


def test_critical_difference_matches_demsar_table() -> None:
    for k, q05 in enumerate(REFERENCE["demsar_q05"], start=2):
        rs = np.random.RandomState(k)
        values = rs.normal(size=(12, k))
        runs = pd.DataFrame({"task": np.repeat(np.arange(12), k).astype(str), "arm": np.tile([f"a{i}" for i in range(k)], 12),
                             "seed": 0, "metric": "score", "value": values.ravel(), "direction": "higher"})
        if k < 3:
            continue
        res = rank_tests(runs)
        assert res.cd == pytest.approx(q05 * np.sqrt(k * (k + 1) / (6 * 12)), abs=2e-3)


def test_friedman_equals_scipy_with_ties_and_seed_means() -> None:
    rs = np.random.RandomState(3)
    x = np.round(rs.uniform(0.6, 0.9, size=(2, 15, 4)), 2)
    runs = pd.DataFrame({"task": np.tile(np.repeat(np.arange(15), 4), 2).astype(str),
                         "arm": np.tile(list("abcd"), 30), "seed": np.repeat([0, 1], 60),
                         "metric": "accuracy", "value": x.ravel()})
    res = rank_tests(runs)
    blocks = x.mean(axis=0)
    ref = stats.friedmanchisquare(*blocks.T)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.p_value == pytest.approx(ref.pvalue, rel=1e-10)


def test_incomplete_tasks_are_dropped_and_small_designs_refused() -> None:
    runs = _runs("score", np.asarray(REFERENCE["blocks"]["values"])).assign(direction="higher")
    partial = runs.loc[~((runs["arm"] == "m1") & (runs["task"] == "task00"))]
    with pytest.warns(DataDroppedWarning, match="1 of 30 tasks without runs of every arm left out"):
        assert rank_tests(partial).n_tasks == 29
    with pytest.raises(InputError, match="at least three arms"):
        rank_tests(runs, arms=["m1", "m2"])
    res = rank_tests(runs)
    assert "\n" not in repr(res) and json.dumps(res.to_dict(), allow_nan=False)
    assert "Friedman" in str(res.summary())
