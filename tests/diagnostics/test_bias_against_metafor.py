"""Egger, Begg and trim-and-fill against metafor 3.8-1: the shared oracle and our own references."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import load_reference, oracle_names
from tests.diagnostics._helpers import close, diag_names, fit, load_diag

from consilience.diagnostics import begg_test, egger_test, trim_and_fill
from consilience.errors import InputError


@pytest.mark.parametrize("name", oracle_names("egger"))
def test_egger_matches_metafor_oracle(name: str) -> None:
    ref = load_reference(name)
    res = egger_test(fit(ref["input"]["yi"], ref["input"]["vi"]))
    close([res.statistic, res.p_value, res.limit_estimate], [ref["egger"][k] for k in ("stat", "pval", "limit_estimate")])


@pytest.mark.parametrize("name", oracle_names("begg"))
def test_begg_matches_metafor_oracle(name: str) -> None:
    ref = load_reference(name)
    res = begg_test(fit(ref["input"]["yi"], ref["input"]["vi"]))
    close([res.tau, res.p_value], [ref["begg"]["tau"], ref["begg"]["pval"]])


@pytest.mark.parametrize("name", oracle_names("trimfill_REML"))
@pytest.mark.parametrize("method", ["EE", "REML"])
def test_trimfill_matches_metafor_oracle(name: str, method: str) -> None:
    ref = load_reference(name)
    exp = ref[f"trimfill_{method}"]
    res = trim_and_fill(fit(ref["input"]["yi"], ref["input"]["vi"], method=method))
    assert res.k0 == exp["k0"] and res.side == exp["side"]
    close([res.estimate, res.se], [exp["estimate"], exp["se"]])
    if method == "REML":
        close(res.tau2, exp["tau2"])


@pytest.mark.parametrize("name", diag_names())
def test_egger_variants_match_metafor(name: str) -> None:
    ref = load_diag(name)
    inp = ref["input"]
    for key, exp in ref["regtest"].items():
        method, test = key.split("_")[:2]
        res = egger_test(fit(inp["yi"], inp["vi"], method=method, test=test,
                             mods=inp["mods"] if key.endswith("mods") else None))
        close([res.statistic, res.p_value, res.df, res.slope, res.slope_se, res.tau2],
              [exp["zval"], exp["pval"], exp["ddf"], exp["slope"], exp["slope_se"], exp["tau2"]], key)
        close([res.limit_estimate, res.limit_se, res.limit_ci_low, res.limit_ci_high],
              [exp["est"], exp["limit_se"] if exp["est"] is not None else None, exp["ci_lb"], exp["ci_ub"]], key)
        assert (res.df is None) == (test == "z")


@pytest.mark.parametrize("name", diag_names())
def test_begg_matches_metafor_with_and_without_ties(name: str) -> None:
    ref = load_diag(name)
    res = begg_test(fit(ref["input"]["yi"], ref["input"]["vi"]))
    close([res.tau, res.p_value], [ref["ranktest"]["tau"], ref["ranktest"]["pval"]])
    assert res.exact is (not ref["ranktest"]["ties"])


@pytest.mark.parametrize("name", diag_names())
def test_trimfill_variants_match_metafor(name: str) -> None:
    ref = load_diag(name)
    for key, exp in ref["trimfill"].items():
        method, test, level, estimator, *side = key.split("_")
        res = trim_and_fill(fit(ref["input"]["yi"], ref["input"]["vi"], method=method, test=test, level=float(level)),
                            estimator=estimator, side=side[0] if side else None)  # type: ignore[arg-type]
        assert (res.k0, res.side) == (exp["k0"], exp["side"]), key
        close([res.se_k0, res.p_k0, res.estimate, res.se, res.statistic, res.p_value, res.df, res.ci_low,
               res.ci_high, res.tau2, res.i2, res.h2, res.q, res.q_p_value],
              [exp[k] for k in ("se_k0", "p_k0", "estimate", "se", "stat", "pval", "ddf", "ci_lb", "ci_ub", "tau2",
                                "I2", "H2", "QE", "QEp")], key)
        close(res.yi, exp["yi"], f"{key} yi")
        close(res.vi, exp["vi"], f"{key} vi")
        assert res.filled.tolist() == exp["fill"], key
        assert res.to_dict()["filled_studies"] == [
            {"study": f"filled {j + 1}", "yi": y, "vi": v}
            for j, (y, v) in enumerate(zip(res.yi[res.k:].tolist(), res.vi[res.k:].tolist()))
        ]


@pytest.mark.parametrize("name", [n for n in diag_names() if "REML_z_95_Q0" not in load_diag(n)["trimfill"]])
def test_q0_is_refused_where_metafor_fails(name: str) -> None:
    ref = load_diag(name)
    with pytest.raises(InputError, match=r"estimator='Q0' is undefined for these data.*Use estimator='L0'"):
        trim_and_fill(fit(ref["input"]["yi"], ref["input"]["vi"]), estimator="Q0")


def test_begg_exact_p_value_sums_the_kendall_distribution() -> None:
    """Without ties the p-value is exact: for k = 3 with perfect concordance, p = 2 / 3! = 1/3."""
    ref = load_diag("three")
    res = begg_test(fit(ref["input"]["yi"], ref["input"]["vi"]))
    assert res.exact and res.tau == pytest.approx(1.0)
    assert res.p_value == pytest.approx(1 / 3, rel=1e-12)
    assert np.isfinite(res.statistic)
