"""Every method and test on every public metafor reference file (tests/reference/metafor)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience import ConvergenceWarning, meta_analyze
from tests.conftest import load_reference, oracle_names

FIELDS = [
    ("estimate", "estimate"), ("se", "se"), ("stat", "statistic"), ("pval", "p_value"),
    ("ci_lb", "ci_low"), ("ci_ub", "ci_high"), ("pi_lb", "pi_low"), ("pi_ub", "pi_high"),
    ("tau2", "tau2"), ("se_tau2", "se_tau2"), ("I2", "i2"), ("H2", "h2"), ("QE", "q"), ("QEp", "q_p_value"),
    ("tau2_ci_lb", "tau2_ci_low"), ("tau2_ci_ub", "tau2_ci_high"), ("I2_ci_lb", "i2_ci_low"), ("I2_ci_ub", "i2_ci_high"),
]


# metafor 3.8-1 itself warns "Fisher scoring algorithm may have gotten stuck at a local maximum.
# Setting tau^2 = 0" on these fits (checked with rma(..., verbose=TRUE)).
LOCAL_MAXIMUM_RESET = {("lau1992_rd", "REML")}


def _cases() -> list[tuple[str, str]]:
    out = []
    for name in oracle_names("fits"):
        for key in load_reference(name)["fits"]:
            out.append((name, key))
    return out


def _close(ours: float | None, ref: float) -> None:
    assert ours is not None
    assert_allclose(ours, ref, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("name", "key"), _cases())
def test_rma_matches_metafor(name: str, key: str) -> None:
    data = load_reference(name)
    ref = data["fits"][key]
    method, test = key.split("_")
    if (name, method) in LOCAL_MAXIMUM_RESET:
        with pytest.warns(ConvergenceWarning, match="local"):
            res = meta_analyze(data["input"]["yi"], data["input"]["vi"], method=method, test=test).to_dict()
    else:
        res = meta_analyze(data["input"]["yi"], data["input"]["vi"], method=method, test=test).to_dict()
    assert res["k"] == ref["k"]
    checked = 0
    for theirs, ours in FIELDS:
        if ref.get(theirs) is None:
            continue
        _close(res[ours], ref[theirs])
        checked += 1
    assert checked >= (12 if method == "EE" else 14)
    if method == "EE":
        assert res["se_tau2"] is None and res["tau2"] == 0


def _as_list(x: object) -> list:  # jsonlite unboxes length-1 vectors
    return x if isinstance(x, list) else [x]


@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("name", oracle_names("metareg_REML_z"))
def test_metaregression_matches_metafor(name: str, test: str) -> None:
    data = load_reference(name)
    ref = data[f"metareg_REML_{test}"]
    mods = pd.DataFrame({c: data["input"][c] for c in _as_list(ref["mods"])})
    res = meta_analyze(data["input"]["yi"], data["input"]["vi"], method="REML", test=test, mods=mods).to_dict()
    coefs = res["coefficients"]
    assert [c["name"] for c in coefs] == ["intercept"] + _as_list(ref["mods"])
    for theirs, ours in [("estimate", "estimate"), ("se", "se"), ("stat", "statistic"), ("pval", "p_value"),
                         ("ci_lb", "ci_low"), ("ci_ub", "ci_high")]:
        assert_allclose([c[ours] for c in coefs], _as_list(ref[theirs]), rtol=1e-6, atol=1e-8)
    for theirs, ours in [("tau2", "tau2"), ("I2", "i2"), ("R2", "r2"), ("QE", "q"), ("QEp", "q_p_value"),
                         ("QM", "qm"), ("QMp", "qm_p_value")]:
        _close(res[ours], ref[theirs])


def test_fe_and_ce_are_aliases_of_ee(bcg: dict) -> None:
    y, v = bcg["input"]["yi"], bcg["input"]["vi"]
    ee = meta_analyze(y, v, method="EE")
    for alias in ("FE", "CE"):
        other = meta_analyze(y, v, method=alias)
        assert other.method == "EE"
        assert other.estimate == ee.estimate


def test_level_90_uses_the_90_percent_quantile(bcg: dict) -> None:
    res95 = meta_analyze(bcg["input"]["yi"], bcg["input"]["vi"])
    res90 = meta_analyze(bcg["input"]["yi"], bcg["input"]["vi"], level=90)
    assert_allclose(res90.ci_high - res90.estimate, 1.6448536269514722 * res95.se, rtol=1e-12)
    assert res90.level == pytest.approx(0.90)
    assert res90.tau2_ci_high < res95.tau2_ci_high
