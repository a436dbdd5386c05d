"""Quality-aware synthesis and the inclusion flow, against metafor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience.errors import InputError
from consilience.quality import inclusion_flow, quality_synthesis
from consilience.quality.synthesis import SYNTHESIS_COLUMNS

RTOL = 1e-6
WEIGHTS = {"low": 1.0, "some concerns": 0.5, "high": 0.25, "unknown": 0.5}


def _check_fit(row: Any, ref: dict[str, Any]) -> None:
    assert int(row["k"]) == ref["k"]
    got = [row[k] for k in ("estimate", "se", "ci_low", "ci_high", "tau2", "pi_low", "pi_high")]
    want = [ref[k] for k in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "pi_lb", "pi_ub")]
    assert_allclose(got, want, rtol=RTOL)


@pytest.fixture(scope="module")
def result(studies: pd.DataFrame) -> Any:
    return quality_synthesis(studies, labels="study", quality_weights=WEIGHTS, metric="accuracy")


def test_full_and_low_risk_only_estimates_match_metafor(result: Any, reference: dict) -> None:
    table = result.table.set_index("analysis")
    _check_fit(table.loc["all studies"], reference["full"])
    _check_fit(table.loc["low risk of bias only"], reference["low_only"])
    assert table.loc["all studies", "role"] == "primary"
    assert table.loc["low risk of bias only", "role"] == "sensitivity"
    assert result.counts == {"low": 603, "some concerns": 0, "high": 379, "unknown": 412}


def test_subgroups_and_the_test_for_differences_match_metafor(result: Any,
                                                               reference: dict) -> None:
    ref = reference["subgroups"]
    table = result.table.set_index("analysis")
    for i, level in enumerate(ref["levels"]):
        row = table.loc[f"subgroup: {level}"]
        assert row["k"] == ref["k"][i]
        assert_allclose([row["estimate"], row["se"], row["ci_low"], row["ci_high"], row["tau2"]],
                        [ref["estimate"][i], ref["se"][i], ref["ci_lb"][i], ref["ci_ub"][i],
                         ref["tau2"][i]], rtol=RTOL)
    assert_allclose([result.q_between, result.q_between_p_value],
                    [ref["Q_between"], ref["Q_between_p"]], rtol=RTOL)
    assert result.q_between_df == ref["Q_between_df"]
    mr = reference["metareg_risk"]
    assert_allclose([c.estimate for c in result.metaregression.coefficients], mr["estimate"],
                    rtol=RTOL)
    assert_allclose([result.qm, result.qm_p_value, result.metaregression.tau2],
                    [mr["QM"], mr["QMp"], mr["tau2"]], rtol=RTOL)


def test_quality_weighted_sensitivity_matches_metafor(result: Any, reference: dict) -> None:
    row = result.table.set_index("analysis").loc["quality-weighted"]
    _check_fit(row, reference["weighted"])
    assert row["role"] == "sensitivity"
    assert any("sensitivity analysis only" in n for n in result.notes)


def test_result_faces(result: Any) -> None:
    assert list(result.table.columns) == list(SYNTHESIS_COLUMNS)
    data = result.to_dict()
    assert data["analyses"][0]["analysis"] == "all studies" and data["qm_df"] == 2
    assert "conclusion changes from a loss to a gain" in " ".join(result.notes)
    text = str(result.summary())
    assert "low risk of bias only" in text and "subgroup differences" in text
    assert repr(result).startswith("<QualitySynthesis k=1394")


def test_permuting_studies_changes_nothing(studies: pd.DataFrame, result: Any) -> None:
    shuffled = studies.sample(frac=1.0, random_state=3)
    again = quality_synthesis(shuffled, labels="study", quality_weights=WEIGHTS)
    assert_allclose(again.table.iloc[:, 3:].to_numpy(dtype=float),
                    result.table.iloc[:, 3:].to_numpy(dtype=float), rtol=1e-9)


def test_without_low_risk_studies_the_row_stays_with_a_note(studies: pd.DataFrame) -> None:
    res = quality_synthesis(studies.assign(risk="unknown"))
    row = res.table.set_index("analysis").loc["low risk of bias only"]
    assert row["k"] == 0 and np.isnan(row["estimate"])
    assert res.subgroups is None and res.metaregression is None
    assert "too few for a sensitivity analysis" in " ".join(res.notes)


def test_weights_and_risk_values_are_validated(studies: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"no weight for risk level\(s\) \['unknown'\]"):
        quality_synthesis(studies, quality_weights={"low": 1, "high": 0.5})
    with pytest.raises(InputError, match=r"must lie in \(0, 1\]"):
        quality_synthesis(studies, quality_weights={**WEIGHTS, "high": 0})
    with pytest.raises(InputError, match="must be one of"):
        quality_synthesis(studies.assign(risk="moderate"))
    with pytest.raises(InputError, match="no column"):
        quality_synthesis(studies.drop(columns="risk"))


def test_inclusion_flow_counts_what_each_criterion_removes() -> None:
    runs = pd.DataFrame({
        "experiment": ["a", "a", "a", "a", "b", "b", "c"],
        "task": ["t1", "t1", "t2", "t2", "t1", "t1", "t1"],
        "status": ["complete", "complete", "complete", "failed", "failed", "failed", "complete"],
        "arm": ["baseline", "candidate", "baseline", "candidate", "baseline", "candidate", "x"],
    })
    flow = inclusion_flow(runs, [("run not complete", runs["status"].eq("complete")),
                                 ("odd arm", runs["arm"].isin(["baseline", "candidate"]))],
                          metric="accuracy")
    assert flow.found == {"experiments": 3, "studies": 4, "runs": 7}
    steps = flow.steps.set_index("reason")
    assert steps.loc["run not complete", ["experiments", "studies", "runs"]].tolist() == [1, 1, 3]
    assert steps.loc["odd arm", ["experiments", "studies", "runs"]].tolist() == [1, 1, 1]
    assert flow.analysed == {"experiments": 1, "studies": 2, "runs": 3}
    assert "excluded  3 runs, 1 studies, 1 experiments: run not complete" in str(flow)


def test_a_risk_level_with_one_study_keeps_its_row_outside_the_test(
        studies: pd.DataFrame) -> None:
    few = studies.head(30).assign(risk=["low"] * 15 + ["high"] * 14 + ["some concerns"])
    res = quality_synthesis(few)
    row = res.table.set_index("analysis").loc["subgroup: some concerns"]
    assert row["k"] == 1 and np.isnan(row["estimate"])
    assert res.q_between_df == 1 and res.qm_df == 2
    assert "with a single study" in " ".join(res.notes)
