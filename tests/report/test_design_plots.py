"""Learning curves, power curves and the baseline-progress chart."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from numpy.testing import assert_allclose
from pandas.testing import assert_frame_equal

from consilience.curves import CurveFit, LearningCurve
from consilience.design import power_meta, power_ttest, recommend_design
from consilience.errors import InputError
from consilience.report.plots import (
    baseline_progress_layout,
    baseline_progress_plot,
    learning_curve_layout,
    learning_curve_plot,
    power_layout,
    power_plot,
)
from consilience.report.plots.power import crossing


def simulated_curve(seed: int = 0) -> pd.DataFrame:
    """Accuracy = 1 - (0.05 + 0.3 n^-0.5 scaled), three seeds, eight anchors."""
    rng = np.random.default_rng(seed)
    sizes = np.round(32 * 2.0 ** np.arange(8))
    rows: list[dict[str, Any]] = []
    for s in range(3):
        for n in sizes:
            err = 0.05 + 0.3 * (n / sizes[-1]) ** -0.5 / 10
            rows.append({"size": n, "seed": f"s{s}", "score": 1 - err + rng.normal(0, 0.004)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def curve_fit() -> CurveFit:
    data = simulated_curve()
    return LearningCurve(n_boot=30, worst_score=0.0, seed=1).fit(
        data["size"], data["score"], data["seed"]
    )


def test_learning_curve_layout_is_the_fit_and_its_band(curve_fit: CurveFit) -> None:
    layout = learning_curve_layout(curve_fit, until=20_000, n_points=40)
    grid = layout.curve["size"].to_numpy()
    assert grid[0] == pytest.approx(curve_fit.sizes[0]) and grid[-1] == pytest.approx(20_000)
    assert curve_fit.current_size in grid
    expected = curve_fit.predict(grid)
    assert_allclose(
        layout.curve[["estimate", "ci_low", "ci_high"]], expected[["estimate", "ci_low", "ci_high"]]
    )
    assert (layout.curve["extrapolated"] == (grid > curve_fit.current_size)).all()
    assert_allclose(layout.observed["score"], curve_fit.observed)
    last = expected.iloc[-1]
    assert layout.prediction == (
        f"n = 20,000: {last['estimate']:.3f} [{last['ci_low']:.3f}, {last['ci_high']:.3f}]"
    )
    json.dumps(layout.to_dict())
    with pytest.raises(InputError, match="'until' parameter"):
        learning_curve_layout(curve_fit, until=10)


def test_learning_curve_draws_solid_fit_dashed_extrapolation_and_band(curve_fit: CurveFit) -> None:
    ax = Figure().add_subplot()
    assert learning_curve_plot(curve_fit, ax) is ax
    layout = learning_curve_layout(curve_fit)
    fitted, extrapolated = ax.lines[0], ax.lines[1]
    assert fitted.get_linestyle() == "-" and extrapolated.get_linestyle() == "--"
    assert_allclose(fitted.get_xdata(), layout.curve.loc[~layout.curve["extrapolated"], "size"])
    assert np.max(extrapolated.get_xdata()) == pytest.approx(layout.until)
    assert ax.get_xscale() == "log"
    assert len(ax.get_legend().get_texts()) == 5


def test_power_curve_recommends_the_solved_sample_size() -> None:
    curve = power_ttest(0.5, np.arange(2, 101), sd=1.0)
    layout = power_layout(curve)
    solved = power_ttest(0.5, None, 0.8, sd=1.0)
    assert layout.recommended_x == math.ceil(float(solved.n))
    assert layout.recommended_power >= 0.8
    assert layout.label == "n = 64 for 80% power"
    assert layout.xlabel == "Seeds per arm (n)" and layout.xname == "n"
    assert_allclose(layout.curves["power"], curve.power)
    json.dumps(layout.to_dict())
    ax = Figure().add_subplot()
    assert power_plot(curve, ax) is ax
    assert len(ax.lines) == 3  # the curve, the target line, the drop line
    assert len(ax.collections) == 1


def test_power_curve_over_tasks_that_never_reaches_the_target() -> None:
    curve = power_meta(0.005, k=np.arange(2, 20), seeds=5, sd=0.02, tau2=5e-5)
    layout = power_layout(curve, target=0.95)
    assert math.isnan(layout.recommended_x)
    assert layout.label == "95% power not reached on this range"
    assert layout.xname == "k"
    with pytest.raises(InputError, match="one swept quantity"):
        power_layout(power_ttest(0.5, 20))
    with pytest.raises(InputError, match="'target' parameter"):
        power_layout(curve, target=1.5)


def test_crossing_interpolates_and_rounds_up() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([0.2, 0.5, 0.7, 0.9])
    assert crossing(x, p, 0.8, whole=False) == pytest.approx(3.5)
    assert crossing(x, p, 0.8, whole=True) == 4.0
    assert crossing(x, p, 0.1, whole=True) == 1.0
    assert math.isnan(crossing(x, p, 0.95, whole=True))


def test_power_plot_of_a_design_plan(lcdb_runs: pd.DataFrame) -> None:
    tasks = lcdb_runs["task"].drop_duplicates().head(10)
    pilot = lcdb_runs.loc[
        lcdb_runs["task"].isin(tasks)
        & lcdb_runs["arm"].isin(["RandomForestClassifier", "ExtraTreesClassifier"])
    ]
    plan = recommend_design(
        pilot,
        baseline="ExtraTreesClassifier",
        candidate="RandomForestClassifier",
        min_effect=0.01,
        max_tasks=40,
    )
    layout = power_layout(plan)
    assert layout.recommended_x == plan.seeds and layout.recommended_power == plan.achieved_power
    assert layout.target == plan.target_power
    main = layout.curves.loc[layout.curves["main"]]
    expected = plan.power_curve.loc[plan.power_curve["k"] == plan.k]
    assert_allclose(main["power"], expected["power"])
    ax = Figure().add_subplot()
    assert plan.plot(ax) is ax


def _lineage() -> pd.DataFrame:
    day = pd.Timestamp("2024-03-01", tz="UTC")
    rows = [
        ("a", "rejected", 1, None, 0.70),
        ("b", "accepted", 2, 4, 0.74),
        ("c", "neutral", 5, None, 0.739),
        ("d", "failed", 6, None, None),
        ("e", "accepted", 7, 9, 0.76),
        ("f", "planned", 10, None, None),
    ]
    return pd.DataFrame(
        {
            "baseline": ["root", "root", "b", "b", "b", "e"],
            "experiment": [r[0] for r in rows],
            "status": [r[1] for r in rows],
            "change": "",
            "hypothesis": None,
            "created_at": [day + pd.Timedelta(days=r[2]) for r in rows],
            "accepted_at": [day + pd.Timedelta(days=r[3]) if r[3] else pd.NaT for r in rows],
            "score": [r[4] for r in rows],
        }
    )


def test_baseline_progress_counts_accepted_improvements() -> None:
    layout = baseline_progress_layout(_lineage())
    pts = layout.points.set_index("experiment")
    assert pts["y"].to_dict() == {"a": 0.0, "b": 1.0, "c": 1.0, "d": 1.0, "e": 2.0, "f": 2.0}
    assert pts.loc["b", "time"] == pd.Timestamp("2024-03-05")  # acceptance time, naive UTC
    assert layout.counts == {"accepted": 2, "rejected": 1, "neutral": 1, "failed": 1, "pending": 1}
    assert layout.steps["y"].tolist() == [0.0, 1.0, 2.0, 2.0]
    assert layout.steps["baseline"].tolist() == ["root", "b", "e", "e"]
    json.dumps(layout.to_dict())


def test_baseline_progress_with_values() -> None:
    layout = baseline_progress_layout(_lineage(), value_col="score", root_value=0.72)
    pts = layout.points.set_index("experiment")
    assert pts.loc["a", "y"] == 0.70 and pts.loc["c", "y"] == 0.739
    assert pts.loc["d", "y"] == 0.74  # no value: drawn at the baseline of its time
    assert layout.steps["y"].tolist() == [0.72, 0.74, 0.76, 0.76]
    with pytest.raises(InputError, match="lacks column"):
        baseline_progress_layout(_lineage().drop(columns="created_at"))
    with pytest.raises(InputError, match="lacks column"):
        baseline_progress_layout(_lineage(), value_col="loss")


def test_baseline_progress_draws_a_marker_set_per_kind() -> None:
    ax = Figure().add_subplot()
    assert baseline_progress_plot(_lineage(), ax) is ax
    assert len(ax.collections) == 5
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "Baseline",
        "Accepted (2)",
        "Rejected (1)",
        "Neutral (1)",
        "Failed (1)",
        "Not decided yet (1)",
    ]
    assert sorted(t.get_text() for t in ax.texts) == ["b", "e"]


def test_baseline_progress_reads_the_registry_lineage(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from consilience.registry import Registry

    reg = Registry(f"sqlite:///{tmp_path / 'reg.db'}", create=True, actor="tester")
    try:
        reg.add_experiment("base", no_baseline=True, status="complete")
        for name, status in [("a", "rejected"), ("b", "accepted"), ("c", "failed")]:
            reg.add_experiment(name)
            reg.set_status(name, status)
        lineage = reg.lineage()
    finally:
        reg.close()
    layout = baseline_progress_layout(lineage.to_frame())
    assert layout.points.set_index("experiment")["y"].to_dict() == {"a": 0.0, "b": 1.0, "c": 1.0}
    assert layout.steps["baseline"].iloc[0] == "base"
    assert_frame_equal(baseline_progress_layout(lineage).points, layout.points)  # a Lineage too
    with pytest.raises(TypeError, match="takes a DataFrame"):
        baseline_progress_layout([1, 2])  # type: ignore[arg-type]
