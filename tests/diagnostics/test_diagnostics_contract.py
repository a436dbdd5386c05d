"""Every diagnostics result honours the house contract: frozen, one-line repr, summary, frame, JSON."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.conftest import load_reference

from consilience import diagnostics, meta_analyze
from consilience._results import Provenance, Summary

BCG = load_reference("bcg_rr")["input"]


def _fit() -> Any:
    return meta_analyze(BCG["yi"], BCG["vi"], labels=[f"trial {i + 1}" for i in range(len(BCG["yi"]))])


MAKERS: dict[str, Callable[[], Any]] = {
    "egger_test": lambda: diagnostics.egger_test(_fit()),
    "begg_test": lambda: diagnostics.begg_test(_fit()),
    "trim_and_fill": lambda: diagnostics.trim_and_fill(_fit()),
    "funnel_data": lambda: diagnostics.funnel_data(diagnostics.trim_and_fill(_fit())),
    "leave_one_out": lambda: diagnostics.leave_one_out(_fit()),
    "influence": lambda: diagnostics.influence(_fit()),
    "cumulative": lambda: diagnostics.cumulative(_fit(), BCG["year"]),
    "file_drawer": lambda: diagnostics.file_drawer(BCG["yi"], BCG["vi"], np.arange(13) % 2 == 0),
}


@pytest.mark.parametrize("name", list(MAKERS))
def test_result_contract(name: str) -> None:
    result = MAKERS[name]()
    assert dataclasses.is_dataclass(result)
    first = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, first, None)
    text = repr(result)
    assert "\n" not in text and text.startswith(f"<{type(result).__name__} ")
    summary = result.summary()
    assert isinstance(summary, Summary)
    assert str(summary).splitlines()[0] and "<table>" in summary._repr_html_()
    assert summary.to_markdown().startswith("### ")
    assert isinstance(result.to_frame(), pd.DataFrame) and len(result.to_frame()) >= 1
    payload = result.to_dict()
    assert json.loads(json.dumps(payload, allow_nan=False)) == payload
    assert isinstance(result.provenance, Provenance)
    assert payload["provenance"]["version"] and payload["provenance"]["input_hash"]
    assert result.__doc__ and "Attributes" in result.__doc__


@pytest.mark.parametrize("name", list(MAKERS))
def test_public_function_documents_formula_reference_and_validation(name: str) -> None:
    doc = getattr(diagnostics, name).__doc__
    assert "Notes" in doc and "References" in doc and "Returns" in doc
    assert doc.strip().splitlines()[-1].strip().startswith("Validated against: metafor 3.8-1")


def test_all_is_complete_and_sorted_by_concept() -> None:
    exported = set(diagnostics.__all__)
    assert exported == {"BeggTest", "begg_test", "Cumulative", "cumulative", "EggerTest", "egger_test", "FileDrawer",
                        "file_drawer", "FunnelData", "funnel_data", "Influence", "influence", "LeaveOneOut",
                        "leave_one_out", "TrimAndFill", "trim_and_fill"}
    for name in exported:
        assert getattr(diagnostics, name).__module__.startswith("consilience.diagnostics.")


def test_per_study_columns_never_depend_on_the_options() -> None:
    fit_z, fit_k = _fit(), meta_analyze(BCG["yi"], BCG["vi"], method="EE", test="knha")
    for func in (diagnostics.leave_one_out, diagnostics.influence):
        assert list(func(fit_z).to_frame().columns) == list(func(fit_k).to_frame().columns)
    cols = list(diagnostics.cumulative(fit_z).to_frame().columns)
    assert cols == ["study", "position", "k_pooled", "estimate", "se", "statistic", "p_value", "df", "ci_low",
                    "ci_high", "tau2", "i2", "h2", "q", "q_p_value"]
    assert list(diagnostics.egger_test(fit_z).to_dict()) == list(diagnostics.egger_test(fit_k).to_dict())
    lines = diagnostics.funnel_data(fit_z, levels=(95, 0.99)).lines()
    assert list(lines.columns) == ["kind", "level", "sei", "low", "high"] and set(lines["level"]) == {0.95, 0.99}


def test_bias_tests_list_their_fields_in_a_fixed_order() -> None:
    begg, egger = diagnostics.begg_test(_fit()), diagnostics.egger_test(_fit())
    begg_fields = ["k", "tau", "statistic", "p_value", "exact"]
    egger_fields = ["k", "method", "test", "level", "statistic", "p_value", "df", "slope", "slope_se",
                    "limit_estimate", "limit_se", "limit_ci_low", "limit_ci_high", "tau2"]
    assert list(begg.to_dict()) == [*begg_fields, "provenance"]
    assert list(begg.to_frame().columns) == begg_fields
    assert list(egger.to_dict()) == [*egger_fields, "provenance"]
    assert list(egger.to_frame().columns) == egger_fields
    assert begg.to_frame()["tau"].iloc[0] == begg.tau and egger.to_dict()["slope"] == egger.slope
