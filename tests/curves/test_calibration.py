"""Calibrated bands: conformal factors, their interpolation, and how CurveFit applies them."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from consilience.curves import (
    BandCalibration,
    CurveFit,
    LearningCurve,
    band_scores,
    calibrate_bands,
    default_calibration,
)
from consilience.errors import InputError

from .conftest import ANCHORS, simulate

RATIOS = (1.0, 2.0, 4.0)


def scores_frame(ratio: np.ndarray, n_anchors: np.ndarray, score: np.ndarray, level: float) -> pd.DataFrame:
    return pd.DataFrame({"ratio": ratio, "n_anchors": n_anchors, "level": level, "score": score})


@pytest.fixture(scope="module")
def pow3_fits() -> tuple[CurveFit, CurveFit]:
    data = simulate("pow3", n_seeds=4, noise=0.01, seed=7)
    kwargs = {"families": ("last1", "pow3", "pow4"), "n_boot": 80, "seed": 2}
    calibrated = LearningCurve(**kwargs).fit(data["size"], data["score"], data["seed"])  # type: ignore[arg-type]
    plain = LearningCurve(band="bootstrap", **kwargs).fit(  # type: ignore[arg-type]
        data["size"], data["score"], data["seed"])
    return calibrated, plain


def test_factor_is_the_conformal_quantile_of_each_cell() -> None:
    rng = np.random.default_rng(0)
    n = 199
    ratio = np.r_[np.full(n, 2.0), np.full(n, 4.0)]
    anchors = np.full(2 * n, 8)
    score = np.r_[rng.permutation(np.arange(1, n + 1)) / 100, rng.permutation(np.arange(1, n + 1)) / 50]
    table = calibrate_bands(scores_frame(ratio, anchors, score, 0.9), levels=(0.9,), anchor_edges=(3,),
                            ratios=RATIOS)
    # ceil((199 + 1) * 0.9) = 180th smallest of 1/100, ..., 199/100.
    np.testing.assert_allclose(table.factors[0, 0], [1.0, 1.80, 3.60])
    assert list(table.n_scores[0]) == [0, n, n]


def test_factors_never_shrink_with_distance_and_sparse_cells_borrow_from_the_pool() -> None:
    ratio = np.r_[np.full(50, 2.0), np.full(50, 4.0), np.full(3, 4.0)]
    anchors = np.r_[np.full(100, 5), np.full(3, 12)]
    score = np.r_[np.full(50, 3.0), np.full(50, 1.5), np.full(3, 9.0)]
    table = calibrate_bands(scores_frame(ratio, anchors, score, 0.8), levels=(0.8,), anchor_edges=(3, 10),
                            ratios=RATIOS)
    assert list(table.factors[0, 0]) == [1.0, 3.0, 3.0]  # 1.5 at x4 raised to the 3.0 at x2
    # Group 1 has no scores at x2 and 3 at x4, too few for an 80% quantile: it takes the pooled
    # ones (3.0 at x2, 1.5 at x4, raised to 3.0).
    assert list(table.factors[0, 1]) == [1.0, 3.0, 3.0]
    assert table.group(2) == 0 and table.group(9) == 0 and table.group(10) == 1 and table.group(40) == 1


def test_split_conformal_factor_covers_new_exchangeable_scores() -> None:
    rng = np.random.default_rng(1)
    train, test = rng.exponential(2.0, 1000), rng.exponential(2.0, 20000)
    table = calibrate_bands(scores_frame(np.full(1000, 4.0), np.full(1000, 10), train, 0.95),
                            levels=(0.95,), anchor_edges=(3,), ratios=RATIOS)
    assert table.factors[0, 0, 1] == 1.0  # no scores near x2: the factor of x1
    k = table.factor(0.95, [4.0], 10)[0]
    assert abs(np.mean(test <= k) - 0.95) < 0.015


def test_factor_interpolates_in_log_ratio_and_level() -> None:
    factors = np.array([[[1.0, 2.0, 4.0]], [[1.0, 3.0, 5.0]]])
    table = BandCalibration((0.8, 0.9), (3,), RATIOS, factors, np.zeros((1, 3), dtype=np.int64), "test")
    np.testing.assert_allclose(table.factor(0.8, [0.5, 1.0, math.sqrt(2), 2.0, 2 * math.sqrt(2), 8.0], 7),
                               [1.0, 1.0, 1.5, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(table.factor(0.85, [2.0], 7), [2.5])
    np.testing.assert_allclose(table.factor(0.99, [4.0], 7), [5.0])
    again = BandCalibration.from_dict(json.loads(json.dumps(table.to_dict())))
    np.testing.assert_allclose(again.factors, table.factors)
    assert list(table.to_frame().columns) == ["level", "anchors_min", "anchors_max", "ratio", "factor", "n_scores"]


def test_ratios_must_start_at_one() -> None:
    with pytest.raises(InputError, match="'ratios' parameter must start at 1"):
        calibrate_bands(scores_frame(np.ones(1), np.ones(1), np.ones(1), 0.9), ratios=(2.0, 4.0))


def test_shipped_table_is_learned_on_lcdb_and_widens_with_distance_and_level() -> None:
    table = default_calibration()
    assert "LCDB" in table.source and "dev half" in table.source
    assert 0.95 in table.levels and table.ratios[0] == 1.0
    assert np.all(np.diff(table.factors[:, :, 1:], axis=2) >= 0)
    assert np.all(np.diff(table.factors[:, :, 1:], axis=0) >= 0)  # higher level, wider band
    at95 = table.factors[table.levels.index(0.95)]
    assert np.all(at95[:, -1] > 1.0) and table.distance_term == 0.05


def test_calibrated_band_is_the_conformal_band_about_the_median(pow3_fits: tuple[CurveFit, CurveFit]) -> None:
    calibrated, plain = pow3_fits
    table = default_calibration()
    x = ANCHORS[-1] * np.array([0.5, 1.0, 2.0, 8.0])
    raw = plain.draws(x)
    np.testing.assert_array_equal(raw, calibrated.draws(x, calibrated=False))
    k = calibrated.band_inflation(x)
    assert list(k[:2]) == [1.0, 1.0] and np.all(k[2:] > 0)
    np.testing.assert_array_equal(plain.band_inflation(x), np.ones(4))
    err = 1.0 - raw
    med = np.median(err, axis=0)
    lo, hi = np.quantile(err, [0.025, 0.975], axis=0)
    term = table.distance_term * (1.0 - calibrated.observed[-1]) * np.log2(np.maximum(x / ANCHORS[-1], 1.0))
    band, plain_band = calibrated.predict(x), plain.predict(x)
    np.testing.assert_allclose(1.0 - band["ci_high"], np.maximum(med - k * (med - lo + term), 0.0), atol=1e-12)
    np.testing.assert_allclose(1.0 - band["ci_low"], med + k * (hi - med + term), atol=1e-12)
    pd.testing.assert_frame_equal(band.iloc[:2], plain_band.iloc[:2])  # within the measured range
    np.testing.assert_array_equal(band["estimate"], plain_band["estimate"])
    assert calibrated.to_dict()["band"] == "calibrated" and calibrated.provenance.options["band"] == "calibrated"


def test_band_scores_measure_the_distance_in_units_of_the_scale(pow3_fits: tuple[CurveFit, CurveFit]) -> None:
    _, plain = pow3_fits
    x = np.array([4.0 * ANCHORS[-1]])
    err = 1.0 - plain.draws(x)[:, 0]
    med = float(np.median(err))
    hi = float(np.quantile(err, 0.975))
    term = 0.05 * (1.0 - plain.observed[-1]) * 2.0
    observed_error = med + 2.0 * (hi - med + term)
    frame = band_scores(plain, x, [1.0 - observed_error], [0.95], distance_term=0.05)
    assert list(frame.columns) == ["size", "ratio", "n_anchors", "level", "score"]
    np.testing.assert_allclose(frame["score"], [2.0])
    assert frame["ratio"].iloc[0] == 4.0 and frame["n_anchors"].iloc[0] == ANCHORS.size


def test_stretch_keeps_the_median_and_order() -> None:
    table = BandCalibration((0.95,), (3,), RATIOS, np.array([[[1.0, 2.0, 3.0]]]),
                            np.zeros((1, 3), dtype=np.int64), "test", 0.05)
    draws = np.random.default_rng(0).normal(0.2, 0.01, (401, 3))
    draws[:, 2] = 0.2  # no spread at all: only k could act, and the median stays
    out = table.stretch(draws, level=0.95, ratio=[1.0, 4.0, 4.0], n_anchors=8, last_error=0.2)
    np.testing.assert_array_equal(out[:, 0], draws[:, 0])
    np.testing.assert_allclose(np.median(out, axis=0), np.median(draws, axis=0))
    assert np.all(np.argsort(out[:, 1]) == np.argsort(draws[:, 1]))
    np.testing.assert_array_equal(out[:, 2], draws[:, 2])


def test_band_option_is_validated() -> None:
    with pytest.raises(InputError, match="'band' parameter must be one of"):
        LearningCurve(band="conformal")  # type: ignore[arg-type]
