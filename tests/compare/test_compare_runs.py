"""Validation of the runs table: every refusal names the input, the rule, the rows and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.compare._compare_helpers import runs_from_arrays, simulated

from consilience.compare import MetricSpec, resolve_metric, validate_runs
from consilience.errors import DataDroppedWarning, InputError


@pytest.fixture
def runs() -> pd.DataFrame:
    return runs_from_arrays(simulated(0, runs=3, tasks=4))


def test_valid_table_keeps_canonical_columns(runs: pd.DataFrame) -> None:
    table = validate_runs(runs, metric="accuracy")
    assert list(table.frame.columns[:6]) == ["experiment", "arm", "task", "seed", "metric", "value"]
    assert table.arms == ["A", "B"]
    assert table.spec == MetricSpec("higher", "proportion")
    assert table.n_dropped == 0


def test_missing_column_is_named_with_available_columns(runs: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"no column 'task'.*Available columns.*task_col"):
        validate_runs(runs.drop(columns="task"))


def test_mapped_column_names(runs: pd.DataFrame) -> None:
    renamed = runs.rename(columns={"task": "dataset", "arm": "model"})
    table = validate_runs(renamed, task_col="dataset", arm_col="model")
    assert set(table.frame["task"]) == set(runs["task"])
    with pytest.raises(InputError, match=r"'task' \(looked for 'data_set'\)"):
        validate_runs(renamed, task_col="data_set", arm_col="model")


def test_unknown_arm_lists_the_arms_present(runs: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"arm \['C'\] not found.*Arms present: \['A', 'B'\]"):
        validate_runs(runs, arms=["A", "C"])


def test_unknown_metric_lists_the_metrics_present(runs: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"metric \['f1'\] not found.*Metrics present: \['accuracy'\]"):
        validate_runs(runs, metric="f1")


def test_several_metrics_need_a_choice(runs: pd.DataFrame) -> None:
    both = pd.concat([runs, runs.assign(metric="loss")])
    with pytest.raises(InputError, match=r"'metric' must be given.*\['accuracy', 'loss'\]"):
        validate_runs(both)


def test_duplicate_runs_are_refused_with_rows(runs: pd.DataFrame) -> None:
    dup = pd.concat([runs, runs.iloc[[5]]], ignore_index=True)
    with pytest.raises(InputError, match=r"must appear once; duplicates at row 5 .*row 24"):
        validate_runs(dup)


def test_mixed_directions_are_refused(runs: pd.DataFrame) -> None:
    both = pd.concat([runs, runs.assign(metric="error")])
    with pytest.raises(InputError, match="mixed directions"):
        validate_runs(both, metric=["accuracy", "error"])
    flagged = runs.assign(direction=np.where(np.arange(len(runs)) % 2, "higher", "lower"))
    with pytest.raises(InputError, match=r"mixed directions \['higher', 'lower'\]"):
        validate_runs(flagged)


def test_direction_column_overrides_the_default(runs: pd.DataFrame) -> None:
    table = validate_runs(runs.assign(metric="reward", direction="lower"))
    assert table.spec.direction == "lower"


def test_non_numeric_value_is_named(runs: pd.DataFrame) -> None:
    bad = runs.astype({"value": object})
    bad.loc[3, "value"] = "n/a?"
    with pytest.raises(InputError, match=r"'value' must be numeric; got 'n/a\?' at row 3 \(A/t03/seed 0\)"):
        validate_runs(bad)


def test_proportion_out_of_range_suggests_rescaling(runs: pd.DataFrame) -> None:
    pct = runs.assign(value=runs["value"] * 100)
    with pytest.raises(InputError, match="Divide percentages by 100"):
        validate_runs(pct)


def test_failed_runs_and_missing_values_are_dropped_with_counts(runs: pd.DataFrame) -> None:
    marked = runs.assign(status="finished")
    marked.loc[[0, 1], "status"] = "FAILED"
    marked.loc[2, "value"] = np.nan
    with pytest.warns(DataDroppedWarning, match=r"2 runs with status 'FAILED' \(2\); 1 runs with a missing value"):
        table = validate_runs(marked)
    assert table.n_dropped == 3
    assert len(table.frame) == len(runs) - 3


def test_missing_seed_and_bad_n_eval_are_named(runs: pd.DataFrame) -> None:
    no_seed = runs.astype({"seed": float})
    no_seed.loc[4, "seed"] = np.nan
    with pytest.raises(InputError, match="'seed' must be set.*row 4"):
        validate_runs(no_seed)
    with pytest.raises(InputError, match="'n_eval' must be a positive number"):
        validate_runs(runs.assign(n_eval=0))


def test_metric_defaults_and_overrides() -> None:
    assert resolve_metric("val_accuracy").direction == "higher"
    assert resolve_metric("test/loss") == MetricSpec("lower", "continuous")
    assert resolve_metric("error_rate").kind == "proportion"
    assert resolve_metric("latency").direction == "lower"
    assert resolve_metric("bleu", {"bleu": MetricSpec("higher", "bounded")}).kind == "bounded"
    with pytest.raises(InputError, match=r"metric 'bleu' has no known direction.*MetricSpec"):
        resolve_metric("bleu")
    with pytest.raises(TypeError, match="must be a MetricSpec"):
        resolve_metric("bleu", {"bleu": "higher"})  # type: ignore[dict-item]
    with pytest.raises(InputError, match="'direction' parameter must be one of"):
        MetricSpec(direction="up")  # type: ignore[arg-type]
