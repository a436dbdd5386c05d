"""Funnel and Baujat plots: contours, filled studies, and Baujat's coordinates as metafor defines them."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from numpy.testing import assert_allclose

import consilience as cs
from consilience.diagnostics import funnel_data, influence, leave_one_out, trim_and_fill
from consilience.errors import InputError
from consilience.report.plots import baujat_layout, baujat_plot, funnel_layout, funnel_plot


def test_funnel_bands_are_the_contours_of_funnel_data(bcg_fit: cs.MetaResult) -> None:
    fd = funnel_data(bcg_fit)
    layout = funnel_layout(fd)
    bands = layout.bands
    assert bands["label"].tolist() == [
        "p > 0.10",
        "0.05 < p \u2264 0.10",
        "0.01 < p \u2264 0.05",
        "p \u2264 0.01",
    ]
    for j in range(len(fd.levels)):
        assert_allclose(bands["low"].iloc[j], fd.contour_low[j])
        assert_allclose(bands["high"].iloc[j], fd.contour_high[j])
    assert np.isinf(bands["low"].iloc[-1]).all()
    assert layout.xlim == fd.contour_xlim
    assert layout.ylim == (pytest.approx(1.05 * fd.ylim[0]), 0.0)
    assert_allclose(layout.points[["x", "y"]], np.column_stack([fd.yi, fd.sei]))
    assert np.isnan(layout.observed_estimate)
    json.dumps(layout.to_dict())


def test_funnel_without_contours_draws_the_95_percent_region(bcg_fit: cs.MetaResult) -> None:
    fd = funnel_data(bcg_fit)
    layout = funnel_layout(fd, contours=False)
    assert layout.xlim == fd.xlim
    row = layout.region.iloc[0]
    assert row["level"] == pytest.approx(0.95)
    assert_allclose(row["low"], fd.region_low[1])
    ax = Figure().add_subplot()
    funnel_plot(fd, ax, contours=False)
    (region,) = ax.patches
    assert_allclose(region.get_xy()[: fd.se_grid.size, 0], fd.region_low[1])


def test_funnel_draws_contours_and_filled_studies_as_open_circles(bcg_fit: cs.MetaResult) -> None:
    tf = trim_and_fill(bcg_fit)
    assert tf.k0 >= 1
    ax = Figure().add_subplot()
    assert funnel_plot(tf, ax) is ax
    layout = funnel_layout(tf)
    assert int(layout.points["filled"].sum()) == tf.k0
    assert layout.estimate == pytest.approx(tf.estimate)
    assert layout.observed_estimate == pytest.approx(bcg_fit.estimate)
    polygons = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(polygons) == len(layout.bands) - 1  # the outermost band is the background
    widest = funnel_data(tf).contour_low[-1]
    assert_allclose(polygons[0].get_xy()[: widest.size, 0], widest)
    observed, filled = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(observed.get_offsets()) == tf.k and len(filled.get_offsets()) == tf.k0
    assert_allclose(filled.get_facecolor()[0], [1, 1, 1, 1])
    assert len(ax.lines) == 2  # the filled and the observed estimate
    assert len(ax.get_legend().get_texts()) == 4 + 2 + 2


def _resid_share(fit: cs.MetaResult) -> np.ndarray:
    return np.asarray((fit.yi - fit.estimate) ** 2 / (fit.vi + fit.tau2))


def test_baujat_coordinates_match_metafor_definitions(bcg_fit: cs.MetaResult) -> None:
    layout = baujat_layout(bcg_fit)
    assert_allclose(layout.points["x"], _resid_share(bcg_fit))
    loo = leave_one_out(bcg_fit)
    assert_allclose(layout.points["y"], (loo.estimate - bcg_fit.estimate) ** 2 / loo.se**2)
    from_influence = baujat_layout(bcg_fit, influence=influence(bcg_fit))
    assert_allclose(from_influence.points["y"], layout.points["y"], rtol=1e-9)
    assert layout.xlabel == "Squared Pearson residual"
    assert layout.ylabel == "Influence on overall result"
    assert layout.points["labelled"].sum() == 5
    json.dumps(layout.to_dict())


def test_baujat_x_values_sum_to_q_for_an_equal_effects_model(bcg_fit: cs.MetaResult) -> None:
    ee = cs.meta_analyze(bcg_fit.yi, bcg_fit.vi, method="EE")
    layout = baujat_layout(ee)
    assert layout.points["x"].sum() == pytest.approx(ee.q, rel=1e-10)
    assert layout.xlabel == "Contribution to overall heterogeneity"


def test_baujat_of_a_meta_regression_matches_separate_refits(bcg_data: pd.DataFrame) -> None:
    reg = cs.meta_analyze("yi", "vi", data=bcg_data, mods=["ablat"], labels="trial")
    layout = baujat_layout(reg)
    X = np.column_stack([np.ones(reg.k), bcg_data["ablat"]])
    b = np.array([c.estimate for c in reg.coefficients])
    assert_allclose(layout.points["x"], (reg.yi - X @ b) ** 2 / (reg.vi + reg.tau2))
    for i in (0, 6):
        keep = np.arange(reg.k) != i
        part = cs.meta_analyze(reg.yi[keep], reg.vi[keep], mods={"ablat": bcg_data["ablat"][keep]})
        bi = np.array([c.estimate for c in part.coefficients])
        expected = (X[i] @ bi - X[i] @ b) ** 2 / (X[i] @ part.vcov @ X[i])
        assert layout.points["y"].iloc[i] == pytest.approx(expected, rel=1e-6)
    assert layout.ylabel == "Influence on fitted value"


def test_baujat_draws_every_study_with_its_id(bcg_fit: cs.MetaResult) -> None:
    ax = Figure(figsize=(5, 5)).add_subplot()
    assert baujat_plot(bcg_fit, ax, n_labels=3) is ax
    (points,) = ax.collections
    layout = baujat_layout(bcg_fit, n_labels=3)
    assert_allclose(points.get_offsets(), layout.points[["x", "y"]].to_numpy())
    texts = [t.get_text() for t in ax.texts]
    assert texts[: bcg_fit.k] == [str(i) for i in range(1, bcg_fit.k + 1)]
    named = set(texts[bcg_fit.k :])
    assert named <= set(layout.points.loc[layout.points["labelled"], "study"]) and named
    with pytest.raises(InputError, match="n_labels"):
        baujat_layout(bcg_fit, n_labels=-1)
    with pytest.raises(InputError, match="influence"):
        baujat_layout(bcg_fit, influence=influence(cs.meta_analyze(bcg_fit.yi[:5], bcg_fit.vi[:5])))
