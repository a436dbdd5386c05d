"""Leave-one-out, influence and cumulative meta-analysis against metafor 3.8-1."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import load_reference, oracle_names
from tests.diagnostics._helpers import close, diag_names, fit, load_diag

from consilience.diagnostics import cumulative, influence, leave_one_out

REFIT = [("estimate", "estimate"), ("se", "se"), ("statistic", "stat"), ("p_value", "pval"), ("ci_low", "ci_lb"),
         ("ci_high", "ci_ub"), ("q", "QE"), ("q_p_value", "QEp"), ("tau2", "tau2"), ("i2", "I2"), ("h2", "H2")]
INFLUENCE = [("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"), ("cov_r", "cov_r"),
             ("tau2_del", "tau2_del"), ("qe_del", "QE_del"), ("hat", "hat"), ("weight", "weight")]


@pytest.mark.parametrize("name", oracle_names("leave1out_REML"))
def test_leave_one_out_matches_metafor_oracle(name: str) -> None:
    ref = load_reference(name)
    exp = ref["leave1out_REML"]
    frame = leave_one_out(fit(ref["input"]["yi"], ref["input"]["vi"])).to_frame()
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("tau2", "tau2"), ("i2", "I2"), ("q", "QE")]:
        close(frame[ours], exp[theirs])


@pytest.mark.parametrize("name", oracle_names("influence_REML"))
def test_influence_matches_metafor_oracle(name: str) -> None:
    ref = load_reference(name)
    exp = ref["influence_REML"]
    frame = influence(fit(ref["input"]["yi"], ref["input"]["vi"])).to_frame()
    for col in ("rstudent", "dffits", "cook_d", "hat", "cov_r"):
        close(frame[col], exp[col])


@pytest.mark.parametrize("name", oracle_names("cumul_REML"))
def test_cumulative_matches_metafor_oracle(name: str) -> None:
    ref = load_reference(name)
    exp = ref["cumul_REML"]
    frame = cumulative(fit(ref["input"]["yi"], ref["input"]["vi"])).to_frame()
    for col in ("estimate", "se", "tau2"):
        close(frame[col], exp[col])


@pytest.mark.parametrize("name", diag_names())
def test_leave_one_out_every_field_matches_metafor(name: str) -> None:
    ref = load_diag(name)
    for key, exp in ref["leave1out"].items():
        method, test = key.split("_")
        res = leave_one_out(fit(ref["input"]["yi"], ref["input"]["vi"], method=method, test=test))
        for ours, theirs in REFIT:
            close(getattr(res, ours), exp[theirs], f"{key} {ours}")
        assert np.isnan(res.df).all() == (test == "z")


@pytest.mark.parametrize("name", diag_names())
def test_cumulative_every_field_matches_metafor(name: str) -> None:
    ref = load_diag(name)
    for key, exp in ref["cumul"].items():
        method, test, *ordered = key.split("_")
        order = ref["input"]["order_key"] if ordered else None
        res = cumulative(fit(ref["input"]["yi"], ref["input"]["vi"], method=method, test=test), order)
        for ours, theirs in REFIT:
            close(getattr(res, ours), exp[theirs], f"{key} {ours}")
        # the first step pools one study: z test even under knha, as metafor
        assert np.isnan(res.df[0]) and res.k_pooled.tolist() == list(range(1, res.k + 1))
        if order is not None:
            expected = np.argsort(np.asarray(order, dtype=float), kind="stable")
            assert res.position.tolist() == expected.tolist()


@pytest.mark.parametrize("name", diag_names())
def test_influence_every_field_matches_metafor(name: str) -> None:
    ref = load_diag(name)
    for key, exp in ref["influence"].items():
        method, test, *extra = key.split("_")
        choices = {"mods": ref["input"].get("mods"), "group": {"group": ref["input"].get("group")}}
        mods = choices[extra[0]] if extra else None
        res = influence(fit(ref["input"]["yi"], ref["input"]["vi"], method=method, test=test, mods=mods))
        for ours, theirs in INFLUENCE:
            close(getattr(res, ours), exp[theirs], f"{key} {ours}")
        assert res.dfbetas.shape == (res.k, len(exp["dfbs"]))
        for j, column in enumerate(exp["dfbs"].values()):
            close(res.dfbetas[:, j], column, f"{key} dfbetas {j}")
        assert res.influential.tolist() == exp["is_infl"], key
