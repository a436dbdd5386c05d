"""Boundary checks of effect_sizes: every rule gives a named InputError or TypeError."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience.effects import effect_sizes
from consilience.errors import InputError

MEANS: dict[str, Any] = {
    "m1i": [10.0, 12.0],
    "sd1i": [2.0, 3.0],
    "n1i": [20, 25],
    "m2i": [9.0, 11.0],
    "sd2i": [2.5, 3.0],
    "n2i": [22, 25],
}


def test_unknown_measure_lists_the_measures() -> None:
    with pytest.raises(
        InputError, match=r"'measure' parameter must be one of .*'SMD'.*'SMCC'.*Got 'HEDGES'"
    ):
        effect_sizes("HEDGES", **MEANS)


def test_measure_is_case_insensitive() -> None:
    assert_allclose(effect_sizes("smd", **MEANS)["yi"], effect_sizes("SMD", **MEANS)["yi"])


def test_measure_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="'measure'"):
        effect_sizes(3, **MEANS)  # type: ignore[arg-type]


def test_missing_argument_names_what_the_measure_needs() -> None:
    args = {k: v for k, v in MEANS.items() if k != "sd2i"}
    with pytest.raises(
        InputError, match=r"'SMD'.*needs m1i, sd1i, n1i, m2i, sd2i, n2i; missing: sd2i"
    ):
        effect_sizes("SMD", **args)


def test_missing_group_size_or_complement_is_named() -> None:
    with pytest.raises(InputError, match=r"missing: di or n2i"):
        effect_sizes("OR", ai=[1], bi=[9], ci=[2])


def test_argument_the_measure_does_not_use_is_refused() -> None:
    with pytest.raises(InputError, match=r"'MD'.*does not use ri"):
        effect_sizes("MD", **MEANS, ri=[0.5, 0.5])


def test_non_numeric_value_names_column_and_row() -> None:
    data = pd.DataFrame({"a": [1, 2, 3], "b": [5, "x", 7], "c": [1, 1, 1], "d": [4, 4, 4]})
    with pytest.raises(InputError, match=r"'bi' \(column 'b'\) must be numeric; got 'x' at row 1"):
        effect_sizes("RR", ai="a", bi="b", ci="c", di="d", data=data)


def test_infinite_value_is_refused() -> None:
    with pytest.raises(InputError, match=r"'ri' must be finite; got inf at row 1"):
        effect_sizes("ZCOR", ri=[0.2, np.inf], ni=[10, 10])


@pytest.mark.parametrize(
    ("measure", "kwargs", "pattern"),
    [
        (
            "RR",
            {"ai": [1, -1], "bi": [5, 5], "ci": [1, 1], "di": [5, 5]},
            r"'ai' must be >= 0 .*got -1 at row 1",
        ),
        (
            "OR",
            {"ai": [1, 2], "n1i": [5, -5], "ci": [1, 1], "n2i": [5, 5]},
            r"'n1i' must be >= 0 .*got -5 at row 1",
        ),
        ("MD", {**MEANS, "n2i": [22, 0]}, r"'n2i' must be > 0 .*got 0 at row 1"),
        (
            "SMD",
            {**MEANS, "sd1i": [-2.0, 3.0]},
            r"'sd1i' must be >= 0 .*got -2 at row 0.*standard deviations",
        ),
        (
            "COR",
            {"ri": [0.5, 1.2], "ni": [10, 10]},
            r"'ri' must lie between -1 and 1 .*got 1.2 at row 1",
        ),
        ("ZCOR", {"ri": [0.5, 0.2], "ni": [10, 0]}, r"'ni' must be > 0 .*got 0 at row 1"),
        (
            "MC",
            {"m1i": [1], "m2i": [2], "sd1i": [1], "sd2i": [1], "ni": [10], "ri": [-1.5]},
            r"'ri' must lie between",
        ),
        ("PR", {"xi": [-1, 2], "ni": [10, 10]}, r"'xi' must be >= 0 .*row 0"),
        ("PLO", {"xi": [0, 0], "mi": [3, 0]}, r"'ni' \(= xi \+ mi\) must be > 0 .*got 0 at row 1"),
    ],
)
def test_value_rules_name_input_value_and_row(
    measure: str, kwargs: dict[str, Any], pattern: str
) -> None:
    with pytest.raises(InputError, match=pattern):
        effect_sizes(measure, **kwargs)


def test_events_larger_than_group_size_are_refused() -> None:
    with pytest.raises(InputError, match=r"'ci' must be <= n2i .*got ci=12 and n2i=10 at row 0"):
        effect_sizes("RD", ai=[1], n1i=[10], ci=[12], n2i=[10])
    with pytest.raises(InputError, match=r"'xi' must be <= ni .*got xi=11 and ni=10 at row 1"):
        effect_sizes("PLO", xi=[3, 11], ni=[10, 10])


def test_inconsistent_counts_and_group_size_are_refused() -> None:
    with pytest.raises(
        InputError, match=r"'n1i' must equal ai \+ bi; got n1i=10 but ai \+ bi = 11 at row 0"
    ):
        effect_sizes("OR", ai=[3], bi=[8], n1i=[10], ci=[2], di=[8])


def test_consistent_counts_and_group_size_are_accepted() -> None:
    both = effect_sizes("OR", ai=[3], bi=[7], n1i=[10], ci=[2], di=[8], n2i=[10])
    assert_allclose(
        both["yi"], effect_sizes("OR", ai=[3], bi=[7], ci=[2], di=[8])["yi"], rtol=1e-15
    )


def test_row_labels_of_data_appear_in_messages() -> None:
    data = pd.DataFrame({"r": [0.2, -3.0], "n": [30, 40]}, index=["run-a", "run-b"])
    with pytest.raises(InputError, match=r"row 1 \('run-b'\)"):
        effect_sizes("COR", ri="r", ni="n", data=data)


def test_unequal_lengths_are_refused() -> None:
    with pytest.raises(InputError, match=r"one value per study; got lengths"):
        effect_sizes("ZCOR", ri=[0.1, 0.2, 0.3], ni=[10, 20])
    with pytest.raises(InputError, match=r"data has 2 rows"):
        effect_sizes("ZCOR", ri="r", ni=[10, 20, 30], data=pd.DataFrame({"r": [0.1, 0.2]}))


def test_missing_column_is_named() -> None:
    with pytest.raises(InputError, match=r"no column\(s\) \['nn'\]"):
        effect_sizes("ZCOR", ri="r", ni="nn", data=pd.DataFrame({"r": [0.1], "n": [10]}))


def test_column_name_without_data_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"'ri' is the column name 'r', but no data="):
        effect_sizes("ZCOR", ri="r", ni=[10])


def test_data_must_be_a_dataframe() -> None:
    with pytest.raises(TypeError, match=r"'data' must be a pandas DataFrame"):
        effect_sizes("ZCOR", ri="r", ni="n", data={"r": [0.1], "n": [10]})  # type: ignore[arg-type]


def test_zero_cell_options_are_checked() -> None:
    kwargs: dict[str, Any] = {"ai": [0], "n1i": [10], "ci": [2], "n2i": [10]}
    with pytest.raises(InputError, match=r"'add' parameter must be a finite number >= 0. Got -1"):
        effect_sizes("OR", **kwargs, add=-1)
    with pytest.raises(TypeError, match=r"'add' parameter must be a number"):
        effect_sizes("OR", **kwargs, add="0.5")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"'to' parameter must be one of"):
        effect_sizes("OR", **kwargs, to="zeros")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"'drop00' parameter must be True or False"):
        effect_sizes("OR", **kwargs, drop00="yes")  # type: ignore[arg-type]


def test_result_is_a_copy_of_data_with_yi_vi_appended_or_replaced() -> None:
    data = pd.DataFrame({"study": ["a", "b"], "yi": [9.0, 9.0], **MEANS}, index=[10, 11])
    before = data.copy()
    columns: dict[str, Any] = {k: k for k in MEANS}
    out = effect_sizes("MD", data=data, **columns)
    pd.testing.assert_frame_equal(data, before)
    assert list(out.columns) == ["study", "yi", *MEANS, "vi"]
    assert list(out.index) == [10, 11]
    assert_allclose(out["yi"], [1.0, 1.0])
    assert out.attrs["measure"] == "MD"


def test_array_and_column_inputs_agree_and_scalars_broadcast() -> None:
    data = pd.DataFrame({**MEANS, "r": [0.4, 0.4]})
    by_column = effect_sizes(
        "SMCC", m1i="m1i", m2i="m2i", sd1i="sd1i", sd2i="sd2i", ni="n1i", ri="r", data=data
    )
    by_array = effect_sizes(
        "SMCC",
        m1i=MEANS["m1i"],
        m2i=MEANS["m2i"],
        sd1i=MEANS["sd1i"],
        sd2i=MEANS["sd2i"],
        ni=pd.Series(MEANS["n1i"], index=[5, 6]),
        ri=0.4,
    )
    assert list(by_array.columns) == ["yi", "vi"]
    assert_allclose(by_array[["yi", "vi"]].to_numpy(), by_column[["yi", "vi"]].to_numpy(), rtol=0)


def test_undefined_effects_are_nan_without_warning() -> None:
    out = effect_sizes(
        "ROM", m1i=[-1.0, 2.0], sd1i=[1, 1], n1i=[5, 5], m2i=[1.0, 1.0], sd2i=[1, 1], n2i=[5, 5]
    )
    assert np.isnan(out["yi"].iloc[0]) and np.isnan(out["vi"].iloc[0])
    assert np.isfinite(out.loc[1, ["yi", "vi"]].to_numpy(dtype=float)).all()


def test_missing_input_gives_nan_for_that_study_only() -> None:
    out = effect_sizes("OR", ai=[np.nan, 3], n1i=[10, 10], ci=[2, 2], n2i=[10, 10])
    assert np.isnan(out["yi"].iloc[0]) and np.isnan(out["vi"].iloc[0])
    assert np.isfinite(out["yi"].iloc[1])


def test_empty_input_gives_empty_table() -> None:
    out = effect_sizes("ZCOR", ri=[], ni=[])
    assert list(out.columns) == ["yi", "vi"] and len(out) == 0


def test_effects_package_exports_resolve() -> None:
    from consilience import effects

    assert sorted(effects.__all__) == ["MEASURES", "Measure", "effect_sizes", "hedges_correction"]
    assert all(hasattr(effects, name) for name in effects.__all__)
    assert set(effects.MEASURES) == {
        "MD", "SMD", "ROM", "RD", "RR", "OR", "PLO", "PR", "ZCOR", "COR", "MC", "SMCC",
    }  # fmt: skip
