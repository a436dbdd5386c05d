"""The power figure of a registered experiment's plan (dashboard experiment page, report)."""

from __future__ import annotations

import numpy as np

from consilience.registry import Registry
from consilience.registry.planning import plan_experiment
from consilience.report.figures import svg_figure
from consilience.report.plots.power import power_layout

from .conftest import add_root_and, simulate_runs


def test_the_plan_is_drawn_along_its_lever(registry: Registry) -> None:
    add_root_and(registry, "cand", status="running", planned_seeds=2, min_effect=0.01)
    registry.import_runs(simulate_runs("cand", k=20, seeds=2, sd=0.03, tau2=0.0, mu=0.01, rng_seed=1))
    plan = plan_experiment(registry, "cand")
    assert plan.lever == "seeds"
    layout = power_layout(plan)
    assert layout.xname == "seeds" and layout.xlabel == "Seeds per arm per task"
    assert layout.target == plan.target_power
    assert layout.recommended_x == plan.seeds and layout.recommended_power == plan.achieved_power
    curve = plan.power_curve.loc[plan.power_curve["lever"] == "seeds"]
    assert np.array_equal(layout.curves["x"], curve["seeds"].to_numpy(float))
    at = curve.loc[curve["seeds"] == plan.seeds, "power"]
    assert at.size == 1 and np.isclose(at.iloc[0], plan.achieved_power)
    assert f"{plan.seeds} seeds per arm" in layout.label
    fig = svg_figure("power", "Power of the design", "power_curve_plot", plan, width=5.6, height=3.6,
                     rect=(0.13, 0.15, 0.62, 0.78))
    assert fig.available and "Seeds per arm per task" in (fig.svg or "")


def test_a_plan_that_needs_more_tasks_is_drawn_against_tasks(registry: Registry) -> None:
    add_root_and(registry, "cand", status="running", planned_seeds=3, min_effect=0.01)
    registry.import_runs(simulate_runs("cand", k=8, seeds=3, sd=0.002, tau2=0.0004, mu=0.01, rng_seed=4))
    plan = plan_experiment(registry, "cand")
    assert plan.lever == "tasks"
    layout = power_layout(plan)
    assert layout.xname == "k" and layout.recommended_x == plan.k
    assert f"{plan.k:,} tasks" in layout.label
