"""The package's public names, and the result contract every curves result honours."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from consilience import curves
from consilience._results import Provenance, Summary
from consilience.curves import LearningCurve, data_value, value_of_options

from .conftest import simulate


def test_all_names_resolve_once() -> None:
    assert len(set(curves.__all__)) == len(curves.__all__)
    for name in curves.__all__:
        assert getattr(curves, name) is not None, name


def _fit() -> Any:
    data = simulate("pow3", n_seeds=3, noise=0.005, seed=0)
    return LearningCurve(families=("last1", "pow3", "pow4"), n_boot=30).fit(data["size"], data["score"], data["seed"])


def _value() -> Any:
    return data_value(_fit(), label_cost=0.2, target_score=0.92, min_gain_per_usd=1e-6)


def _options() -> Any:
    cand = pd.DataFrame({"name": ["m"], "effect": [0.01], "ci_low": [0.0], "ci_high": [0.02], "cost_usd": [100.0]})
    return value_of_options(_fit(), 0.2, cand)


@pytest.mark.parametrize("make", [_fit, _value, _options], ids=["CurveFit", "DataValue", "OptionsTable"])
def test_result_contract(make: Callable[[], Any]) -> None:
    result = make()
    text = repr(result)
    assert text.startswith("<") and text.endswith(">") and "\n" not in text
    assert isinstance(result.summary(), Summary) and str(result.summary())
    assert result.summary()._repr_html_().startswith("<div")
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert payload["provenance"]["version"]
    assert isinstance(result.provenance, Provenance)
    with pytest.raises(AttributeError):
        result.provenance = None


def test_results_are_reproducible() -> None:
    a, b = _options().to_frame(), _options().to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert np.isfinite(a["gain"]).all()
