"""Every result's ``.plot()``: draws on the given Axes, makes no pyplot figure then, one otherwise."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import consilience as cs
from consilience import aggregate, rank_tests, report
from consilience.compare import performance_profile
from consilience.curves import LearningCurve
from consilience.design import power_ttest
from consilience.diagnostics import cumulative, funnel_data, influence, leave_one_out, trim_and_fill
from consilience.report import plots


def _results(
    fit: cs.MetaResult, data: pd.DataFrame, runs: pd.DataFrame
) -> dict[str, Callable[[Any], Axes]]:
    """Name -> a call of a result's plot method on an Axes (None for a new figure)."""
    sub = cs.subgroup_analysis(data["yi"], data["vi"], data["alloc"])
    sizes = np.repeat(32 * 2.0 ** np.arange(6), 2)
    scores = 0.9 - 0.5 * sizes**-0.4 + np.tile([0.002, -0.002], 6)
    curve = LearningCurve(n_boot=10, seed=0).fit(sizes, scores)
    infl = influence(fit)
    return {
        "MetaResult": lambda ax: fit.plot(ax, exponentiate=True),
        "SubgroupResult": lambda ax: sub.plot(ax, overall=fit, groups=data["alloc"]),
        "FunnelData": lambda ax: funnel_data(fit).plot(ax),
        "TrimAndFill": lambda ax: trim_and_fill(fit).plot(ax, contours=False),
        "Cumulative": lambda ax: cumulative(fit, data["year"]).plot(ax),
        "LeaveOneOut": lambda ax: leave_one_out(fit).plot(ax, full=fit),
        "Influence": lambda ax: infl.plot(fit, ax, n_labels=2),
        "RankTests": lambda ax: rank_tests(runs).plot(ax, test="wilcoxon-holm"),
        "Aggregates": lambda ax: aggregate(runs, reps=50).plot(ax),
        "PerformanceProfile": lambda ax: performance_profile(runs, reps=20).plot(ax),
        "CurveFit": lambda ax: curve.plot(ax, until=10_000),
        "PowerResult": lambda ax: power_ttest(0.8, np.arange(2, 40)).plot(ax, target=0.9),
    }


NAMES = [
    "MetaResult",
    "SubgroupResult",
    "FunnelData",
    "TrimAndFill",
    "Cumulative",
    "LeaveOneOut",
    "Influence",
    "RankTests",
    "Aggregates",
    "PerformanceProfile",
    "CurveFit",
    "PowerResult",
]


@pytest.fixture(scope="module")
def calls(
    bcg_fit: cs.MetaResult, bcg_data: pd.DataFrame, lcdb_runs: pd.DataFrame
) -> dict[str, Any]:
    return _results(bcg_fit, bcg_data, lcdb_runs)


@pytest.mark.parametrize("name", NAMES)
def test_plot_draws_on_the_given_axes_without_a_pyplot_figure(
    calls: dict[str, Any], name: str
) -> None:
    plt.close("all")
    fig = Figure()
    ax = fig.add_subplot()
    out = calls[name](ax)
    assert out is ax
    assert plt.get_fignums() == []
    assert ax.has_data() or ax.child_axes or ax.texts
    assert out.figure is fig


@pytest.mark.parametrize("name", NAMES)
def test_plot_without_axes_makes_one_new_figure(calls: dict[str, Any], name: str) -> None:
    plt.close("all")
    out = calls[name](None)
    assert isinstance(out, Axes)
    assert plt.get_fignums() == [out.figure.number]  # type: ignore[union-attr]
    out.figure.canvas.draw()  # the whole figure renders


def test_a_non_axes_is_refused(bcg_fit: cs.MetaResult) -> None:
    with pytest.raises(TypeError, match="'ax' parameter must be a matplotlib Axes"):
        plots.forest_plot(bcg_fit, ax="left")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'ax' parameter"):
        bcg_fit.plot(Figure())  # type: ignore[arg-type]


def test_exports_are_listed_and_resolve() -> None:
    for module in (report, plots):
        assert list(module.__all__) == sorted(set(module.__all__))
        for name in module.__all__:
            assert callable(getattr(module, name)), name
    assert {n for n in plots.__all__ if n.endswith("_plot")} == set(report.__all__)


def test_the_core_imports_neither_matplotlib_nor_the_report_layer() -> None:
    code = (
        "import sys, consilience, consilience.diagnostics, consilience.compare, consilience.curves, "
        "consilience.design, consilience.report\n"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('matplotlib')}), "
        "'consilience.report.plots.forest' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # importing consilience.report loads the layouts, never matplotlib
    assert out.stdout.split() == ["[]", "True"]
    code = "import sys, consilience\nprint(any(m.startswith('consilience.report') for m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
