"""Critical-difference diagram, rliable interval estimates and performance profiles on LCDB runs."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from numpy.testing import assert_allclose

from consilience import aggregate, rank_tests
from consilience.compare import RankTests, performance_profile
from consilience.errors import InputError
from consilience.report.plots import (
    aggregates_layout,
    aggregates_plot,
    critical_difference_layout,
    critical_difference_plot,
    profile_layout,
    profile_plot,
)


@pytest.fixture(scope="module")
def ranks(lcdb_runs: pd.DataFrame) -> RankTests:
    return rank_tests(lcdb_runs)


def _together(layout_cliques: pd.DataFrame) -> set[frozenset[str]]:
    pairs: set[frozenset[str]] = set()
    for members in layout_cliques["members"]:
        pairs |= {frozenset(p) for p in itertools.combinations(members, 2)}
    return pairs


@pytest.mark.parametrize("test", ["nemenyi", "wilcoxon-holm"])
def test_cliques_join_exactly_the_pairs_that_do_not_differ(ranks: RankTests, test: str) -> None:
    layout = critical_difference_layout(ranks, test=test)  # type: ignore[arg-type]
    together = _together(layout.cliques)
    column = "nemenyi_significant" if test == "nemenyi" else "holm_significant"
    for row in ranks.pairwise.itertuples(index=False):
        pair = frozenset((row.arm_a, row.arm_b))
        if getattr(row, column):
            assert pair not in together
        elif test == "nemenyi":
            assert pair in together  # mean-rank differences are interval-like: no pair is lost
    for clique in layout.cliques.itertuples(index=False):
        assert clique.low <= clique.high and len(clique.members) >= 2
        if test == "nemenyi":
            assert clique.high - clique.low <= ranks.cd


def test_critical_difference_layout_numbers(ranks: RankTests) -> None:
    layout = critical_difference_layout(ranks)
    assert layout.ranks["arm"].tolist() == ranks.ranks["arm"].tolist()
    assert_allclose(layout.ranks["mean_rank"], ranks.ranks["mean_rank"])
    assert (layout.ranks["side"] == "left").sum() == (ranks.n_arms + 1) // 2
    assert layout.cd == ranks.cd and layout.n_arms == ranks.n_arms
    assert layout.ylim[0] > layout.ranks["y"].max() and layout.ylim[1] < 0
    assert layout.note.startswith(f"Friedman \u03c7\u00b2({ranks.df}) = ")
    json.dumps(layout.to_dict())
    with pytest.raises(InputError, match="'test' parameter"):
        critical_difference_layout(ranks, test="t")  # type: ignore[arg-type]


def test_critical_difference_draws_names_ticks_and_cliques(ranks: RankTests) -> None:
    ax = Figure().add_subplot()
    assert critical_difference_plot(ranks, ax) is ax
    layout = critical_difference_layout(ranks)
    texts = [t.get_text() for t in ax.texts]
    assert texts[: ranks.n_arms] == [str(i) for i in range(1, ranks.n_arms + 1)]
    assert set(layout.ranks["label"]) <= set(texts)
    assert f"CD = {ranks.cd:.2f}" in texts and layout.note in texts
    # axis, CD bar, one elbow per arm, one bar per clique
    assert len(ax.lines) == 2 + ranks.n_arms + len(layout.cliques)


def test_interval_layout_is_the_aggregates_table(lcdb_runs: pd.DataFrame) -> None:
    agg = aggregate(lcdb_runs, reps=200)
    layout = aggregates_layout(agg)
    assert layout.statistics == ("median", "iqm", "mean", "optimality_gap")
    assert layout.titles == ("Median", "IQM", "Mean", "Optimality gap")
    merged = layout.intervals.merge(agg.table, on=["arm", "statistic"], suffixes=("", "_table"))
    assert len(merged) == len(agg.table)
    assert_allclose(
        merged[["estimate", "ci_low", "ci_high"]],
        merged[["estimate_table", "ci_low_table", "ci_high_table"]].to_numpy(),
    )
    iqm = layout.intervals.loc[layout.intervals["statistic"] == "iqm"].sort_values(
        "y", ascending=False
    )
    assert np.all(np.diff(iqm["estimate"]) <= 0)  # best on top
    for (lo, hi), stat in zip(layout.xlims, layout.statistics):
        part = layout.intervals.loc[layout.intervals["statistic"] == stat]
        assert lo < part["ci_low"].min() and hi > part["ci_high"].max()
    json.dumps(layout.to_dict())
    with pytest.raises(InputError, match="'statistics' parameter"):
        aggregates_layout(agg, statistics=["mode"])


def test_interval_plot_has_one_panel_per_statistic_and_a_bar_per_arm(
    lcdb_runs: pd.DataFrame,
) -> None:
    agg = aggregate(lcdb_runs, reps=200, statistics=["iqm", "mean"])
    ax = Figure().add_subplot()
    assert aggregates_plot(agg, ax) is ax
    assert not ax.axison
    panels = ax.child_axes
    assert len(panels) == 2 and [p.get_title() for p in panels] == ["IQM", "Mean"]
    n_arms = agg.table["arm"].nunique()
    for panel in panels:
        assert len([p for p in panel.patches if isinstance(p, Rectangle)]) == n_arms
    labels = [t.get_text() for t in panels[0].get_yticklabels()]
    assert labels == list(aggregates_layout(agg).arms)
    assert all(t.get_text() == "" for t in panels[1].get_yticklabels())


def test_profile_layout_and_plot(lcdb_runs: pd.DataFrame) -> None:
    prof = performance_profile(lcdb_runs, reps=100)
    layout = profile_layout(prof, arms=["BernoulliNB", "RandomForestClassifier"])
    assert layout.arms == ("RandomForestClassifier", "BernoulliNB")  # larger area first
    expected = prof.table.loc[prof.table["arm"].isin(layout.arms)]
    assert_allclose(
        layout.curves.sort_values(["arm", "tau"])[["estimate", "ci_low", "ci_high"]],
        expected.sort_values(["arm", "tau"])[["estimate", "ci_low", "ci_high"]].to_numpy(),
    )
    assert layout.ylabel == "Fraction of runs with score > \u03c4"
    ax = Figure().add_subplot()
    assert profile_plot(prof, ax, arms=list(layout.arms)) is ax
    assert [line.get_label() for line in ax.lines] == list(layout.arms)
    assert len(ax.collections) == 2  # one band per arm
    with pytest.raises(InputError, match="'arms' parameter"):
        profile_layout(prof, arms=["nope"])
