"""Bad input: every error names the input, the rule, the value and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consilience import (
    ConvergenceError,
    DataDroppedWarning,
    InputError,
    SmallSampleWarning,
    meta_analyze,
)

Y = [0.1, 0.3, 0.2, 0.5, 0.4]
V = [0.01, 0.02, 0.015, 0.03, 0.02]


def test_missing_values_are_dropped_with_a_count() -> None:
    with pytest.warns(DataDroppedWarning, match=r"2 of 7 studies dropped \(1 missing yi, 1 missing vi\)"):
        res = meta_analyze(Y + [np.nan, 0.2], V + [0.01, np.nan])
    assert res.k == 5 and res.n_dropped == 2
    assert res.to_dict()["n_dropped"] == 2
    assert "dropped" in str(res.summary())
    assert res.estimate == meta_analyze(Y, V).estimate
    assert res.design.X.shape == (5, 1)  # the design keeps only the studies used


@pytest.mark.parametrize("bad", [-0.02, 0.0])
def test_non_positive_variance_is_refused_with_row_and_label(bad: float) -> None:
    with pytest.raises(InputError, match=r"'vi' must be > 0; got .* at row 2 \('run-c'\).*not standard errors"):
        meta_analyze(Y, [0.01, 0.02, bad, 0.03, 0.02], labels=["run-a", "run-b", "run-c", "run-d", "run-e"])


def test_infinite_and_non_numeric_values_are_refused() -> None:
    with pytest.raises(InputError, match=r"'yi' must be finite; got inf at row 1"):
        meta_analyze([0.1, np.inf, 0.2], [0.1, 0.1, 0.1])
    with pytest.raises(InputError, match=r"'vi' must be numeric; got 'abc' at row 0"):
        meta_analyze([0.1, 0.2], ["abc", 0.1])


def test_unknown_method_and_test_list_the_options() -> None:
    with pytest.raises(InputError, match=r"The 'method' parameter must be one of \['EE', 'DL'.*Got 'XYZ' instead"):
        meta_analyze(Y, V, method="XYZ")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"The 'test' parameter must be one of \['z', 'knha'\]"):
        meta_analyze(Y, V, test="t")  # type: ignore[arg-type]
    assert meta_analyze(Y, V, method="reml").method == "REML"  # case-insensitive


def test_no_studies_and_length_mismatch() -> None:
    with pytest.raises(InputError, match=r"k = 0"), pytest.warns(DataDroppedWarning):
        meta_analyze([np.nan], [0.1])
    with pytest.raises(InputError, match="same length; got 3 and 2"):
        meta_analyze([0.1, 0.2, 0.3], [0.1, 0.2])


def test_single_study_gives_its_effect_with_a_warning() -> None:
    with pytest.warns(SmallSampleWarning, match="k = 1"):
        res = meta_analyze([0.4], [0.04])
    assert res.estimate == 0.4 and res.se == pytest.approx(0.2) and res.tau2 == 0
    assert res.tau2_ci_low is None and res.q == 0 and res.q_p_value == 1


def test_too_many_and_collinear_moderators_are_named() -> None:
    mods = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 4, 6, 8, 10]})
    with pytest.raises(InputError, match=r"\['b'\] are collinear with \['intercept', 'a'\]"):
        meta_analyze(Y, V, mods=mods)
    many = pd.DataFrame(np.random.default_rng(0).normal(size=(5, 5)), columns=list("abcde"))
    with pytest.raises(InputError, match=r"too many moderators: 5 .* for k = 5 studies \(at most k - 1 = 4\)"):
        meta_analyze(Y, V, mods=many)
    with pytest.raises(InputError, match="single level"):
        meta_analyze(Y, V, mods=pd.DataFrame({"family": ["cnn"] * 5}))
    with pytest.raises(InputError, match="one row per study: got 3 rows for 5"):
        meta_analyze(Y, V, mods=pd.DataFrame({"a": [1, 2, 3]}))


def test_missing_moderators_drop_studies() -> None:
    mods = pd.DataFrame({"size": [1.0, 2.0, np.nan, 4.0, 5.0]})
    with pytest.warns(DataDroppedWarning, match="1 missing moderators"):
        res = meta_analyze(Y, V, mods=mods)
    assert res.k == 4


def test_paule_mandel_without_a_root_raises_convergence_error() -> None:
    # four identical effects and one far outlier: mad = 0, so the search bound is 100 and Q stays above k - 1
    with pytest.raises(ConvergenceError, match="Try a non-iterative estimator"):
        meta_analyze([0.0, 0.0, 0.0, 0.0, 1e4], [0.01] * 5, method="PM")


def test_wrong_types() -> None:
    with pytest.raises(TypeError, match="'level' parameter must be a number"):
        meta_analyze(Y, V, level="95")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"'level' parameter must lie in \(0, 100\)"):
        meta_analyze(Y, V, level=120)
    with pytest.raises(TypeError, match="got a string"):
        meta_analyze("0.1,0.2", V)


def test_identical_effects_with_knha_do_not_crash() -> None:
    # the Knapp-Hartung scale is 0 (metafor sets s2w = 0), so se = 0 and QM is undefined (NA in metafor)
    res = meta_analyze([0.01] * 4, [0.001, 0.002, 0.001, 0.003], test="knha")
    assert res.estimate == pytest.approx(0.01) and res.tau2 == 0 and res.se == 0
    assert np.isnan(res.qm)
    with pytest.warns(SmallSampleWarning):
        single = meta_analyze([0.2], [0.01], test="knha")
    assert single.estimate == 0.2 and single.df is None


@pytest.mark.parametrize("model", ["bayes", "multilevel"])
def test_effect_checks_of_the_bayes_and_multilevel_models(model: str) -> None:
    from consilience.pooling import bayes_meta_analyze, multilevel_meta_analyze

    nested = pd.DataFrame({"team": ["a", "a", "b", "b", "c"]})

    def fit(yi: list[float], vi: list[float]) -> object:
        if model == "bayes":
            return bayes_meta_analyze(yi, vi)
        return multilevel_meta_analyze(yi, vi, nested.iloc[: len(yi)])

    with pytest.raises(InputError, match=r"'vi' must be > 0; got 0.0 at row 2\. .*not standard errors"):
        fit(Y, [0.01, 0.02, 0.0, 0.03, 0.02])
    with pytest.raises(InputError, match=r"'yi' and 'vi' must have the same length; got 5 and 4\. Pass one"):
        fit(Y, V[:4])
    with pytest.warns(DataDroppedWarning, match=r"1 effect\(s\) with missing yi or vi omitted \(row 1\)") as caught:
        fit([0.1, np.nan, 0.2, 0.5, 0.4], V)
    assert all(w.filename == __file__ for w in caught)  # the warning points at the caller's line


def test_pooling_exports_every_public_model() -> None:
    from consilience import pooling

    for name in ("BayesResult", "BayesianMetaAnalysis", "MultilevelMetaAnalysis", "MultilevelResult",
                 "bayes_meta_analyze", "multilevel_meta_analyze", "parse_tau_prior"):
        assert name in pooling.__all__ and hasattr(pooling, name)
