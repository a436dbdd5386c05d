"""Bad input: every refusal names the input, the rule, the value and the fix; every warning is counted."""

from __future__ import annotations

import numpy as np
import pytest
from tests.conftest import load_reference
from tests.diagnostics._helpers import load_diag

from consilience import meta_analyze
from consilience.diagnostics import (
    begg_test,
    cumulative,
    egger_test,
    file_drawer,
    funnel_data,
    influence,
    leave_one_out,
    trim_and_fill,
)
from consilience.errors import ConvergenceError, DataDroppedWarning, InputError, SmallSampleWarning

BCG = load_reference("bcg_rr")["input"]
Y, V = np.array(BCG["yi"]), np.array(BCG["vi"])


@pytest.mark.parametrize("func", [egger_test, begg_test, trim_and_fill])
def test_bias_tests_refuse_fewer_than_three_studies(func: object) -> None:
    with pytest.raises(InputError, match=r"needs at least k = 3 studies; got k = 2.*collect more"):
        func(meta_analyze(Y[:2], V[:2]))  # type: ignore[operator]


@pytest.mark.parametrize("func", [egger_test, begg_test, trim_and_fill, funnel_data, leave_one_out, influence,
                                  cumulative])
def test_diagnostics_take_a_fitted_result(func: object) -> None:
    with pytest.raises(TypeError, match=r"takes the result of consilience.meta_analyze\(\); got ndarray"):
        func(Y)  # type: ignore[operator]


@pytest.mark.parametrize("func", [trim_and_fill, funnel_data, leave_one_out, cumulative])
def test_intercept_only_diagnostics_refuse_moderators(func: object) -> None:
    res = meta_analyze(Y, V, mods={"ablat": BCG["ablat"]})
    with pytest.raises(InputError, match=r"applies to models without moderators.*\['ablat'\]. Refit without mods"):
        func(res)  # type: ignore[operator]


def test_leave_one_out_and_influence_refuse_a_single_study() -> None:
    with pytest.warns(SmallSampleWarning):
        one = meta_analyze(Y[:1], V[:1])
    for func in (leave_one_out, influence):
        with pytest.raises(InputError, match=r"needs at least k = 2 studies; got k = 1"):
            func(one)


def test_equal_variances_are_refused_by_egger_begg_and_the_trimfill_side() -> None:
    res = meta_analyze(Y, np.full(Y.size, 0.05))
    with pytest.raises(InputError, match=r"egger_test needs studies with different standard errors"):
        egger_test(res)
    with pytest.raises(InputError, match=r"begg_test needs varying sampling variances: all 13 studies"):
        begg_test(res)
    with pytest.raises(InputError, match=r"cannot choose the side.*Pass side='left' or side='right'"):
        trim_and_fill(res)
    assert trim_and_fill(res, side="left").side == "left"


def test_egger_with_too_many_moderators_is_refused() -> None:
    res = meta_analyze(Y[:4], V[:4], mods={"a": BCG["ablat"][:4], "b": BCG["year"][:4]})
    with pytest.raises(InputError, match=r"needs at least k = 5 studies for this model \(4 coefficients and tau²\)"):
        egger_test(res)


def test_bad_options_are_refused_with_the_choices() -> None:
    res = meta_analyze(Y, V)
    with pytest.raises(InputError, match=r"The 'estimator' parameter must be one of \['L0', 'R0', 'Q0'\]"):
        trim_and_fill(res, estimator="X0")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"The 'side' parameter must be one of \['left', 'right'\]"):
        trim_and_fill(res, side="up")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"The 'by' parameter must be one of \['key', 'position'\]"):
        cumulative(res, by="rank")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"'n_points' parameter must be an integer >= 2"):
        funnel_data(res, n_points=1)
    with pytest.raises(InputError, match=r"'level' parameter must lie in \(0, 100\)"):
        funnel_data(res, levels=(0.95, 120))
    with pytest.raises(InputError, match=r"needs at least one level"):
        funnel_data(res, levels=())
    with pytest.raises(TypeError, match=r"'decreasing' parameter must be True or False"):
        cumulative(res, decreasing="yes")  # type: ignore[arg-type]


