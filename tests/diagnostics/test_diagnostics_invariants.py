"""Invariants: batched refits equal separate fits, order and scale behave, edge cases follow metafor."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy import stats
from tests.conftest import load_reference

from consilience import meta_analyze
from consilience.diagnostics import (
    _refit,
    begg_test,
    cumulative,
    egger_test,
    funnel_data,
    influence,
    leave_one_out,
    trim_and_fill,
)

BCG = load_reference("bcg_rr")["input"]
Y, V = np.array(BCG["yi"]), np.array(BCG["vi"])


@pytest.mark.parametrize(("method", "test"), [("REML", "z"), ("PM", "knha"), ("DL", "z")])
def test_batched_leave_one_out_equals_separate_fits(method: str, test: str) -> None:
    res = leave_one_out(meta_analyze(Y, V, method=method, test=test))  # type: ignore[arg-type]
    for i in range(Y.size):
        keep = np.arange(Y.size) != i
        single = meta_analyze(Y[keep], V[keep], method=method, test=test)  # type: ignore[arg-type]
        assert_allclose([res.estimate[i], res.se[i], res.tau2[i], res.i2[i], res.q[i]],
                        [single.estimate, single.se, single.tau2, single.i2, single.q], rtol=1e-12, atol=1e-14)


def test_last_cumulative_step_is_the_full_fit_and_first_is_the_first_study() -> None:
    full = meta_analyze(Y, V, test="knha")
    cum = cumulative(full)
    assert_allclose([cum.estimate[-1], cum.se[-1], cum.tau2[-1], cum.df[-1]],
                    [full.estimate, full.se, full.tau2, full.df], rtol=1e-12)
    assert_allclose([cum.estimate[0], cum.se[0], cum.tau2[0], cum.i2[0], cum.h2[0], cum.q[0], cum.q_p_value[0]],
                    [Y[0], np.sqrt(V[0]), 0.0, 0.0, 1.0, 0.0, 1.0])


def test_cumulative_orders_by_key_by_position_and_decreasing() -> None:
    res = meta_analyze(Y, V)
    year = np.array(BCG["year"])
    by_key = cumulative(res, year)
    by_pos = cumulative(res, np.argsort(year, kind="stable"), by="position")
    assert by_key.position.tolist() == by_pos.position.tolist()
    assert_allclose(by_key.estimate, by_pos.estimate)
    assert list(by_key.study) == [res.labels[i] for i in by_key.position]
    newest_first = cumulative(res, year, decreasing=True)
    assert year[newest_first.position[0]] == year.max()
    assert_allclose(newest_first.estimate[-1], res.estimate, rtol=1e-12)
    labels = cumulative(res, [f"run-{i:02d}" for i in range(Y.size)][::-1])
    assert labels.position.tolist() == list(range(Y.size))[::-1]


def test_permuting_studies_permutes_leave_one_out_and_influence() -> None:
    perm = np.random.default_rng(7).permutation(Y.size)
    base, moved = meta_analyze(Y, V), meta_analyze(Y[perm], V[perm])
    assert_allclose(leave_one_out(moved).estimate, leave_one_out(base).estimate[perm], rtol=1e-10)
    a, b = influence(base), influence(moved)
    for name in ("rstudent", "cook_d", "hat", "cov_r", "dffits"):
        assert_allclose(getattr(b, name), getattr(a, name)[perm], rtol=1e-8)
    assert_allclose(egger_test(moved).statistic, egger_test(base).statistic, rtol=1e-10)
    assert begg_test(moved).p_value == pytest.approx(begg_test(base).p_value, rel=1e-12)
    assert trim_and_fill(moved).estimate == pytest.approx(trim_and_fill(base).estimate, rel=1e-10)


def test_shifting_effects_shifts_estimates_and_leaves_tests_unchanged() -> None:
    base, shifted = meta_analyze(Y, V), meta_analyze(Y + 2.5, V)
    assert_allclose(leave_one_out(shifted).estimate, leave_one_out(base).estimate + 2.5, rtol=1e-10)
    assert egger_test(shifted).statistic == pytest.approx(egger_test(base).statistic, rel=1e-8)
    tf0, tf1 = trim_and_fill(base), trim_and_fill(shifted)
    assert (tf1.k0, tf1.side) == (tf0.k0, tf0.side)
    assert tf1.estimate == pytest.approx(tf0.estimate + 2.5, rel=1e-10)
    assert_allclose(funnel_data(shifted).region_low, funnel_data(base).region_low + 2.5, rtol=1e-10)


def test_mirroring_effects_swaps_the_trimfill_side() -> None:
    tf0, tf1 = trim_and_fill(meta_analyze(Y, V)), trim_and_fill(meta_analyze(-Y, V))
    assert {tf0.side, tf1.side} == {"left", "right"} and tf0.k0 == tf1.k0
    assert tf1.estimate == pytest.approx(-tf0.estimate, rel=1e-10)


def test_egger_ee_knha_is_the_classic_weighted_regression() -> None:
    """EE with Knapp-Hartung scaling is Egger's original weighted least squares t test."""
    res = egger_test(meta_analyze(Y, V, method="EE", test="knha"))
    ols = sm.WLS(Y, sm.add_constant(np.sqrt(V)), weights=1 / V).fit()
    assert_allclose([res.statistic, res.p_value, res.limit_estimate, res.df],
                    [ols.tvalues[1], ols.pvalues[1], ols.params[0], ols.df_resid], rtol=1e-8)


def test_influence_hat_values_sum_to_the_number_of_coefficients() -> None:
    inf = influence(meta_analyze(Y, V, mods={"ablat": BCG["ablat"]}))
    assert inf.hat.sum() == pytest.approx(2.0, rel=1e-10)
    assert inf.weight.sum() == pytest.approx(100.0, rel=1e-12)


def test_leave_one_out_with_two_studies_uses_single_study_fits() -> None:
    res = leave_one_out(meta_analyze(Y[:2], V[:2], test="knha"))
    assert_allclose(res.estimate, Y[:2][::-1])
    assert_allclose(res.se, np.sqrt(V[:2][::-1]))
    assert np.isnan(res.df).all() and (res.tau2 == 0).all()


def test_refits_are_chunked_without_changing_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = leave_one_out(meta_analyze(Y, V))
    monkeypatch.setattr(_refit, "CHUNK_CELLS", 2 * Y.size)  # two refits per kernel call
    chunked = leave_one_out(meta_analyze(Y, V))
    assert_allclose(chunked.estimate, whole.estimate, rtol=1e-14)
    assert_allclose(chunked.tau2, whole.tau2, rtol=1e-14)


def test_begg_uses_the_normal_approximation_beyond_k_170() -> None:
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.1, 200)
    y = rng.normal(0, np.sqrt(v))
    res = begg_test(meta_analyze(y, v, method="EE"))
    assert not res.exact
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(res.statistic)), rel=1e-10)
