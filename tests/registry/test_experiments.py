"""Experiments, statuses, baseline lineage and the audit log."""

from __future__ import annotations

import pytest

from consilience.errors import InputError
from consilience.registry import Registry, StaleBaselineWarning


def test_first_experiment_is_a_root_and_later_ones_default_to_the_current_baseline(
    registry: Registry,
) -> None:
    base = registry.add_experiment("base", change="reference model")
    assert base.baseline is None
    cand = registry.add_experiment(
        "warmup",
        hypothesis="warm-up helps",
        change="linear warm-up",
        planned_seeds=5,
        planned_n_eval=10_000,
        min_effect=0.01,
        tags=["optim"],
        moderators={"model_family": "vit"},
    )
    assert cand.baseline == "base"
    assert cand.status == "planned"
    assert cand.moderators == {"model_family": "vit"}
    assert cand.tags == ("optim",)
    assert (cand.planned_seeds, cand.planned_n_eval, cand.min_effect) == (5, 10_000, 0.01)
    assert cand.created_at is not None and cand.created_at.tzinfo is not None
    assert registry.current_baseline() == "base"


def test_accepting_a_candidate_makes_it_the_baseline_of_later_experiments(
    registry: Registry,
) -> None:
    registry.add_experiment("base", no_baseline=True, status="complete")
    registry.add_experiment("warmup", change="warm-up")
    registry.add_experiment("bigbatch", change="batch x4")
    registry.set_status("bigbatch", "failed")
    accepted = registry.set_status("warmup", "accepted", note="clear win on 9/10 tasks")
    assert accepted.accepted_at is not None
    assert registry.current_baseline() == "warmup"
    later = registry.add_experiment("dropout", change="dropout 0.1")
    assert later.baseline == "warmup"
    explicit = registry.add_experiment("retry-bigbatch", change="batch x4 again", baseline="base")
    assert explicit.baseline == "base"


def test_lineage_shows_every_experiment_tried_against_each_baseline(registry: Registry) -> None:
    registry.add_experiment("base", no_baseline=True, status="complete", change="v0")
    for name, status in [("a", "rejected"), ("b", "neutral"), ("c", "failed"), ("d", "accepted")]:
        registry.add_experiment(name, change=f"change {name}")
        registry.set_status(name, status)
    registry.add_experiment("e", change="change e")
    lineage = registry.lineage()
    assert [s.baseline.name for s in lineage.steps] == ["base", "d"]
    assert [(t.name, t.status) for t in lineage.steps[0].tried] == [
        ("a", "rejected"),
        ("b", "neutral"),
        ("c", "failed"),
        ("d", "accepted"),
    ]
    assert [t.name for t in lineage.steps[1].tried] == ["e"]
    assert lineage.current == "d"
    text = str(lineage)
    for name in "abcde":
        assert f"- {name}" in text
    assert "d  (accepted" in text and "<- current baseline" in text
    data = lineage.to_dict()
    assert data["current"] == "d"
    assert [t["status"] for t in data["steps"][0]["tried"]] == [
        "rejected",
        "neutral",
        "failed",
        "accepted",
    ]
    frame = lineage.to_frame()
    assert list(frame.columns) == [
        "baseline",
        "experiment",
        "status",
        "change",
        "hypothesis",
        "created_at",
        "accepted_at",
    ]
    assert len(frame) == 5


def test_experiments_against_a_rejected_candidate_are_listed_off_the_chain(
    registry: Registry,
) -> None:
    registry.add_experiment("base", no_baseline=True)
    registry.add_experiment("x", change="x")
    registry.add_experiment("x-fix", change="x, fixed", baseline="x")
    registry.set_status("x", "rejected")
    lineage = registry.lineage()
    assert [u.name for u in lineage.unattached] == ["x-fix"]
    assert "Not on the baseline chain" in str(lineage)


def test_accepting_against_a_stale_baseline_warns(registry: Registry) -> None:
    registry.add_experiment("base", no_baseline=True)
    registry.add_experiment("a", change="a")
    registry.add_experiment("b", change="b")
    registry.set_status("a", "accepted")
    with pytest.warns(StaleBaselineWarning, match="current baseline is 'a'"):
        registry.set_status("b", "accepted")
    assert registry.current_baseline() == "b"


def test_unaccepting_moves_the_baseline_back(registry: Registry) -> None:
    registry.add_experiment("base", no_baseline=True)
    registry.add_experiment("a", change="a")
    registry.set_status("a", "accepted")
    reverted = registry.set_status("a", "rejected", note="regression found in prod")
    assert reverted.accepted_at is None
    assert registry.current_baseline() == "base"


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"status": "done"}, "'status' parameter must be one of"),
        ({"moderators": {"Model Family": "vit"}}, "snake_case"),
        ({"moderators": {"task": "x"}}, "clashes with the runs-table column"),
        ({"moderators": {"size": [1, 2]}}, "must be text, a number"),
        ({"planned_seeds": 0}, "positive whole number"),
        ({"min_effect": -1.0}, "positive number"),
        ({"baseline": "nope"}, "Experiment 'nope' is not in the registry"),
        ({"baseline": "base", "no_baseline": True}, "not both"),
    ],
)
def test_invalid_experiments_are_refused(
    sqlite_registry: Registry, kwargs: dict, fragment: str
) -> None:
    sqlite_registry.add_experiment("base", no_baseline=True)
    with pytest.raises(InputError, match=fragment):
        sqlite_registry.add_experiment("cand", **kwargs)
    assert list(sqlite_registry.experiments()["name"]) == ["base"]


def test_duplicate_names_and_unknown_names_get_helpful_errors(registry: Registry) -> None:
    registry.add_experiment("warmup-linear", no_baseline=True)
    with pytest.raises(InputError, match="already exists"):
        registry.add_experiment("warmup-linear")
    with pytest.raises(InputError, match=r"Did you mean \['warmup-linear'\]"):
        registry.set_status("warmup-linaer", "accepted")


def test_experiments_frame_has_fixed_columns(registry: Registry) -> None:
    empty = registry.experiments()
    columns = [
        "name",
        "status",
        "baseline",
        "hypothesis",
        "change",
        "tags",
        "moderators",
        "planned_seeds",
        "planned_n_eval",
        "planned_tasks",
        "min_effect",
        "n_runs",
        "created_at",
        "updated_at",
        "accepted_at",
    ]
    assert list(empty.columns) == columns and empty.empty
    registry.add_experiment("base", no_baseline=True)
    frame = registry.experiments()
    assert list(frame.columns) == columns
    assert frame.loc[0, "n_runs"] == 0


def test_changes_are_audited_with_who_and_what(registry: Registry) -> None:
    registry.add_experiment("base", no_baseline=True)
    registry.set_status("base", "complete", note="ran 5 seeds")
    registry.set_status("base", "complete")
    registry.record_audit("plan.apply", "base", {"seeds": 5})
    log = registry.audit_log()
    assert list(log["action"][:3]) == ["plan.apply", "experiment.status", "experiment.add"]
    assert set(log["actor"]) == {"tester"}
    status = log[log["action"] == "experiment.status"].iloc[0]
    assert status["details"] == {"from": "planned", "to": "complete", "note": "ran 5 seeds"}
    assert len(registry.audit_log(limit=2)) == 2
    with pytest.raises(InputError, match="audit action"):
        registry.record_audit("")
