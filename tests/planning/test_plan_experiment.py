"""Plans of registered experiments: power against the design functions and statsmodels,
the recommended design is the smallest, apply_plan writes it with an audit entry."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from consilience.design import power_mcnemar, power_meta, power_proportions
from consilience.design.plan import pilot_components
from consilience.errors import InputError, SmallSampleWarning
from consilience.registry import Registry
from consilience.registry.alerts import alerts
from consilience.registry.analysis import compare_experiment
from consilience.registry.planning import (
    CURVE_COLUMNS,
    ExperimentPlan,
    apply_plan,
    plan_experiment,
)

from .conftest import add_root_and, simulate_items, simulate_runs


def _meta_power(plan: ExperimentPlan, k: float, seeds: float, n_eval: float | None) -> float:
    """Power by power_meta with the test-set variance added to tau2 (not folded into seeds)."""
    extra = 0.0 if n_eval is None else plan.test_variance * plan.current_n_eval / n_eval
    res = power_meta(plan.min_effect, k, seeds, sd=plan.sd, tau2=plan.tau2 + extra,
                     rho=plan.rho, alpha=plan.alpha)
    return float(res.power)


def _seeds_registry(reg: Registry) -> None:
    """A running experiment, 20 tasks x 2 seeds, whose power needs more seeds."""
    add_root_and(reg, "cand", status="running", planned_seeds=2, min_effect=0.01)
    reg.import_runs(simulate_runs("cand", k=20, seeds=2, sd=0.03, tau2=0.0, mu=0.01, rng_seed=1))


def _eval_registry(reg: Registry) -> None:
    """A running experiment whose planned evaluation set (200 examples) is too small."""
    add_root_and(reg, "cand", status="running", planned_seeds=3, planned_n_eval=200,
                 min_effect=0.01)
    reg.import_runs(simulate_runs("cand", k=20, seeds=3, sd=0.005, tau2=0.0, mu=0.01,
                                  rng_seed=2, n_eval=1000))


def test_variances_come_from_the_pilot_and_power_matches_power_meta(
    registry: Registry,
) -> None:
    _seeds_registry(registry)
    plan = plan_experiment(registry, "cand")
    comp = pilot_components(registry.runs("cand"), baseline="baseline", candidate="candidate")
    assert plan.source == "pilot" and plan.source_experiments == ("cand",)
    assert_allclose([plan.sd, plan.rho, plan.tau2], [comp["sd"], comp["rho"], comp["tau2"]],
                    rtol=1e-12)
    assert (plan.current_k, plan.current_seeds, plan.seeds_run) == (20, 2, 2.0)
    assert plan.test_variance_source == "none" and plan.current_n_eval is None
    assert_allclose(plan.current_power, _meta_power(plan, 20, 2, None), rtol=1e-12)
    mde = power_meta(None, 20.0, 2.0, 0.8, sd=plan.sd, tau2=plan.tau2, rho=plan.rho)
    assert_allclose(plan.min_detectable_effect, float(mde.effect), rtol=1e-12)


def test_current_power_matches_statsmodels_ttestpower(registry: Registry) -> None:
    sm_power = pytest.importorskip("statsmodels.stats.power")
    _eval_registry(registry)
    plan = plan_experiment(registry, "cand")
    v = 2 * plan.sd**2 * (1 - plan.rho) / plan.current_seeds + plan.test_variance + plan.tau2
    expected = sm_power.TTestPower().power(effect_size=plan.min_effect / math.sqrt(v),
                                           nobs=plan.current_k, alpha=plan.alpha)
    assert_allclose(plan.current_power, expected, rtol=1e-6)


def test_the_recommended_seeds_are_the_fewest_that_reach_the_power(registry: Registry) -> None:
    _seeds_registry(registry)
    plan = plan_experiment(registry, "cand")
    assert plan.current_power < 0.8 and plan.lever == "seeds" and plan.k == 20
    assert _meta_power(plan, 20, plan.seeds, None) >= 0.8 > _meta_power(plan, 20,
                                                                         plan.seeds - 1, None)
    assert_allclose(plan.achieved_power, _meta_power(plan, 20, plan.seeds, None), rtol=1e-12)
    more = plan.seeds - 2
    assert plan.fix == (
        f"Run {more} more seed{'s' if more > 1 else ''} per task ({plan.seeds} in all) "
        "on the 20 tasks."
    )
    curve = plan.to_frame()
    assert tuple(curve.columns) == CURVE_COLUMNS
    seeds_curve = curve[curve["lever"] == "seeds"]
    assert_allclose(seeds_curve["power"], [_meta_power(plan, 20, s, None)
                                           for s in seeds_curve["seeds"]], rtol=1e-12)
    assert (seeds_curve["power"].diff().dropna() > 0).all()
    assert set(curve["lever"]) == {"seeds", "tasks"} and curve["n_eval"].isna().all()


def test_a_small_evaluation_set_is_raised_to_the_smallest_size(registry: Registry) -> None:
    _eval_registry(registry)
    plan = plan_experiment(registry, "cand")
    runs = registry.runs("cand")
    p = runs.groupby(["task", "arm"])["value"].mean().unstack("arm")
    c = float((p * (1 - p)).sum(axis=1).mean())  # binomial: p_B(1-p_B) + p_C(1-p_C)
    assert plan.test_variance_source == "binomial"
    assert_allclose(plan.test_variance, c / 200, rtol=1e-12)
    assert plan.lever == "n_eval" and plan.seeds == 3 and plan.k == 20
    n = plan.n_eval
    assert n is not None and n > 200
    assert _meta_power(plan, 20, 3, n) >= 0.8 > _meta_power(plan, 20, 3, n - 1)
    assert plan.fix == f"Raise the evaluation set to {n:,} examples (planned 200)."
    assert_allclose(plan.current_power, _meta_power(plan, 20, 3, 200), rtol=1e-12)
    base = float(p["baseline"].mean())
    single = power_proportions(0.01, 200.0, None, baseline=base)
    assert_allclose(plan.eval_power, float(single.power), rtol=1e-12)
    curve = plan.to_frame()
    by_size = curve[curve["lever"] == "n_eval"]
    assert_allclose(by_size["power"], [_meta_power(plan, 20, 3, float(m))
                                       for m in by_size["n_eval"]], rtol=1e-12)


def test_binomial_test_variance_is_the_one_compare_adds(registry: Registry) -> None:
    add_root_and(registry, "cand", status="running", planned_seeds=3, planned_n_eval=1000,
                 min_effect=0.01)
    registry.import_runs(simulate_runs("cand", k=10, seeds=3, sd=0.01, tau2=0.0, mu=0.01,
                                       rng_seed=4, n_eval=1000))
    plan = plan_experiment(registry, "cand")
    tasks = compare_experiment(registry, "cand", metric="accuracy").tasks
    # compare shrinks p by half an example, (pN + 0.5) / (N + 1): 1e-3 relative at N = 1000
    assert_allclose(plan.test_variance, tasks["test_variance"].mean(), rtol=2e-3)


def test_mcnemar_variance_and_test_set_power_from_per_item_runs(registry: Registry) -> None:
    add_root_and(registry, "cand", status="planned", planned_seeds=2, planned_n_eval=150,
                 min_effect=0.02)
    runs, correct = simulate_items("cand", k=8, seeds=2, n_items=150, p01=0.08, p10=0.05,
                                   rng_seed=3)
    registry.import_runs(runs)
    plan = plan_experiment(registry, "cand")
    d = correct[1].mean(axis=1) - correct[0].mean(axis=1)  # task, item (seed-averaged)
    discordance = float((correct[1] != correct[0]).mean())
    assert plan.test_variance_source == "items"
    assert_allclose(plan.test_variance, d.var(axis=1).mean() / 150, rtol=1e-12)
    assert_allclose(plan.discordance, discordance, rtol=1e-12)
    tasks = compare_experiment(registry, "cand", metric="accuracy").tasks
    assert (tasks["test_variance_source"] == "items").all()
    assert_allclose(plan.test_variance, tasks["test_variance"].mean(), rtol=1e-12)
    expected = power_mcnemar(0.02, 150.0, None, discordance=discordance)
    assert_allclose(plan.eval_power, float(expected.power), rtol=1e-12)
    # one seed: the McNemar variance is psi - delta^2 per task
    one = correct[:, :, :1, :]
    psi = (one[1] != one[0]).mean(axis=(1, 2))
    delta = (one[1] - one[0]).mean(axis=(1, 2))
    d1 = (one[1] - one[0])[:, 0, :]
    assert_allclose(d1.var(axis=1), psi - delta**2, rtol=1e-12)


def test_more_tasks_when_seeds_cannot_beat_the_heterogeneity(registry: Registry) -> None:
    add_root_and(registry, "cand", status="running", planned_seeds=3, min_effect=0.01)
    registry.import_runs(simulate_runs("cand", k=10, seeds=3, sd=0.01, tau2=0.0004, mu=0.01,
                                       rng_seed=5))
    plan = plan_experiment(registry, "cand", max_seeds=20)
    assert plan.lever == "tasks" and plan.k > 10
    assert _meta_power(plan, 10, 20, None) < 0.8
    assert _meta_power(plan, plan.k, plan.seeds, None) >= 0.8 > _meta_power(
        plan, plan.k - 1, plan.seeds, None)
    runs = [
        s * math.ceil(float(power_meta(0.01, None, s, 0.8, sd=plan.sd, tau2=plan.tau2,
                                                rho=plan.rho).k) - 1e-9)
        for s in range(3, 21)
    ]
    assert plan.k * plan.seeds == min(runs)
    assert plan.fix.startswith(f"Run it on {plan.k} tasks ({plan.k - 10} more) with ")


def test_planned_experiment_borrows_its_baseline_or_the_registry(registry: Registry) -> None:
    registry.add_experiment("root", change="reference", no_baseline=True, status="complete")
    registry.add_experiment("a", change="a", baseline="root", status="accepted")
    registry.add_experiment("b", change="b", baseline="root", status="neutral")
    registry.import_runs(simulate_runs("a", k=12, seeds=3, sd=0.02, tau2=0.0001, mu=0.02,
                                       rng_seed=6))
    registry.import_runs(simulate_runs("b", k=15, seeds=4, sd=0.04, tau2=0.0002, mu=0.0,
                                       rng_seed=7))
    registry.add_experiment("next", change="c", baseline="a", planned_seeds=4, min_effect=0.01)
    plan = plan_experiment(registry, "next")
    comp_a = pilot_components(registry.runs("a"), baseline="baseline", candidate="candidate")
    assert plan.source == "baseline" and plan.source_experiments == ("a",)
    assert (plan.sd, plan.current_k, plan.current_seeds, plan.seeds_run) == (
        comp_a["sd"], 12, 4, 0.0)
    registry.add_experiment("orphan", change="d", baseline="root", min_effect=0.01)
    plan = plan_experiment(registry, "orphan")
    comps = [pilot_components(registry.runs(n), baseline="baseline", candidate="candidate")
             for n in ("a", "b")]
    assert plan.source == "registry" and plan.source_experiments == ("a", "b")
    assert_allclose(plan.sd, np.median([c["sd"] for c in comps]), rtol=1e-12)
    assert plan.current_seeds == math.ceil(np.median([3, 4]))
    assert "medians over 2 experiments" in " ".join(plan.provenance.warnings)


def test_plan_errors_name_the_fix(registry: Registry) -> None:
    add_root_and(registry, "cand", status="planned", planned_seeds=2)
    with pytest.raises(InputError, match=r"no min_effect.*--min-effect"):
        plan_experiment(registry, "cand")
    with pytest.raises(InputError, match="cannot estimate the variances"):
        plan_experiment(registry, "cand", min_effect=0.01)
    with pytest.raises(InputError, match="not in the registry"):
        plan_experiment(registry, "nope", min_effect=0.01)
    with pytest.raises(InputError, match="target_power"):
        plan_experiment(registry, "cand", target_power=1.5)
    with pytest.raises(InputError, match="max_seeds"):
        plan_experiment(registry, "cand", max_seeds=1)
    with pytest.raises(InputError, match="min_effect"):
        plan_experiment(registry, "cand", min_effect=-0.01)


def test_apply_plan_writes_the_design_audits_it_and_clears_the_alert(
    registry: Registry,
) -> None:
    _seeds_registry(registry)
    before = alerts(registry)
    assert [(a.experiment, a.kind) for a in before] == [("cand", "underpowered")]
    assert before.skipped == (("base", before.skipped[0][1]),)
    record, plan = apply_plan(registry, "cand", actor="carol")
    assert record.planned_seeds == plan.seeds > 2
    assert registry.experiment("cand").planned_seeds == plan.seeds
    entry = registry.audit_log(limit=1).iloc[0]
    assert (entry["action"], entry["target"], entry["actor"]) == ("plan.apply", "cand", "carol")
    details = entry["details"]
    assert details["from"] == {"planned_seeds": 2, "planned_n_eval": None, "planned_tasks": None}
    assert details["to"] == {"planned_seeds": plan.seeds, "planned_n_eval": None,
                             "planned_tasks": None}
    assert details["plan"]["achieved_power"] == pytest.approx(plan.achieved_power)
    after = alerts(registry)
    assert len(after) == 0
    assert plan_experiment(registry, "cand").current_power >= 0.8


def test_apply_plan_raises_the_evaluation_set(registry: Registry) -> None:
    _eval_registry(registry)
    record, plan = apply_plan(registry, "cand")
    assert (record.planned_seeds, record.planned_n_eval) == (3, plan.n_eval)
    assert registry.audit_log(limit=1).iloc[0]["actor"] == "tester"
    assert plan_experiment(registry, "cand").current_power >= 0.8


def test_apply_plan_refuses_finished_experiments(registry: Registry) -> None:
    _seeds_registry(registry)
    registry.set_status("cand", "neutral")
    with pytest.raises(InputError, match=r"'cand' is neutral: its design is settled"):
        apply_plan(registry, "cand")
    assert registry.experiment("cand").planned_seeds == 2


def test_plan_result_faces(registry: Registry) -> None:
    _eval_registry(registry)
    plan = plan_experiment(registry, "cand")
    assert repr(plan).startswith("<ExperimentPlan 'cand' power=0.")
    data = plan.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["lever"] == "n_eval" and len(data["power_curve"]) == len(plan.power_curve)
    text = str(plan.summary())
    assert "Plan: cand (running)" in text and plan.fix in text
    assert plan.summary().to_markdown().startswith("### Plan: cand")


def test_a_one_task_pilot_warns_and_a_borrowed_one_becomes_a_note(registry: Registry) -> None:
    add_root_and(registry, "cand", status="running", planned_seeds=3, min_effect=0.05)
    registry.import_runs(simulate_runs("cand", k=1, seeds=3, sd=0.02, tau2=0.0, mu=0.01,
                                       rng_seed=8))
    with pytest.warns(SmallSampleWarning, match="one task with both arms"):
        plan = plan_experiment(registry, "cand")
    assert plan.tau2 == 0.0 and plan.current_k == 2
    assert "the knha test needs 2, so 2 are assumed" in " ".join(plan.provenance.warnings)
    registry.add_experiment("next", change="c", baseline="cand", min_effect=0.05)
    plan = plan_experiment(registry, "next")  # warnings as errors: none may escape
    assert plan.source == "baseline"
    notes = " ".join(plan.provenance.warnings)
    assert "experiment 'cand': pilot has one task with both arms" in notes


def test_an_experiment_already_powered_needs_no_change(registry: Registry) -> None:
    _seeds_registry(registry)
    plan = plan_experiment(registry, "cand", min_effect=0.05)
    assert plan.current_power >= 0.8 and plan.lever == "none"
    assert (plan.k, plan.seeds, plan.achieved_power) == (20, 2, plan.current_power)
    assert plan.fix.startswith("No change needed: the design (20 tasks x 2 seeds) has power")
    assert len(alerts(registry)) == 1  # the stored min_effect (0.01) is still underpowered
