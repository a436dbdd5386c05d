"""Risk-of-bias judgements stored in real SQLite and PostgreSQL registries."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from alembic import command
from numpy.testing import assert_allclose
from sqlalchemy import create_engine, text

from consilience.errors import InputError
from consilience.quality import ITEMS
from consilience.registry import Registry
from consilience.registry.migrate import alembic_config, head_revision
from consilience.registry.quality_store import (
    RISK_COLUMNS,
    assess,
    assessment,
    auto_assess,
    risk_of_bias,
)
from tests.registry.conftest import add_pair, runs_frame

PROTOCOL = """\
name: cand-first
primary_metric: accuracy
inclusion:
  experiments: [cand]
"""


def test_the_schema_is_upgraded_from_0001_keeping_the_data(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        conn.execute(text(
            "INSERT INTO experiments (name, status, moderators, tags, created_at, updated_at, "
            "status_changed_at) VALUES ('old', 'planned', '{}', '[]', '2026-01-01', "
            "'2026-01-01', '2026-01-01')"))
    engine.dispose()
    with Registry(db_url) as reg:
        assert head_revision() == "0003" and reg.schema_revision == "0003"
        assert list(reg.experiments()["name"]) == ["old"]
        assert reg.experiment("old").planned_tasks is None  # column added by 0003
        assert reg.audit_log()["details"].iloc[0] == {"from": "0001", "to": "0003"}
        rob = assess(reg, "old", {"no_leakage": ("high", "dedup not run")})
    assert rob.overall == "high"


def test_manual_judgements_win_and_survive_automatic_ones(registry: Registry) -> None:
    add_pair(registry)
    registry.import_runs(runs_frame(seeds=2))
    rob = assess(registry, "cand", {"seeds_randomised": ("high", "one data split for all"),
                                    "no_leakage": "low"}, actor="bob")
    assert rob["seeds_randomised"].judgement == "high" and rob.overall == "high"
    assert rob["seeds_randomised"].assessed_by == "bob"
    auto = auto_assess(registry, "cand")
    assert auto["seeds_randomised"].judgement == "high"
    assert auto["seeds_randomised"].source == "manual"
    assert auto["reported"].source == "auto" and auto["reported"].judgement == "low"
    assert auto["test_set_untouched"].judgement == "unknown"
    again = assess(registry, "cand", {"seeds_randomised": "low"})
    assert again["seeds_randomised"].judgement == "low"
    assert again["seeds_randomised"].note is None
    assert assessment(registry, "cand").judgements == again.judgements
    actions = list(registry.audit_log()["action"])
    assert actions.count("quality.assess") == 2 and actions.count("quality.auto") == 1


def test_automatic_judgements_read_the_evidence(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "protocol.yaml"
    path.write_text(PROTOCOL, encoding="utf-8")
    registry.add_experiment("base", no_baseline=True, status="complete")
    registry.lock_protocol(path)
    registry.add_experiment("cand", planned_seeds=2, min_effect=0.3)
    frame = runs_frame(seeds=2)
    frame["tuning_budget"] = [20 if a == "baseline" else 60 for a in frame["arm"]]
    registry.import_runs(frame)
    rob = auto_assess(registry, "cand")
    got = rob.judgements
    assert got["seeds_randomised"] == "low"
    assert got["equal_tuning_budget"] == "high"
    assert rob["equal_tuning_budget"].evidence == {
        "baseline": 20.0, "candidate": 60.0, "source": "the runs' tuning_budget",
        "tolerance": 0.1}
    assert got["eval_size_adequate"] == "low"  # 1000 examples detect 0.3 easily
    assert got["preregistered"] == "low" and "cand-first" in (rob["preregistered"].note or "")
    assert got["reported"] == "low"
    assert rob.overall == "high"


def test_a_protocol_locked_after_the_runs_is_high_risk(registry: Registry,
                                                       tmp_path: Path) -> None:
    add_pair(registry)
    registry.import_runs(runs_frame(seeds=2))
    path = tmp_path / "protocol.yaml"
    path.write_text(PROTOCOL, encoding="utf-8")
    registry.lock_protocol(path)
    rob = auto_assess(registry, "cand")
    assert rob["preregistered"].judgement == "high"
    assert "after the first run" in (rob["preregistered"].note or "")


def test_risk_of_bias_table_has_one_row_per_experiment(registry: Registry) -> None:
    add_pair(registry)
    assess(registry, "cand", dict.fromkeys(ITEMS, "low"))
    table = risk_of_bias(registry)
    assert list(table.columns) == list(RISK_COLUMNS)
    rows = table.set_index("experiment")
    assert rows.loc["cand", "overall"] == "low" and rows.loc["base", "overall"] == "unknown"
    assert rows.loc["cand", "manual_items"] == ",".join(ITEMS)
    assert pd.isna(rows.loc["base", "assessed_at"])
    assert not pd.isna(rows.loc["cand", "assessed_at"])
    with pytest.raises(InputError, match="nope"):
        risk_of_bias(registry, ["nope"])


def test_bad_answers_change_nothing(registry: Registry) -> None:
    add_pair(registry)
    with pytest.raises(InputError, match="Unknown checklist item"):
        assess(registry, "cand", {"leakage": "low"})
    with pytest.raises(InputError, match="must be one of"):
        assess(registry, "cand", {"no_leakage": "fine"})
    with pytest.raises(InputError):
        assess(registry, "ghost", {"no_leakage": "low"})
    assert assessment(registry, "cand").overall == "unknown"


def test_studies_and_flow_account_for_every_run(registry: Registry, tmp_path: Path) -> None:
    from consilience.errors import DataDroppedWarning
    from consilience.registry.flow import inclusion_flow, study_table

    add_pair(registry)
    frame = runs_frame(tasks=4, seeds=2)
    one_arm = (frame["task"] == "task3") & (frame["arm"] == "candidate")
    frame["size_train"] = [100 * (int(t[-1]) + 1) for t in frame["task"]]
    registry.import_runs(frame.loc[~one_arm])
    assess(registry, "cand", dict.fromkeys(ITEMS, "low"))
    with pytest.warns(DataDroppedWarning, match=r"2 runs in 1 studies left out.*one arm only"):
        studies = study_table(registry)
    assert list(studies["task"]) == ["task0", "task1", "task2"]
    assert list(studies["n_train"]) == [100.0, 200.0, 300.0]
    assert set(studies["risk"]) == {"low"} and set(studies["model_family"]) == {"vit"}
    assert_allclose(studies["yi"], [0.01, 0.01, 0.01], rtol=1e-9)
    flow = inclusion_flow(registry)
    assert flow.found == {"experiments": 1, "studies": 4, "runs": 14}
    assert flow.excluded["reason"].tolist() == ["task run by one arm only (no comparison)"]
    assert flow.analysed == {"experiments": 1, "studies": 3, "runs": 12}
    path = tmp_path / "protocol.yaml"
    path.write_text(PROTOCOL + "  tasks: [task0, task1]\n", encoding="utf-8")
    registry.lock_protocol(path)
    pflow = inclusion_flow(registry, "cand-first")
    assert pflow.excluded["reason"].tolist() == ["task not in inclusion.tasks"]
    assert pflow.analysed == {"experiments": 1, "studies": 2, "runs": 8}
