"""Scenario predictions: metafor's predict() on the same meta-regression, and the evidence."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience.errors import DataDroppedWarning, InputError
from consilience.quality import predict_scenario

RTOL = 1e-6


def _values(s: object) -> list[float]:
    return [getattr(s, k) for k in ("pred", "se", "ci_low", "ci_high", "pi_low", "pi_high")]


def _ref(ref: dict, i: int | None = None) -> list[float]:
    keys = ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub")
    return [ref[k] if i is None else ref[k][i] for k in keys]


def test_predictions_match_metafor_predict(studies: pd.DataFrame, reference: dict) -> None:
    ref = reference["scenario_family_size"]
    for i, (family, n_train) in enumerate(zip(ref["model_family"], ref["n_train"])):
        got = predict_scenario(studies, {"model_family": family, "n_train": n_train},
                               log10=["n_train"], metric="accuracy")
        assert_allclose(_values(got), _ref(ref, i), rtol=RTOL)
        assert got.moderators == ("model_family", "log10_n_train")
        assert_allclose([c.estimate for c in got.meta.coefficients], ref["estimate"], rtol=RTOL)
        assert got.meta.tau2 == pytest.approx(ref["tau2"], rel=RTOL)
    only = predict_scenario(studies, {"model_family": "tree"})
    assert_allclose(_values(only), _ref(reference["scenario_family"]), rtol=RTOL)


def test_settings_outside_the_evidence_are_flagged(studies: pd.DataFrame) -> None:
    inside = predict_scenario(studies, {"model_family": "tree", "n_train": "10000"},
                              log10=["n_train"])
    assert not inside.extrapolation and inside.setting == {"model_family": "tree",
                                                           "n_train": 10000.0}
    assert "Outside" not in inside.message and inside.evidence["inside"].all()
    big = predict_scenario(studies, {"model_family": "linear", "n_train": 1e7},
                           log10=["n_train"])
    assert big.extrapolation and math.isfinite(big.pred)
    assert "above the largest value observed" in big.message
    new = predict_scenario(studies, {"model_family": "transformer", "n_train": 1e4},
                           log10=["n_train"])
    assert new.extrapolation and math.isnan(new.pred) and new.meta is None
    assert new.message.startswith("No prediction") and "never observed" in new.message
    assert repr(new).endswith("EXTRAPOLATION>")


def test_a_constant_category_is_left_out_of_the_model(studies: pd.DataFrame) -> None:
    const = studies.assign(stage="offline")
    got = predict_scenario(const, {"stage": "offline", "model_family": "tree"})
    assert got.moderators == ("model_family",) and not got.extrapolation
    plain = predict_scenario(studies, {"model_family": "tree"})
    assert got.pred == pytest.approx(plain.pred, rel=1e-12)
    other = predict_scenario(const, {"stage": "online"})
    assert other.extrapolation and math.isnan(other.pred)


def test_bad_settings_name_the_fix(studies: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="moderators available"):
        predict_scenario(studies, {"data_domain": "vision"})
    with pytest.raises(InputError, match="give a number"):
        predict_scenario(studies, {"n_train": "large"})
    with pytest.raises(InputError, match="must be > 0"):
        predict_scenario(studies, {"n_train": -5}, log10=["n_train"])
    with pytest.raises(InputError, match="non-empty mapping"):
        predict_scenario(studies, {})
    with pytest.raises(InputError, match=r"n_train='inf' must be a finite number; give the n_train"):
        predict_scenario(studies, {"n_train": "inf"})
    with pytest.raises(InputError, match=r"log10 names \['size'\].*moderators of the setting: \['n_train'\]"):
        predict_scenario(studies, {"n_train": 1000}, log10=["size"])


def test_studies_missing_a_moderator_are_dropped_with_a_count(studies: pd.DataFrame) -> None:
    holes = studies.copy()
    holes.loc[holes.index[:3], "n_train"] = float("nan")
    with pytest.warns(DataDroppedWarning, match="3 of 1394 studies dropped"):
        got = predict_scenario(holes, {"n_train": 5000}, log10=["n_train"])
    assert got.k == 1391 and got.provenance.n_dropped == 3