def test_cumulative_order_is_checked() -> None:
    res = meta_analyze(Y, V, labels=[f"run-{i}" for i in range(Y.size)])
    with pytest.raises(InputError, match=r"one value per study of the fit \(k = 13\); got shape \(3,\)"):
        cumulative(res, [1, 2, 3])
    keys = np.array(BCG["year"], dtype=float)
    keys[4] = np.nan
    with pytest.raises(InputError, match=r"must not have missing values; got 1 at row 4 \('run-4'\)"):
        cumulative(res, keys)
    with pytest.raises(InputError, match=r"by='position' must be a permutation of 0..12"):
        cumulative(res, [0] * 13, by="position")
    with pytest.raises(InputError, match=r"must hold comparable sort keys"):
        cumulative(res, np.array([1, "a"] * 6 + [2], dtype=object))


def test_file_drawer_checks_its_inputs_and_counts_dropped_rows() -> None:
    rep = np.arange(Y.size) < 6
    with pytest.raises(InputError, match=r"needs reported and unreported experiments.*0 unreported"):
        file_drawer(Y, V, np.ones(Y.size, dtype=bool))
    with pytest.raises(InputError, match=r"'reported' must be True/False \(or 1/0\); got 'yes' at row 0"):
        file_drawer(Y, V, ["yes"] * Y.size)
    with pytest.raises(InputError, match=r"one entry per experiment \(13\)"):
        file_drawer(Y, V, rep[:5])
    with pytest.raises(InputError, match=r"'method' parameter must be one of"):
        file_drawer(Y, V, rep, method="XX")  # type: ignore[arg-type]
    flags = rep.astype(object)
    flags[2] = None
    dropped = r"1 of 13 experiments dropped \(0 missing yi, 0 missing vi, 1 missing reported\)"
    with pytest.warns(DataDroppedWarning, match=dropped):
        res = file_drawer(Y, V, flags)
    assert (res.k, res.provenance.n_dropped) == (12, 1)
    with pytest.warns(SmallSampleWarning, match=r"only one study"):
        single = file_drawer(Y, V, np.arange(Y.size) == 0)
    assert single.estimate_reported == pytest.approx(Y[0])


def test_file_drawer_fails_where_metafor_fails_to_converge() -> None:
    ref = load_diag("curtis1998_rom")
    y, v = np.array(ref["input"]["yi"]), np.array(ref["input"]["vi"])
    reported = np.abs(y / np.sqrt(v)) > 1.959963984540054
    with pytest.raises(ConvergenceError, match=r"REML estimate of tau² could not be computed"):
        file_drawer(y, v, reported)
    assert "REML_z" not in ref["file_drawer"] and "DL_knha" in ref["file_drawer"]


def test_influence_marks_refits_without_an_estimable_coefficient() -> None:
    """A moderator level held by one study cannot be estimated without it: metafor leaves that row NA
    (and flags the study by its hat value of 1; the numbers are checked in the reference tests)."""
    group = ["a"] * 6 + ["b"] * 6 + ["c"]
    inf = influence(meta_analyze(Y, V, mods={"group": group}))
    assert np.isnan(inf.rstudent[12]) and np.isnan(inf.cook_d[12]) and np.isnan(inf.dfbetas[12]).all()
    assert np.isfinite(inf.rstudent[:12]).all() and inf.influential[12] and inf.hat[12] == 1.0
    assert "1 of 13 deletion refits failed" in inf.provenance.warnings[-1]
    assert "dfbetas[group[c]]" in inf.to_frame().columns


def test_studies_dropped_by_the_fit_are_left_out_of_every_diagnostic() -> None:
    y = Y.copy()
    y[3] = np.nan
    with pytest.warns(DataDroppedWarning, match=r"1 of 13 studies dropped"):
        res = meta_analyze(y, V)
    keep = np.arange(Y.size) != 3
    clean = meta_analyze(Y[keep], V[keep])
    assert np.allclose(influence(res).cook_d, influence(clean).cook_d, rtol=1e-12)
    assert egger_test(res).statistic == pytest.approx(egger_test(clean).statistic, rel=1e-12)
    assert influence(res).provenance.n_dropped == 1


def test_trim_and_fill_r0_without_effects_on_both_sides_is_refused() -> None:
    res = meta_analyze([0.2] * 5, [0.01, 0.02, 0.03, 0.04, 0.05], method="EE")
    with pytest.raises(InputError, match=r"estimator='R0' needs effects on both sides of the estimate; all 5 "
                                         r"effects lie at or right of the pooled estimate 0.2\. Use estimator='L0'"):
        trim_and_fill(res, estimator="R0", side="left")
    with pytest.raises(InputError, match=r"all 5 effects lie at or left of the pooled estimate 0.2"):
        trim_and_fill(res, estimator="R0", side="right")
