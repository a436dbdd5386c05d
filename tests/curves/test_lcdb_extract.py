"""Real learning curves: an extract of LCDB 1.0 (see data/README.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consilience.curves import LearningCurve, data_value, shape_flags

from .conftest import DATA

EXPECTED_SHAPE = {
    (21, "sklearn.discriminant_analysis.LinearDiscriminantAnalysis"): set(),
    (11, "SVC_linear"): set(),
    (357, "sklearn.ensemble.RandomForestClassifier"): set(),
    (21, "sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis"): {"non_monotone"},
    (44, "sklearn.discriminant_analysis.LinearDiscriminantAnalysis"): {"non_monotone", "peaking"},
    (26, "SVC_poly"): {"saturated"},
    (11, "sklearn.naive_bayes.BernoulliNB"): {"flat"},
    (26, "sklearn.linear_model.Perceptron"): {"non_monotone"},
}


def curve(frame: pd.DataFrame, openmlid: int, learner: str) -> pd.DataFrame:
    rows = frame[(frame["openmlid"] == openmlid) & (frame["learner"] == learner)]
    return rows.assign(seed=rows["outer_seed"].astype(str) + "-" + rows["inner_seed"].astype(str))


def test_extract_is_small_and_complete(lcdb_extract: pd.DataFrame) -> None:
    assert (DATA / "lcdb_extract.csv").stat().st_size < 500_000
    keys = set(map(tuple, lcdb_extract[["openmlid", "learner"]].drop_duplicates().to_numpy().tolist()))
    assert keys == set(EXPECTED_SHAPE)


@pytest.mark.parametrize(("key", "flags"), list(EXPECTED_SHAPE.items()))
def test_shapes_of_real_curves_are_flagged(lcdb_extract: pd.DataFrame, key: tuple[int, str], flags: set[str]) -> None:
    rows = curve(lcdb_extract, *key)
    stats = rows.groupby("size_train")["score_test"].agg(["mean", "std", "count"])
    se = (stats["std"] / np.sqrt(stats["count"])).to_numpy()
    found = shape_flags(stats.index.to_numpy(dtype=float), 1 - stats["mean"].to_numpy(), se)
    assert set(found) == flags


def test_extrapolation_of_a_well_behaved_curve(lcdb_extract: pd.DataFrame) -> None:
    rows = curve(lcdb_extract, 21, "sklearn.discriminant_analysis.LinearDiscriminantAnalysis")
    final = rows["size_train"].max()
    part = rows[rows["size_train"] <= final / 4]
    fit = LearningCurve(n_boot=50, worst_score=0.0, seed=0).fit(part["size_train"], part["score_test"], part["seed"])
    truth = rows.loc[rows["size_train"] == final, "score_test"].mean()
    assert abs(fit.point([final])[0] - truth) < 0.03
    # At the largest fitted anchor the band is an interpolation and must hold the observed mean.
    band = fit.predict([part["size_train"].max()]).iloc[0]
    observed = part.loc[part["size_train"] == part["size_train"].max(), "score_test"].mean()
    assert band["ci_low"] - 0.005 <= observed <= band["ci_high"] + 0.005


def test_non_monotone_curve_with_missing_anchors_is_fitted_and_flagged(lcdb_extract: pd.DataFrame) -> None:
    rows = curve(lcdb_extract, 21, "sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis")
    assert rows.groupby("seed").size().nunique() > 1  # some seed lacks anchors
    fit = LearningCurve(n_boot=30, worst_score=0.0, families=("last1", "pow3", "vap3", "mmf4")).fit(
        rows["size_train"], rows["score_test"], rows["seed"])
    assert "non_monotone" in fit.flags
    assert any(w.startswith("non_monotone") for w in fit.provenance.warnings)
    assert 0.0 <= fit.point([1e5])[0] <= 1.0


def test_saturated_curve_has_no_value_left_in_labels(lcdb_extract: pd.DataFrame) -> None:
    rows = curve(lcdb_extract, 26, "SVC_poly")
    fit = LearningCurve(n_boot=30, families=("last1", "pow3", "exp3")).fit(
        rows["size_train"], rows["score_test"], rows["seed"])
    assert "saturated" in fit.flags
    value = data_value(fit, label_cost=1.0)
    assert abs(value.marginal_gain.estimate) < 1e-5
