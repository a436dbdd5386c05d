"""Forest-style plots: the layout numbers equal the result's, and drawing puts them on the Axes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from numpy.testing import assert_allclose
from scipy import stats

import consilience as cs
from consilience.diagnostics import cumulative, leave_one_out
from consilience.errors import InputError
from consilience.report.plots import (
    cumulative_layout,
    cumulative_plot,
    forest_layout,
    forest_plot,
    leave_one_out_layout,
    leave_one_out_plot,
    subgroup_forest_layout,
    subgroup_forest_plot,
)
from consilience.report.plots._rows import ForestLayout


def _expected_texts(layout: ForestLayout) -> int:
    rows = layout.rows
    cells = rows[["est_text", "low_text", "high_text", "weight_text"]].ne("").sum(axis=1)
    headers = 2 + (layout.weight_header is not None)
    return int(len(rows) + cells[rows["kind"] != "note"].sum() + headers)


def test_forest_rows_are_the_studies_with_normal_intervals(bcg_fit: cs.MetaResult) -> None:
    layout = forest_layout(bcg_fit)
    studies = layout.rows_of("study")
    z = stats.norm.isf(0.025)
    assert studies["label"].tolist() == list(bcg_fit.labels)
    assert_allclose(studies["estimate"], bcg_fit.yi)
    assert_allclose(studies["ci_low"], bcg_fit.yi - z * np.sqrt(bcg_fit.vi))
    assert_allclose(studies["ci_high"], bcg_fit.yi + z * np.sqrt(bcg_fit.vi))
    assert_allclose(
        studies[["ci_low", "ci_high"]], bcg_fit.studies().iloc[: bcg_fit.k][["ci_low", "ci_high"]]
    )
    assert_allclose(studies["marker_area"], bcg_fit.weights / bcg_fit.weights.max())
    assert studies["weight_text"].tolist() == [f"{w:.1f}%" for w in bcg_fit.weights]
    assert np.all(np.diff(studies["y"]) == -1.0)  # one unit apart, first study on top


def test_forest_diamond_prediction_and_notes(bcg_fit: cs.MetaResult) -> None:
    layout = forest_layout(bcg_fit)
    diamond = layout.rows_of("summary").iloc[0]
    assert_allclose(
        [diamond["estimate"], diamond["ci_low"], diamond["ci_high"]],
        [bcg_fit.estimate, bcg_fit.ci_low, bcg_fit.ci_high],
    )
    assert diamond["est_text"] == "\u22120.71" and diamond["low_text"] == "[\u22121.07,"
    pi = layout.rows_of("prediction").iloc[0]
    assert_allclose([pi["ci_low"], pi["ci_high"]], [bcg_fit.pi_low, bcg_fit.pi_high])
    notes = layout.rows_of("note")["label"].tolist()
    assert notes[0] == (
        "Heterogeneity: \u03c4\u00b2 = 0.31, I\u00b2 = 92.2%, Q = 152.23 (df = 12), p < 0.001"
    )
    assert notes[1] == "Test for overall effect: z = \u22123.97, p < 0.001"
    drawn = layout.rows.loc[layout.rows["kind"].isin(["study", "summary", "prediction"])]
    assert layout.xlim[0] <= drawn["ci_low"].min() and layout.xlim[1] >= drawn["ci_high"].max()
    assert layout.estimate_header == "Estimate [95% CI]"
    json.dumps(layout.to_dict())


def test_forest_options_change_order_scale_and_columns(bcg_fit: cs.MetaResult) -> None:
    layout = forest_layout(
        bcg_fit,
        order="estimate",
        exponentiate=True,
        weights=False,
        prediction=False,
        effect_label="Risk ratio",
    )
    studies = layout.rows_of("study")
    assert np.all(np.diff(studies["estimate"]) >= 0)
    assert studies["est_text"].iloc[0] == f"{np.exp(studies['estimate'].iloc[0]):.2f}"
    assert (studies["weight_text"] == "").all() and layout.weight_header is None
    assert layout.rows_of("prediction").empty
    assert_allclose(np.exp(layout.xticks), [float(t) for t in layout.xticklabels])
    assert layout.estimate_header == "Risk ratio [95% CI]" and layout.xlabel == "Risk ratio"
    ee = forest_layout(cs.meta_analyze(bcg_fit.yi, bcg_fit.vi, method="EE"))
    assert ee.rows_of("prediction").empty
    assert ee.rows_of("note")["label"].iloc[0].startswith("Heterogeneity: I\u00b2 = ")


def test_forest_refuses_meta_regressions_and_other_objects(bcg_data: pd.DataFrame) -> None:
    reg = cs.meta_analyze("yi", "vi", data=bcg_data, mods=["ablat"])
    with pytest.raises(InputError, match="without moderators"):
        forest_layout(reg)
    with pytest.raises(TypeError, match="meta_analyze"):
        forest_layout("not a fit")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'order' parameter"):
        fit = cs.meta_analyze(bcg_data["yi"], bcg_data["vi"])
        forest_layout(fit, order="size")  # type: ignore[arg-type]


def test_forest_draws_one_marker_interval_and_text_per_row(bcg_fit: cs.MetaResult) -> None:
    ax = Figure().add_subplot()
    assert forest_plot(bcg_fit, ax) is ax
    layout = forest_layout(bcg_fit)
    markers = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(markers) == 1
    assert_allclose(markers[0].get_offsets(), layout.rows_of("study")[["estimate", "y"]].to_numpy())
    (intervals,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    ends = np.array([seg[:, 0] for seg in intervals.get_segments()])
    assert_allclose(ends, layout.rows_of("study")[["ci_low", "ci_high"]].to_numpy())
    (diamond,) = [p for p in ax.patches if isinstance(p, Polygon)]
    xs = diamond.get_xy()[:, 0]
    assert_allclose(
        [xs.min(), np.median(xs), xs.max()], [bcg_fit.ci_low, bcg_fit.estimate, bcg_fit.ci_high]
    )
    assert len(ax.lines) == 3  # reference line, prediction interval and its end caps
    assert len(ax.texts) == _expected_texts(layout)
    assert ax.get_xlim() == pytest.approx(layout.xlim)


def test_intervals_beyond_xlim_end_in_arrows(bcg_fit: cs.MetaResult) -> None:
    ax = Figure().add_subplot()
    forest_plot(bcg_fit, ax, xlim=(-2.0, 1.0))
    markers = [c for c in ax.collections if isinstance(c, PathCollection)]
    half = stats.norm.isf(0.025) * np.sqrt(bcg_fit.vi)
    cut = int((bcg_fit.yi - half < -2).sum() + (bcg_fit.yi + half > 1).sum())
    inside = int(((bcg_fit.yi >= -2) & (bcg_fit.yi <= 1)).sum())
    assert cut > 0
    assert sum(len(m.get_offsets()) for m in markers) == inside + cut


def test_subgroup_forest_diamonds_and_test_of_differences(bcg_data: pd.DataFrame) -> None:
    sub = cs.subgroup_analysis(bcg_data["yi"], bcg_data["vi"], bcg_data["alloc"])
    layout = subgroup_forest_layout(sub)
    diamonds = layout.rows_of("summary")
    assert_allclose(
        diamonds[["estimate", "ci_low", "ci_high"]], sub.table[["estimate", "ci_low", "ci_high"]]
    )
    assert diamonds["label"].tolist() == [
        f"{g} (k = {k})" for g, k in zip(sub.table["subgroup"], sub.table["k"])
    ]
    assert layout.rows_of("note")["label"].iloc[-1] == (
        f"Test for subgroup differences: Q = {sub.q_between:.2f} (df = 2), "
        f"p = {sub.q_between_p_value:.3f}"
    )
    ax = Figure().add_subplot()
    assert subgroup_forest_plot(sub, ax) is ax
    assert len(ax.patches) == len(sub.table)
    assert len(ax.texts) == _expected_texts(layout)


def test_subgroup_forest_lists_studies_under_their_subgroup(
    bcg_data: pd.DataFrame, bcg_fit: cs.MetaResult
) -> None:
    sub = cs.subgroup_analysis(bcg_data["yi"], bcg_data["vi"], bcg_data["alloc"])
    layout = subgroup_forest_layout(sub, overall=bcg_fit, groups=bcg_data["alloc"])
    rows = layout.rows
    assert rows.loc[rows["kind"] == "heading", "label"].tolist() == [
        "alternate",
        "random",
        "systematic",
    ]
    studies = layout.rows_of("study")
    assert sorted(studies["label"]) == sorted(bcg_fit.labels)
    diamonds = layout.rows_of("summary")
    assert_allclose(
        diamonds[["estimate", "ci_low", "ci_high"]].iloc[-1],
        [bcg_fit.estimate, bcg_fit.ci_low, bcg_fit.ci_high],
    )
    # each block holds the studies of its subgroup, above its diamond
    for g, diamond in zip(sub.table["subgroup"], diamonds.itertuples()):
        members = set(np.asarray(bcg_fit.labels)[bcg_data["alloc"].to_numpy() == g])
        above = rows.loc[(rows["kind"] == "study") & rows["label"].isin(members), "y"]
        assert (above > diamond.y).all() and len(above) == len(members)
    with pytest.raises(InputError, match="one subgroup per study"):
        subgroup_forest_layout(sub, overall=bcg_fit, groups=bcg_data["alloc"][:5])
    with pytest.raises(InputError, match="both 'overall'"):
        subgroup_forest_layout(sub, groups=bcg_data["alloc"])


def test_cumulative_rows_are_the_steps(bcg_fit: cs.MetaResult, bcg_data: pd.DataFrame) -> None:
    cum = cumulative(bcg_fit, bcg_data["year"])
    layout = cumulative_layout(cum)
    rows = layout.rows_of("study")
    assert rows["label"].tolist() == [f"+ {s}" for s in cum.study]
    assert_allclose(
        rows[["estimate", "ci_low", "ci_high"]],
        np.column_stack([cum.estimate, cum.ci_low, cum.ci_high]),
    )
    assert_allclose(
        rows[["estimate", "ci_low", "ci_high"]].iloc[-1],
        [bcg_fit.estimate, bcg_fit.ci_low, bcg_fit.ci_high],
    )
    assert rows["weight_text"].iloc[-1] == "92.2%" and layout.weight_header == "I\u00b2"
    assert rows["weight_text"].iloc[0] == "0.0%"  # one study: I² = 0
    assert layout.rows_of("note")["label"].iloc[0].endswith("the last row pools all 13.")
    ax = Figure().add_subplot()
    assert cumulative_plot(cum, ax) is ax
    (markers,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(markers.get_offsets()) == cum.k
    assert len(ax.patches) == 0


def test_leave_one_out_rows_and_the_full_fit(bcg_fit: cs.MetaResult) -> None:
    loo = leave_one_out(bcg_fit)
    layout = leave_one_out_layout(loo, full=bcg_fit, exponentiate=True)
    rows = layout.rows_of("study")
    assert rows["label"].tolist() == list(bcg_fit.labels)
    assert_allclose(rows["ci_high"], loo.ci_high)
    assert rows["est_text"].tolist() == [f"{np.exp(e):.2f}" for e in loo.estimate]
    assert_allclose(
        layout.rows_of("summary")[["estimate", "ci_low", "ci_high"]].iloc[0],
        [bcg_fit.estimate, bcg_fit.ci_low, bcg_fit.ci_high],
    )
    ax = Figure().add_subplot()
    assert leave_one_out_plot(loo, ax, full=bcg_fit) is ax
    assert len(ax.patches) == 1
    other = cs.meta_analyze(bcg_fit.yi[:5], bcg_fit.vi[:5])
    with pytest.raises(InputError, match="'full' must be the fit"):
        leave_one_out_layout(loo, full=other)
