"""Design plans from pilot runs: components recovered by simulation, plan consistent with power_meta."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from consilience.design import power_meta, recommend_design
from consilience.design.plan import pilot_components
from consilience.errors import DataDroppedWarning, InputError, SmallSampleWarning


def _pilot(
    k: int, seeds: int, *, sd: float, rho: float, tau2: float, mu: float, seed: int
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    task_level = rng.normal(0.0, 3.0, k)
    effect = mu + rng.normal(0.0, np.sqrt(tau2), k)
    shared = rng.normal(0.0, sd * np.sqrt(rho), (k, seeds))
    base = task_level[:, None] + shared + rng.normal(0.0, sd * np.sqrt(1 - rho), (k, seeds))
    cand = (
        task_level[:, None]
        + effect[:, None]
        + shared
        + rng.normal(0.0, sd * np.sqrt(1 - rho), (k, seeds))
    )
    rows = [
        (f"task{t}", arm, s, float(v[t, s]))
        for t in range(k)
        for s in range(seeds)
        for arm, v in (("baseline", base), ("candidate", cand))
    ]
    return pd.DataFrame(rows, columns=["task", "arm", "seed", "value"])


def test_pilot_components_recover_simulated_truth() -> None:
    pilot = _pilot(200, 8, sd=0.8, rho=0.6, tau2=0.05, mu=0.2, seed=7)
    comp = pilot_components(pilot, baseline="baseline", candidate="candidate")
    assert comp["k"] == 200 and comp["seeds"] == 8
    assert_allclose(comp["sd"], 0.8, rtol=0.04)
    assert_allclose(comp["rho"], 0.6, atol=0.04)
    assert_allclose(comp["tau2"], 0.05, rtol=0.35)


def test_recommended_design_is_the_smallest_on_the_pilot_tasks() -> None:
    pilot = _pilot(12, 3, sd=1.0, rho=0.5, tau2=0.0, mu=0.3, seed=3)
    plan = recommend_design(pilot, baseline="baseline", candidate="candidate", min_effect=0.3)
    assert plan.k == plan.k_pilot == 12
    opts = {"sd": plan.sd, "tau2": plan.tau2, "rho": plan.rho}
    assert (
        power_meta(0.3, 12, plan.seeds, **opts).power
        >= 0.8
        > power_meta(0.3, 12, plan.seeds - 1, **opts).power
    )
    assert_allclose(plan.current_power, power_meta(0.3, 12, 3, **opts).power, rtol=1e-12)
    curve = plan.to_frame()
    assert list(curve.columns) == ["k", "seeds", "runs", "power"]
    row = curve[(curve["k"] == 12) & (curve["seeds"] == plan.seeds)].iloc[0]
    assert_allclose(row["power"], plan.achieved_power, rtol=1e-12)


def test_heterogeneous_tasks_call_for_more_tasks_not_seeds() -> None:
    pilot = _pilot(4, 4, sd=0.5, rho=0.0, tau2=0.4, mu=0.3, seed=9)
    plan = recommend_design(
        pilot, baseline="baseline", candidate="candidate", min_effect=0.3, max_seeds=30
    )
    assert np.isnan(plan.seeds_for_pilot_tasks)
    assert plan.k > 4 and plan.achieved_power >= 0.8
    cheaper = plan.power_curve[
        (plan.power_curve["power"] >= 0.8) & (plan.power_curve["runs"] < 2 * plan.k * plan.seeds)
    ]
    assert cheaper.empty


def test_single_task_pilot_warns_that_tau2_is_unknown() -> None:
    pilot = _pilot(1, 5, sd=1.0, rho=0.0, tau2=0.0, mu=0.5, seed=1)
    with pytest.warns(SmallSampleWarning, match="tau2 cannot be estimated"):
        plan = recommend_design(pilot, baseline="baseline", candidate="candidate", min_effect=0.5)
    assert plan.tau2 == 0.0
    assert plan.provenance is not None and plan.provenance.warnings


def test_bad_pilots_are_named() -> None:
    pilot = _pilot(3, 3, sd=1.0, rho=0.0, tau2=0.0, mu=0.5, seed=2)
    with pytest.raises(InputError, match="no runs for arm 'cand'"):
        recommend_design(pilot, baseline="baseline", candidate="cand", min_effect=0.5)
    with pytest.raises(InputError, match="no column"):
        recommend_design(
            pilot.drop(columns="seed"), baseline="baseline", candidate="candidate", min_effect=0.5
        )
    with pytest.raises(InputError, match="two or more seeds"):
        recommend_design(
            pilot[pilot["seed"] == 0], baseline="baseline", candidate="candidate", min_effect=0.5
        )
    with pytest.raises(InputError, match="'min_effect' must be a non-zero number"):
        recommend_design(pilot, baseline="baseline", candidate="candidate", min_effect=0.0)


def test_non_numeric_pilot_values_are_dropped_with_a_count() -> None:
    pilot = _pilot(5, 4, sd=1.0, rho=0.0, tau2=0.0, mu=0.5, seed=4).astype({"value": object})
    pilot.loc[[0, 7], "value"] = "failed"
    with pytest.warns(DataDroppedWarning, match="2 pilot run"):
        plan = recommend_design(pilot, baseline="baseline", candidate="candidate", min_effect=0.5)
    assert plan.provenance is not None and "2 pilot run" in plan.provenance.warnings[0]


def test_pilot_components_on_ragged_tasks_match_the_per_task_formula() -> None:
    pilot = _pilot(6, 4, sd=1.0, rho=0.5, tau2=0.1, mu=0.3, seed=7)
    # task0 has no candidate runs; task1 shares only two seeds; task2 has an extra baseline seed
    pilot = pilot[~((pilot["task"] == "task0") & (pilot["arm"] == "candidate"))]
    pilot = pilot[~((pilot["task"] == "task1") & (pilot["arm"] == "candidate") & (pilot["seed"] >= 2))]
    extra = pd.DataFrame([("task2", "baseline", 9, 0.25)], columns=pilot.columns)
    pilot = pd.concat([pilot, extra], ignore_index=True)
    comp = pilot_components(pilot, baseline="baseline", candidate="candidate")

    sd2, rho = comp["sd"] ** 2, comp["rho"]
    n_b, n_c, m, y = [], [], [], []
    for task in sorted(set(pilot["task"])):
        base = pilot[(pilot["task"] == task) & (pilot["arm"] == "baseline")]
        cand = pilot[(pilot["task"] == task) & (pilot["arm"] == "candidate")]
        if base.empty or cand.empty:
            continue
        n_b.append(len(base))
        n_c.append(len(cand))
        m.append(len(set(base["seed"]) & set(cand["seed"])))
        y.append(cand["value"].mean() - base["value"].mean())
    nb, nc, mm, yy = (np.array(a, dtype=float) for a in (n_b, n_c, m, y))
    v = sd2 * (1 / nb + 1 / nc) - 2 * rho * sd2 * mm / (nb * nc)
    w = 1 / v
    mu = np.sum(w * yy) / np.sum(w)
    q = np.sum(w * (yy - mu) ** 2)
    tau2 = max(0.0, (q - (len(yy) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    assert comp["k"] == 5.0
    assert comp["seeds"] == float(np.median(np.concatenate([nb, nc])))
    assert_allclose(comp["tau2"], tau2, rtol=1e-12, atol=1e-15)
