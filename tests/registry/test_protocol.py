"""Pre-registration: locking, showing, diffing protocols and reporting deviations."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from consilience.errors import InputError
from consilience.registry import Registry
from consilience.registry.protocol import sha256_hex

from .conftest import add_pair, runs_frame

PROTOCOL = """\
# Pre-registered before the candidate ran.
name: warmup-q1
description: Does linear warm-up help?
primary_metric: accuracy
secondary_metrics: [f1]
direction: higher
inclusion:
  experiments: [cand, base]
  arms: [baseline, candidate]
  tasks: [task0, task1, task2]
  run_statuses: [complete]
  experiment_statuses: [planned, complete, accepted, rejected, neutral]
model:
  method: REML
  test: knha
  level: 95
rope: [-0.005, 0.005]
min_effect: 0.01
stopping_rule:
  rule: fixed
  max_seeds: 5
"""


@pytest.fixture
def protocol_file(tmp_path: Path) -> Path:
    path = tmp_path / "warmup.yaml"
    path.write_text(PROTOCOL)
    return path


def test_lock_stores_text_hash_time_and_normalised_spec(
    registry: Registry, protocol_file: Path
) -> None:
    record = registry.lock_protocol(protocol_file)
    assert record.name == "warmup-q1"
    assert record.sha256 == sha256_hex(protocol_file.read_bytes())
    assert record.content == PROTOCOL and record.intact
    assert record.locked_by == "tester" and record.locked_at.tzinfo is not None
    assert record.spec["model"] == {"method": "REML", "test": "knha", "level": 0.95}
    assert record.spec["inclusion"]["experiments"] == ["base", "cand"]
    assert record.spec["stopping_rule"] == {"rule": "fixed", "max_seeds": 5.0}
    shown = registry.protocol("warmup-q1")
    assert shown.sha256 == record.sha256
    assert list(registry.protocols()["name"]) == ["warmup-q1"]
    assert registry.audit_log()["action"].iloc[0] == "protocol.lock"


def test_locking_again_is_a_no_op_but_changing_a_locked_protocol_is_refused(
    registry: Registry, protocol_file: Path, tmp_path: Path
) -> None:
    first = registry.lock_protocol(protocol_file)
    assert registry.lock_protocol(protocol_file).locked_at == first.locked_at
    changed = tmp_path / "changed.yaml"
    changed.write_text(PROTOCOL.replace("method: REML", "method: DL"))
    with pytest.raises(
        InputError, match=r"already locked .* model.method: locked 'REML', used 'DL'"
    ):
        registry.lock_protocol(changed)
    assert registry.protocol("warmup-q1").sha256 == first.sha256
    renamed = registry.lock_protocol(changed, name="warmup-q1-v2")
    assert renamed.spec["model"]["method"] == "DL"


def test_diff_lists_each_changed_field(
    registry: Registry, protocol_file: Path, tmp_path: Path
) -> None:
    registry.lock_protocol(protocol_file)
    edited = tmp_path / "edited.yaml"
    edited.write_text(
        PROTOCOL.replace("tasks: [task0, task1, task2]", "tasks: [task0, task1, task3]")
        .replace("test: knha", "test: z")
        .replace("min_effect: 0.01\n", "")
        .replace("# Pre-registered", "# Edited")
    )
    changes = registry.diff_protocol("warmup-q1", edited)
    assert [c.field for c in changes] == ["inclusion.tasks", "min_effect", "model.test"]
    assert "added ['task3'], removed ['task2']" in changes[0].message
    assert changes[1].locked == 0.01 and changes[1].used is None
    comment_only = tmp_path / "comment.yaml"
    comment_only.write_text("# another comment\n" + PROTOCOL)
    assert registry.diff_protocol("warmup-q1", comment_only) == []


def test_check_protocol_reports_option_and_data_deviations(
    registry: Registry, protocol_file: Path
) -> None:
    add_pair(registry)
    registry.lock_protocol(protocol_file)
    assert (
        registry.check_protocol(
            "warmup-q1", {"metric": "accuracy", "method": "reml", "test": "knha", "level": 0.95}
        )
        == []
    )
    options = {"metric": "accuracy", "method": "DL", "tasks": ["task0", "task1"]}
    deviations = registry.check_protocol("warmup-q1", options)
    assert [(d.field, d.locked, d.used) for d in deviations] == [
        ("inclusion.tasks", ["task0", "task1", "task2"], ["task0", "task1"]),
        ("model.method", "REML", "DL"),
    ]
    runs = pd.concat([runs_frame("cand", tasks=2), runs_frame("cand", tasks=1, metric="loss")])
    runs.loc[runs.index[0], "arm"] = "ablation"
    data = registry.check_protocol("warmup-q1", {"metric": "accuracy"}, runs=runs)
    messages = " | ".join(d.message for d in data)
    assert all(d.kind == "data" for d in data)
    assert "runs with arm ['ablation'] are outside" in messages
    assert "pre-registered ['base'] missing" in messages
    assert "pre-registered ['task2'] missing" in messages
    assert "metrics ['loss'] analysed but not pre-registered" in messages
    assert data[0].to_dict()["kind"] == "data"


def test_check_protocol_flags_experiments_with_excluded_status(
    registry: Registry, protocol_file: Path
) -> None:
    add_pair(registry)
    registry.set_status("cand", "failed")
    registry.lock_protocol(protocol_file)
    runs = pd.concat([runs_frame("cand"), runs_frame("base")])
    (dev,) = [
        d
        for d in registry.check_protocol("warmup-q1", {}, runs=runs)
        if d.field == "inclusion.experiment_statuses"
    ]
    assert dev.used == {"cand": "failed"}


def test_check_protocol_against_a_file_and_a_tampered_registry(
    registry: Registry, protocol_file: Path, db_url: str
) -> None:
    registry.lock_protocol(protocol_file)
    assert registry.check_protocol("warmup-q1", protocol_file) == []
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE protocols SET content = :c"), {"c": PROTOCOL + "# edited\n"})
    engine.dispose()
    assert not registry.protocol("warmup-q1").intact
    (dev,) = registry.check_protocol("warmup-q1", protocol_file)
    assert dev.field == "sha256"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("name: x\nprimary_metric: acc\n  bad: indent\n", r"not valid YAML at line 3"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("name: x\n", "'primary_metric' is required"),
        (
            "name: x\nprimary_metric: acc\nmodle: {method: DL}\n",
            r"unknown protocol field 'modle'. Did you mean 'model'",
        ),
        (
            "name: x\nprimary_metric: acc\nmodel: {method: BAD}\n",
            "'method' parameter must be one of",
        ),
        ("name: x\nprimary_metric: acc\nrope: [0.1, -0.1]\n", r"'rope' must be \[low, high\]"),
        ("name: x\nprimary_metric: acc\ninclusion: {run_statuses: [done]}\n", "must be one of"),
        ("name: x\nprimary_metric: acc\nstopping_rule: {rule: whenever}\n", "must be one of"),
        ("name: x\nprimary_metric: acc\nmin_effect: -2\n", "'min_effect' must be > 0"),
    ],
)
def test_invalid_protocols_are_refused(
    sqlite_registry: Registry, tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=fragment):
        sqlite_registry.lock_protocol(path)
    assert sqlite_registry.protocols().empty


def test_unknown_protocols_and_options(
    registry: Registry, protocol_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="No locked protocol named 'nope'"):
        registry.protocol("nope")
    registry.lock_protocol(protocol_file)
    with pytest.raises(InputError, match="unknown analysis option 'methd'. Did you mean 'method'"):
        registry.check_protocol("warmup-q1", {"methd": "DL"})
    with pytest.raises(TypeError, match="file_or_options"):
        registry.check_protocol("warmup-q1", 42)  # type: ignore[arg-type]
    unnamed = tmp_path / "my-plan.yaml"
    unnamed.write_text("primary_metric: accuracy\n")
    assert registry.lock_protocol(unnamed).name == "my-plan"
