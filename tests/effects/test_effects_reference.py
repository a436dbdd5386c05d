"""Effect sizes against R metafor 3.8-1 ``escalc`` (numbers and scripts in tests/reference/metafor_escalc)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience.effects import MEASURES, effect_sizes

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "metafor_escalc"
RTOL = 1e-9


def _cases(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((REFERENCE / name).read_text())["cases"]
    return cases


def _floats(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _compute(case: dict[str, Any]) -> pd.DataFrame:
    data = pd.DataFrame({col: _floats(vals) for col, vals in case["input"].items()})
    options = case.get("options") or {}
    return effect_sizes(case["measure"], data=data, **case["columns"], **options)


ORACLE = _cases("oracle_datasets.json")
GENERATED = _cases("escalc_reference.json")


def _check(case: dict[str, Any]) -> None:
    out = _compute(case)
    for column in ("yi", "vi"):
        expected = _floats(case[column])
        assert np.isfinite(expected).any(), f"{case['id']}: reference {column} has no finite value"
        assert_allclose(
            out[column].to_numpy(),
            expected,
            rtol=RTOL,
            atol=0,
            equal_nan=True,
            err_msg=f"{case['id']} {column}",
        )


@pytest.mark.parametrize("case", ORACLE, ids=[c["id"] for c in ORACLE])
def test_published_dataset_effect_sizes_match_metafor(case: dict[str, Any]) -> None:
    _check(case)


@pytest.mark.parametrize("case", GENERATED, ids=[c["id"] for c in GENERATED])
def test_effect_sizes_match_metafor_escalc(case: dict[str, Any]) -> None:
    _check(case)


def test_reference_covers_every_registered_measure_matches_metafor() -> None:
    assert {c["measure"] for c in GENERATED} == set(MEASURES)
    assert {c["measure"] for c in ORACLE} <= set(MEASURES)


def test_zero_cell_defaults_match_metafor() -> None:
    """A double-zero study is kept and corrected by default, dropped with drop00=True."""
    by_id = {c["id"]: c for c in GENERATED}
    default = _compute(by_id["zero_cells_OR"])
    dropped = _compute(by_id["zero_cells_OR_drop00"])
    double_zero = 2  # ai = ci = 0
    assert np.isfinite(default["yi"].iloc[double_zero])
    assert np.isnan(dropped["yi"].iloc[double_zero]) and np.isnan(dropped["vi"].iloc[double_zero])
    assert_allclose(
        default["yi"].iloc[double_zero],
        _floats(by_id["zero_cells_OR"]["yi"])[double_zero],
        rtol=RTOL,
    )
