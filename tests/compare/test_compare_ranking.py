"""rank() and adjusted p-values: equal to statsmodels multipletests and to compare() row by row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests
from tests.compare._compare_helpers import runs_from_arrays

from consilience.compare import adjust_p_values, compare, rank
from consilience.errors import InputError

REFERENCE = json.loads((Path(__file__).parents[1] / "reference" / "autorank" / "reference.json").read_text())


def _four_arms() -> pd.DataFrame:
    rs = np.random.RandomState(30)
    level = rs.uniform(0.6, 0.8, size=10)
    arrays = {arm: np.clip(level + gain + rs.normal(0, 0.01 + spread, size=(4, 10)), 0, 1)
              for arm, gain, spread in (("base", 0.0, 0.0), ("small", 0.004, 0.0), ("big", 0.04, 0.0),
                                        ("wild", 0.05, 0.06), ("worse", -0.02, 0.0))}
    runs = runs_from_arrays(arrays)
    runs["cost_gpu_hours"] = runs["arm"].map({"base": 1.0, "small": 1.5, "big": 3.0, "wild": 2.0, "worse": 0.5})
    return runs


def test_adjusted_p_values_match_statsmodels_reference() -> None:
    ref = REFERENCE["multipletests"]
    np.testing.assert_allclose(adjust_p_values(ref["p"], method="holm"), ref["holm"], rtol=1e-12)
    np.testing.assert_allclose(adjust_p_values(ref["p"], method="bh"), ref["fdr_bh"], rtol=1e-12)


@settings(max_examples=10, deadline=None, database=None)  # multipletests costs ~80 ms a call
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30))
def test_adjusted_p_values_equal_statsmodels_multipletests(p: list[float]) -> None:
    np.testing.assert_allclose(adjust_p_values(p, method="holm"), multipletests(p, method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(adjust_p_values(p, method="bh"), multipletests(p, method="fdr_bh")[1], rtol=1e-12)


def test_adjusted_p_values_keep_nan_and_refuse_out_of_range() -> None:
    out = adjust_p_values([0.01, np.nan, 0.04])
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], multipletests([0.01, 0.04], method="holm")[1])
    with pytest.raises(InputError, match=r"'p_values' must lie in \[0, 1\]; got 1.5"):
        adjust_p_values([0.2, 1.5])


def test_rank_rows_equal_compare_and_adjustments_equal_statsmodels() -> None:
    runs = _four_arms()
    res = rank(runs, baseline="base")
    table = res.table
    assert list(table.columns[:3]) == ["rank", "arm", "k"]
    for row in table.itertuples(index=False):
        single = compare(runs, baseline="base", candidate=row.arm)
        assert row.estimate == single.estimate and row.ci_low == single.ci_low and row.verdict == single.verdict
        assert row.prob_better == single.prob_better
    np.testing.assert_allclose(table["p_holm"], multipletests(table["p_value"], method="holm")[1], rtol=1e-12)
    np.testing.assert_allclose(table["p_bh"], multipletests(table["p_value"], method="fdr_bh")[1], rtol=1e-12)
    assert table["robustness"].is_monotonic_decreasing
    assert table["arm"].iloc[0] == "big" and table["arm"].iloc[-1] == "worse"


def test_cost_per_unit_of_gain() -> None:
    res = rank(_four_arms(), baseline="base")
    big = res.table.set_index("arm").loc["big"]
    assert big["cost_gpu_hours"] == 3.0
    assert big["gpu_hours_per_gain"] == pytest.approx(2.0 / big["estimate"], rel=1e-12)
    worse = res.table.set_index("arm").loc["worse"]
    assert np.isnan(worse["gpu_hours_per_gain"]) and np.isnan(worse["usd_per_gain"])


def test_rank_faces_and_errors() -> None:
    runs = _four_arms()
    res = rank(runs, baseline="base", candidates=["big", "small"])
    assert list(res.table["arm"]) == ["big", "small"]
    payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert payload["ranking"][0]["arm"] == "big"
    assert "\n" not in repr(res) and "robustness" in str(res.summary())
    with pytest.raises(InputError, match=r"arm \['nope'\] not found"):
        rank(runs, baseline="nope")
    with pytest.raises(InputError, match="must not include the baseline"):
        rank(runs, baseline="base", candidates=["base", "big"])


def test_candidate_with_one_shared_task_gets_an_empty_row() -> None:
    runs = _four_arms()
    runs = runs.loc[~((runs["arm"] == "small") & (runs["task"] != "t00"))]
    with pytest.warns(Warning) as caught:
        res = rank(runs, baseline="base")
    kinds = {type(w.message).__name__ for w in caught}
    assert kinds == {"DataDroppedWarning", "SmallSampleWarning"}
    row = res.table.set_index("arm").loc["small"]
    assert row["k"] == 1 and np.isnan(row["estimate"]) and row["verdict"] == "inconclusive"
    assert row["rank"] == len(res.table)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"method": "XX"}, "'method' parameter must be one of"),
        ({"test": "t"}, "'test' parameter must be one of"),
        ({"measure": "OR"}, "'measure' parameter must be one of"),
        ({"test_variance": "on"}, "'test_variance' parameter must be one of"),
        ({"level": 120}, "'level' parameter must lie in"),
        ({"threshold": -0.1}, "'threshold' must be a finite number >= 0"),
        ({"rope": 0.0}, "'rope' must be a positive half-width"),
    ],
)
def test_rank_and_compare_refuse_the_same_options(options: dict[str, Any], match: str) -> None:
    runs = _four_arms()
    with pytest.raises(InputError, match=match):
        rank(runs, baseline="base", **options)
    with pytest.raises(InputError, match=match):
        compare(runs, baseline="base", candidate="big", **options)


def test_rank_errors_name_the_fix() -> None:
    runs = _four_arms()
    with pytest.raises(InputError, match=r"got \['base', 'big'\]\. Leave the baseline out"):
        rank(runs, baseline="base", candidates=["base", "big"])
    with pytest.raises(InputError, match="Pass one of them as baseline"):
        rank(runs, baseline="nope")
