"""Group analyses and the local engine: schemas, equality with single fits, errors, warnings."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from tests.scale._scale_helpers import effects_table, runs_table

from consilience import meta_analyze, meta_analyze_many
from consilience.compare import compare
from consilience.errors import (
    ConvergenceWarning,
    DataDroppedWarning,
    InputError,
    MissingDependencyError,
    SmallSampleWarning,
)
from consilience.scale import (
    ANALYSES,
    COMPARE_SCHEMA,
    META_SCHEMA,
    batch,
    compare_per_group,
    meta_per_group,
)

RESULT = ["estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "pi_low", "pi_high",
          "tau2", "se_tau2", "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low", "i2_ci_high", "h2",
          "q", "q_p_value"]


def quiet_batch(*args: object, **kwargs: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        warnings.simplefilter("ignore", SmallSampleWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return batch(*args, **kwargs)  # type: ignore[arg-type]


def test_meta_per_group_rows_equal_single_fits_exactly() -> None:
    frame = effects_table()
    out = quiet_batch(frame, by=["family", "task_id"])
    assert list(out.columns) == ["family", "task_id", *META_SCHEMA.names]
    assert len(out) == frame.groupby(["family", "task_id"]).ngroups
    for row in out.sample(12, random_state=1).itertuples(index=False):
        part = frame[(frame["task_id"] == row.task_id)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            single = meta_analyze(part["yi"], part["vi"]).to_dict()
        for col in RESULT:
            expected = np.nan if single[col] is None else single[col]
            assert_allclose(getattr(row, col), expected, rtol=0, atol=0, err_msg=col)


def test_meta_per_group_agrees_with_one_padded_call() -> None:
    frame = effects_table(seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = meta_per_group(frame, by="task_id")
        padded = meta_analyze_many(frame, by="task_id")
    assert ours["task_id"].tolist() == padded["task_id"].tolist()
    ok = padded["converged"].to_numpy()
    for col in RESULT:
        assert_allclose(ours[col].to_numpy()[ok], padded[col].to_numpy()[ok], rtol=1e-9,
                        atol=1e-12, err_msg=col)


def test_result_dtypes_follow_the_declared_schema() -> None:
    out = quiet_batch(effects_table(), by="family", method="DL", test="knha")
    for name, dtype in META_SCHEMA.columns:
        assert out[name].dtype == dtype, name
    assert set(out["method"]) == {"DL"} and set(out["test"]) == {"knha"}


def test_empty_table_gives_an_empty_result_with_every_column() -> None:
    empty = effects_table().iloc[0:0]
    out = batch(empty, by=["family", "task_id"])
    assert out.empty and list(out.columns) == ["family", "task_id", *META_SCHEMA.names]
    assert out["task_id"].dtype == np.int64 and out["converged"].dtype == bool
    runs = runs_table().iloc[0:0]
    out = batch(runs, by="experiment", analysis="compare", baseline="base", candidate="new")
    assert out.empty and list(out.columns) == ["experiment", *COMPARE_SCHEMA.names]


def test_bad_by_column_is_named_in_the_error() -> None:
    with pytest.raises(InputError, match=r"'by' names column\(s\) \['famliy'\].*Available"):
        batch(effects_table(), by=["famliy"])
    with pytest.raises(InputError, match=r"no column\(s\) \['effect'\]"):
        batch(effects_table(), by="family", yi="effect")


def test_options_are_checked_before_any_work() -> None:
    frame = effects_table()
    with pytest.raises(InputError, match=r"\['baseline'\] do not apply to analysis='meta'"):
        batch(frame, by="family", baseline="base")
    with pytest.raises(InputError, match="needs \\['candidate'\\]"):
        batch(runs_table(), by="experiment", analysis="compare", baseline="base")
    with pytest.raises(InputError, match="'method' parameter must be one of"):
        batch(frame, by="family", method="XYZ")
    with pytest.raises(InputError, match="engine='dask' only"):
        batch(frame, by="family", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(InputError, match="'analysis' parameter must be one of"):
        batch(frame, by="family", analysis="rank")  # type: ignore[arg-type]


def test_warnings_are_counted_over_the_whole_result() -> None:
    frame = effects_table()
    with pytest.warns(DataDroppedWarning, match=r"2 row\(s\) dropped .* across 2 group\(s\)"), \
            pytest.warns(SmallSampleWarning, match=r"group\(s\) have one study"):
        out = batch(frame, by="task_id")
    assert out["n_dropped"].sum() == 2


def test_invalid_group_raises_input_error() -> None:
    frame = effects_table()
    frame.loc[frame["task_id"] == 4, "vi"] = -0.1
    with pytest.raises(InputError, match="must be > 0"):
        batch(frame, by="task_id")


def test_compare_per_group_rows_equal_compare_calls() -> None:
    runs = runs_table()
    out = batch(runs, by="experiment", analysis="compare", baseline="base", candidate="new")
    assert list(out.columns) == ["experiment", *COMPARE_SCHEMA.names]
    assert out["experiment"].tolist() == ["exp0", "exp1", "exp2", "exp3"]
    for row in out.itertuples(index=False):
        res = compare(runs[runs["experiment"] == row.experiment], baseline="base", candidate="new")
        for name in ("k", "estimate", "se", "ci_low", "ci_high", "tau2", "prob_better", "verdict"):
            assert getattr(row, name) == getattr(res, name), name
    for name, dtype in COMPARE_SCHEMA.columns:
        assert out[name].dtype == dtype, name


def test_compare_error_names_the_group() -> None:
    runs = runs_table()
    runs = runs[~((runs["experiment"] == "exp2") & (runs["arm"] == "new"))]
    with pytest.raises(InputError, match=r"^group \{'experiment': 'exp2'\}: "):
        compare_per_group(runs, by="experiment", baseline="base", candidate="new")


def test_paths_are_read_by_their_suffix(tmp_path: Path) -> None:
    frame = effects_table()
    expected = quiet_batch(frame, by="task_id")
    frame.to_parquet(tmp_path / "effects.parquet")
    frame.to_csv(tmp_path / "effects.csv", index=False)
    for name in ("effects.parquet", "effects.csv"):
        out = quiet_batch(tmp_path / name, by="task_id")
        pd.testing.assert_frame_equal(out, expected)
    with pytest.raises(InputError, match="does not exist"):
        batch(tmp_path / "nope.parquet", by="task_id")


def test_missing_dask_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    hint = r"pip install 'dask\[dataframe\]' distributed"
    with pytest.raises(MissingDependencyError, match=hint):
        batch(effects_table(), by="task_id", engine="dask")


def test_every_analysis_declares_its_schema_and_columns() -> None:
    for name, spec in ANALYSES.items():
        assert spec.name == name
        assert spec.schema.names and len(set(spec.schema.names)) == len(spec.schema.names)
        empty = spec.schema.empty({"g": "int64"})
        assert list(empty.columns) == ["g", *spec.schema.names]


def test_public_names_resolve_and_dask_is_not_imported() -> None:
    import subprocess

    from consilience import scale

    for name in scale.__all__:
        assert getattr(scale, name) is not None, name
    code = ("import sys, consilience.scale, consilience.cli.batch_cmd; "
            "print('dask' in sys.modules or 'distributed' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
