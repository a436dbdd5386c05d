"""Categorical moderators, predict(newmods) and subgroups against metafor (tests/reference/metafor_extra)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience import meta_analyze, subgroup_analysis

EXTRA = json.loads((Path(__file__).parents[1] / "reference" / "metafor_extra" / "extra.json").read_text())
INP = EXTRA["input"]


@pytest.mark.parametrize("test", ["z", "knha"])
def test_categorical_moderator_matches_metafor(test: str) -> None:
    ref = EXTRA[f"metareg_alloc_{test}"]
    mods = pd.DataFrame({"alloc": INP["alloc"], "ablat": INP["ablat"]})
    res = meta_analyze(INP["yi"], INP["vi"], mods=mods, test=test)
    assert [c.name for c in res.coefficients] == ["intercept", "alloc[random]", "alloc[systematic]", "ablat"]
    frame = res.to_frame()
    assert_allclose(frame["estimate"], ref["estimate"], rtol=1e-6)
    assert_allclose(frame["se"], ref["se"], rtol=1e-6)
    assert_allclose(frame["p_value"], ref["pval"], rtol=1e-6)
    assert_allclose(frame["ci_low"], ref["ci_lb"], rtol=1e-6)
    assert_allclose([res.tau2, res.qm, res.qm_p_value, res.q, res.r2],
                    [ref["tau2"], ref["QM"], ref["QMp"], ref["QE"], ref["R2"]], rtol=1e-6)


@pytest.mark.parametrize("test", ["z", "knha"])
def test_predict_with_new_moderators_matches_metafor(test: str) -> None:
    ref = EXTRA[f"predict_alloc_{test}"]
    mods = pd.DataFrame({"alloc": INP["alloc"], "ablat": INP["ablat"]})
    res = meta_analyze(INP["yi"], INP["vi"], mods=mods, test=test)
    pred = res.predict(pd.DataFrame({"alloc": ref["alloc"], "ablat": ref["ablat"]}))
    for ours, theirs in [("pred", "pred"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"),
                         ("pi_low", "pi_lb"), ("pi_high", "pi_ub")]:
        assert_allclose(pred[ours], ref[theirs], rtol=1e-6)


def test_predict_rejects_unknown_level() -> None:
    mods = pd.DataFrame({"alloc": INP["alloc"], "ablat": INP["ablat"]})
    res = meta_analyze(INP["yi"], INP["vi"], mods=mods)
    with pytest.raises(ValueError, match="not seen in the fit"):
        res.predict({"alloc": ["stratified"], "ablat": [30]})


def test_subgroups_match_metafor() -> None:
    ref = EXTRA["subgroups_REML"]
    res = subgroup_analysis(INP["yi"], INP["vi"], INP["alloc"])
    table = res.to_frame()
    assert table["subgroup"].tolist() == ref["levels"]
    assert table["k"].tolist() == ref["k"]
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"),
                         ("tau2", "tau2"), ("i2", "I2"), ("q", "QE")]:
        assert_allclose(table[ours], ref[theirs], rtol=1e-6, atol=1e-10)
    assert_allclose([res.q_between, res.q_between_p_value], [ref["Q_between"], ref["Q_between_p"]], rtol=1e-6)
    assert res.q_between_df == ref["Q_between_df"]
    assert "Q =" in str(res.summary())
