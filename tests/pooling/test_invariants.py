"""Invariants and conformance of the pooled result (HOUSE_STYLE habit 13)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from consilience import MetaAnalysis, meta_analyze
from tests.conftest import load_reference

METHODS = ["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]
GLOSSARY_KEYS = {"k", "method", "test", "estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "pi_low",
                 "pi_high", "tau2", "se_tau2", "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low", "i2_ci_high", "h2",
                 "q", "q_p_value", "coefficients", "qm", "qm_p_value", "r2"}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", ["z", "knha"])
def test_result_contract(bcg: dict, method: str, test: str) -> None:
    res = meta_analyze(bcg["input"]["yi"], bcg["input"]["vi"], method=method, test=test)
    d = res.to_dict()
    assert GLOSSARY_KEYS <= set(d)
    json.dumps(d, allow_nan=False)
    assert d["coefficients"][0]["name"] == "intercept"
    assert repr(res).startswith(f"<MetaResult {method}/{test} k=13")
    assert list(res.to_frame().columns) == ["name", "estimate", "se", "statistic", "p_value", "df", "ci_low", "ci_high", "level"]
    text = str(res.summary())
    assert "estimate" in text and "I2" in text
    assert "<table>" in res.summary()._repr_html_()
    assert res.summary().to_markdown().startswith("### Meta-analysis")
    studies = res.studies()
    assert len(studies) == 15 and studies["weight"].iloc[:13].sum() == pytest.approx(100)
    with pytest.raises(AttributeError):
        res.estimate = 0.0  # type: ignore[misc]


def test_estimator_is_frozen_and_reusable(bcg: dict) -> None:
    est = MetaAnalysis(method="DL", test="knha")
    a = est.fit(bcg["input"]["yi"], bcg["input"]["vi"])
    b = est.fit(bcg["input"]["yi"], bcg["input"]["vi"])
    assert a.estimate == b.estimate
    with pytest.raises(AttributeError):
        est.method = "REML"  # type: ignore[misc]


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "PM", "EB"])
def test_zero_heterogeneity_random_effects_equals_equal_effects(method: str) -> None:
    # identical effects: every estimator gives tau² = 0 and the equal-effects numbers
    y = np.full(8, 0.3)
    v = np.linspace(0.01, 0.08, 8)
    re = meta_analyze(y, v, method=method)
    ee = meta_analyze(y, v, method="EE")
    assert re.tau2 == 0
    assert_allclose([re.estimate, re.se, re.ci_low, re.ci_high], [ee.estimate, ee.se, ee.ci_low, ee.ci_high], rtol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_permuting_studies_changes_nothing(method: str) -> None:
    inp = load_reference("bcg_rr")["input"]
    y, v = np.array(inp["yi"]), np.array(inp["vi"])
    perm = np.random.default_rng(1).permutation(y.size)
    a = meta_analyze(y, v, method=method).to_dict()
    b = meta_analyze(y[perm], v[perm], method=method).to_dict()
    for key in ("estimate", "se", "tau2", "i2", "q", "pi_low"):
        assert_allclose(b[key], a[key], rtol=1e-6)


@settings(max_examples=30, deadline=None)
@given(c=st.floats(0.1, 10.0), shift=st.floats(-5, 5))
def test_scaling_and_shifting(c: float, shift: float) -> None:
    inp = load_reference("hackshaw1998")["input"]
    y, v = np.array(inp["yi"]), np.array(inp["vi"])
    base = meta_analyze(y, v, method="DL")
    # shifting effects shifts the estimate and leaves heterogeneity alone
    shifted = meta_analyze(y + shift, v, method="DL")
    assert_allclose(shifted.estimate, base.estimate + shift, rtol=1e-9, atol=1e-9)
    assert_allclose(shifted.tau2, base.tau2, rtol=1e-7, atol=1e-12)
    # scaling effects by sqrt(c) and variances by c scales se by sqrt(c) and tau² by c
    scaled = meta_analyze(y * np.sqrt(c), v * c, method="DL")
    assert_allclose(scaled.se, base.se * np.sqrt(c), rtol=1e-9)
    assert_allclose(scaled.tau2, base.tau2 * c, rtol=1e-7, atol=1e-12)


def test_knha_matches_statsmodels_wls_t_interval(bcg: dict) -> None:
    # Knapp-Hartung with tau² fixed at the estimate is weighted least squares with the residual scale
    import statsmodels.api as sm

    y, v = np.array(bcg["input"]["yi"]), np.array(bcg["input"]["vi"])
    res = meta_analyze(y, v, method="DL", test="knha")
    ols = sm.WLS(y, np.ones((y.size, 1)), weights=1 / (v + res.tau2)).fit()
    assert_allclose(res.estimate, ols.params[0], rtol=1e-10)
    assert_allclose(res.se, ols.bse[0], rtol=1e-10)
    assert_allclose([res.ci_low, res.ci_high], ols.conf_int()[0], rtol=1e-10)


def test_dl_matches_statsmodels_combine_effects(bcg: dict) -> None:
    from statsmodels.stats.meta_analysis import combine_effects

    y, v = np.array(bcg["input"]["yi"]), np.array(bcg["input"]["vi"])
    sm_res = combine_effects(y, v, method_re="dl")
    ours = meta_analyze(y, v, method="DL")
    assert_allclose(ours.tau2, sm_res.tau2, rtol=1e-10)
    assert_allclose(ours.estimate, sm_res.mean_effect_re, rtol=1e-10)
    assert_allclose(ours.se, sm_res.sd_eff_w_re, rtol=1e-10)
    assert_allclose(ours.q, sm_res.q, rtol=1e-10)
    pm = meta_analyze(y, v, method="PM")
    sm_pm = combine_effects(y, v, method_re="pm")
    assert_allclose(pm.tau2, sm_pm.tau2, rtol=1e-3)  # statsmodels iterates to its own tolerance


def test_mods_from_data_columns(bcg: dict) -> None:
    frame = pd.DataFrame(bcg["input"])
    a = meta_analyze("yi", "vi", data=frame, mods=["ablat", "year"])
    b = meta_analyze(frame["yi"], frame["vi"], mods=frame[["ablat", "year"]])
    assert a.to_dict()["coefficients"] == b.to_dict()["coefficients"]
