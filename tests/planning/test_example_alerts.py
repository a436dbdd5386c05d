"""Alerts and plans on the bundled example registry, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from consilience.design import power_meta, power_proportions
from consilience.design.plan import pilot_components
from consilience.errors import InputError
from consilience.registry import Registry
from consilience.registry.alerts import ALERT_COLUMNS, alerts
from consilience.registry.analysis import leaderboard
from consilience.registry.planning import apply_plan, plan_experiment


@pytest.fixture(scope="module")
def example(example_url: str) -> Iterator[Registry]:
    with Registry(example_url) as reg:
        yield reg


def test_alerts_find_the_underpowered_and_the_inconclusive(example: Registry) -> None:
    found = alerts(example)
    kinds = {a.experiment: a.kind for a in found}
    assert {n for n, k in kinds.items() if k == "underpowered"} == {
        "lda-shrinkage", "decision-tree"}
    board = leaderboard(example)
    finished = board["status"].isin(["complete", "accepted", "rejected", "neutral"])
    inconclusive = set(board.loc[finished & (board["verdict"] == "inconclusive"), "experiment"])
    assert {n for n, k in kinds.items() if k == "inconclusive"} == inconclusive
    assert inconclusive == {"k-nearest-neighbours", "ridge-classifier", "extra-trees",
                            "gradient-boosting"}
    assert [a.kind for a in found][:2] == ["underpowered", "underpowered"]
    assert dict(found.skipped).keys() == {"logistic-regression"}  # the root has no runs
    frame = found.to_frame()
    assert tuple(frame.columns) == ALERT_COLUMNS and len(frame) == 6
    json.dumps(found.to_dict(), allow_nan=False)
    assert repr(found) == "<AlertList inconclusive=4 underpowered=2 skipped=1 threshold=0.8>"


def test_underpowered_alerts_carry_the_plan(example: Registry) -> None:
    found = {a.experiment: a for a in alerts(example)}
    for name in ("lda-shrinkage", "decision-tree"):
        plan = plan_experiment(example, name)
        alert = found[name]
        assert alert.power == pytest.approx(plan.current_power, rel=1e-12) and alert.power < 0.8
        assert (alert.k, alert.seeds, alert.n_eval, alert.fix) == (
            plan.k, plan.seeds, plan.n_eval, plan.fix)
        assert alert.reason.startswith(f"power {plan.current_power:.2f} < 0.80 to detect a 0.01")
    knn = found["k-nearest-neighbours"]
    assert knn.verdict == "inconclusive" and "to settle the estimate" in knn.fix
    assert "region of practical equivalence" in found["extra-trees"].fix


def test_planned_lda_uses_its_baseline_experiments_runs(example: Registry) -> None:
    plan = plan_experiment(example, "lda-shrinkage")
    assert plan.status == "planned" and plan.source == "baseline"
    assert plan.source_experiments == ("random-forest",)
    rf = example.runs("random-forest", metric="accuracy", status="complete")
    comp = pilot_components(rf, baseline="baseline", candidate="candidate")
    assert_allclose([plan.sd, plan.rho, plan.tau2], [comp["sd"], comp["rho"], comp["tau2"]],
                    rtol=1e-12)
    assert (plan.current_k, plan.current_seeds, plan.current_n_eval) == (comp["k"], 2, 300)
    p = rf.groupby(["task", "arm"])["value"].mean().unstack("arm").dropna()
    c = float((p * (1 - p)).sum(axis=1).mean())
    assert plan.test_variance_source == "binomial"
    assert_allclose(plan.test_variance, c / 300, rtol=1e-12)
    expected = power_meta(0.01, comp["k"], 2.0, sd=comp["sd"], tau2=comp["tau2"] + c / 300,
                          rho=comp["rho"])
    assert_allclose(plan.current_power, float(expected.power), rtol=1e-10)
    single = power_proportions(0.01, 300.0, None, baseline=float(p["baseline"].mean()))
    assert_allclose(plan.eval_power, float(single.power), rtol=1e-12)
    # the gain varies so much between data sets that only more tasks reach the power
    assert plan.lever == "tasks" and plan.k > plan.current_k and plan.achieved_power >= 0.8


def test_running_decision_tree_is_planned_from_its_own_runs(example: Registry) -> None:
    plan = plan_experiment(example, "decision-tree")
    assert plan.source == "pilot" and (plan.current_k, plan.seeds_run) == (12, 2.0)
    assert plan.current_seeds == 5  # the planned seeds, not the two run so far
    assert plan.test_variance_source == "none"  # no planned_n_eval
    expected = power_meta(0.01, 12.0, 5.0, sd=plan.sd, tau2=plan.tau2, rho=plan.rho)
    assert_allclose(plan.current_power, float(expected.power), rtol=1e-12)


def test_apply_plan_on_the_example_writes_and_audits(example_copy: Path) -> None:
    with Registry(example_copy, actor="dana") as reg:
        record, plan = apply_plan(reg, "lda-shrinkage")
        assert (record.planned_seeds, record.planned_n_eval) == (plan.seeds, plan.n_eval)
        entry = reg.audit_log(limit=1).iloc[0]
        assert (entry["action"], entry["target"], entry["actor"]) == (
            "plan.apply", "lda-shrinkage", "dana")
        assert entry["details"]["from"] == {"planned_seeds": 2, "planned_n_eval": 300,
                                            "planned_tasks": None}
        assert entry["details"]["plan"]["k"] == plan.k
        # The fix needs more tasks: they are planned now, so the alert is gone and a new plan
        # starts from the planned tasks.
        assert plan.lever == "tasks" and record.planned_tasks == plan.k > 201
        assert "lda-shrinkage" not in {a.experiment for a in alerts(reg)}
        again = plan_experiment(reg, "lda-shrinkage")
        assert again.current_k == plan.k and again.current_power >= 0.8
        assert again.lever == "none"
        for settled in ("random-forest", "mlp", "extra-trees"):
            with pytest.raises(InputError, match="its design is settled"):
                apply_plan(reg, settled)
