"""W&B importer, on files laid out exactly as W&B's UI export and its API export guide write them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from consilience.errors import InputError
from consilience.registry import Registry
from consilience.registry.importers import RunMapping, import_wandb
from consilience.registry.importers.wandb import parse_literal

from .conftest import add_pair

MAPPING = RunMapping(
    experiment="config.experiment", arm="config.arm", task="config.task", seed="config.seed"
)

UI_EXPORT = """\
"Name","State","Notes","User","Tags","Created","Runtime","Sweep","arm","experiment","lr","seed","task","accuracy","loss"
"candidate-sst2-0","finished","-","alice","warmup, nlp","2025-01-14T10:02:11.000Z","812","","candidate","cand","0.001","0","sst2","0.921","0.301"
"candidate-sst2-1","finished","-","alice","warmup, nlp","2025-01-14T10:02:15.000Z","805","","candidate","cand","0.001","1","sst2","0.918","0.305"
"baseline-sst2-0","finished","-","alice","","2025-01-13T09:12:01.000Z","790","","baseline","cand","0.001","0","sst2","0.902","0.333"
"baseline-sst2-1","finished","-","alice","","2025-01-13T09:13:44.000Z","801","","baseline","cand","0.001","1","sst2","0.899","0.341"
"candidate-sst2-2","crashed","OOM at step 200","bob","warmup","2025-01-14T11:40:00.000Z","96","","candidate","cand","0.001","2","sst2","",""
"""


def _api_runs() -> list[dict[str, Any]]:
    runs = []
    for arm, shift in (("baseline", 0.0), ("candidate", 0.015)):
        for task in ("sst2", "mnli"):
            for seed in (0, 1):
                runs.append(
                    {
                        "summary": {
                            "_runtime": 800.5,
                            "_step": 999,
                            "_timestamp": 1736849343.2,
                            "_wandb": {"runtime": 800},
                            "accuracy": 0.9 + shift + seed / 1000,
                            "loss": 0.3 - shift,
                            "eval/samples": 872,
                        },
                        "config": {
                            "arm": arm,
                            "task": task,
                            "seed": seed,
                            "experiment": "cand",
                            "optimizer": {"name": "adamw", "lr": 3e-4},
                        },
                        "name": f"{arm}-{task}-{seed}",
                    }
                )
    return runs


def _write_api_export(path: Path, runs: list[dict[str, Any]]) -> None:
    # The loop of W&B's "export data from a project" guide, then to_csv / to_json.
    summary_list = [r["summary"] for r in runs]
    config_list = [{k: v for k, v in r["config"].items() if not k.startswith("_")} for r in runs]
    name_list = [r["name"] for r in runs]
    runs_df = pd.DataFrame({"summary": summary_list, "config": config_list, "name": name_list})
    if path.suffix == ".csv":
        runs_df.to_csv(path)
    else:
        runs_df.to_json(path)


def test_ui_csv_export(sqlite_registry: Registry, tmp_path: Path) -> None:
    add_pair(sqlite_registry)
    path = tmp_path / "wandb_export_2025-01-15.csv"
    path.write_text(UI_EXPORT)
    mapping = RunMapping(
        experiment="experiment",
        arm="config.arm",
        task="task",
        seed="seed",
        metrics=("accuracy", "summary.loss"),
    )
    report = import_wandb(sqlite_registry, path, mapping)
    assert (report.total, report.inserted) == (10, 10)
    runs = sqlite_registry.runs("cand")
    crashed = runs[runs["status"] == "failed"]
    assert len(crashed) == 2 and crashed["value"].isna().all() and set(crashed["seed"]) == {2}
    acc = runs[(runs["metric"] == "accuracy") & (runs["status"] == "complete")]
    assert sorted(acc["value"]) == [0.899, 0.902, 0.918, 0.921]
    assert set(runs["metric"]) == {"accuracy", "loss"}
    assert "candidate-sst2-0/accuracy" in set(runs["external_id"])
    again = import_wandb(sqlite_registry, path, mapping)
    assert (again.inserted, again.unchanged) == (0, 10)


def test_ui_csv_needs_metrics_and_distinct_runs(sqlite_registry: Registry, tmp_path: Path) -> None:
    add_pair(sqlite_registry)
    path = tmp_path / "export.csv"
    path.write_text(UI_EXPORT)
    with pytest.raises(InputError, match="does not say which columns are metrics"):
        import_wandb(sqlite_registry, path, MAPPING)
    lines = UI_EXPORT.splitlines()
    path.write_text("\n".join(lines + [lines[1]]) + "\n")
    with pytest.raises(InputError, match=r"row 6: run name 'candidate-sst2-0' .* repeats row 1"):
        import_wandb(
            sqlite_registry,
            path,
            RunMapping(
                experiment="experiment", arm="arm", task="task", seed="seed", metrics=("accuracy",)
            ),
        )
    assert sqlite_registry.runs().empty


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_api_export_imports_every_summary_metric(
    sqlite_registry: Registry, tmp_path: Path, suffix: str
) -> None:
    add_pair(sqlite_registry)
    path = tmp_path / f"project{suffix}"
    _write_api_export(path, _api_runs())
    mapping = RunMapping(
        experiment="config.experiment",
        arm="config.arm",
        task="config.task",
        seed="config.seed",
        n_eval="summary.eval/samples",
    )
    report = import_wandb(sqlite_registry, path, mapping)
    # 8 runs x (accuracy, eval/samples, loss); underscore keys and nested dicts are not metrics
    assert report.inserted == 24
    runs = sqlite_registry.runs("cand", metric="accuracy")
    assert len(runs) == 8 and set(runs["n_eval"]) == {872}
    assert set(runs["task"]) == {"sst2", "mnli"} and set(runs["seed"]) == {0, 1}


def test_api_csv_and_json_exports_describe_the_same_runs(
    sqlite_registry: Registry, tmp_path: Path
) -> None:
    add_pair(sqlite_registry)
    _write_api_export(tmp_path / "project.csv", _api_runs())
    _write_api_export(tmp_path / "project.json", _api_runs())
    mapping = RunMapping(
        experiment="config.experiment",
        arm="config.arm",
        task="config.task",
        seed="config.seed",
        metrics=("accuracy",),
    )
    assert import_wandb(sqlite_registry, tmp_path / "project.csv", mapping).inserted == 8
    assert import_wandb(sqlite_registry, tmp_path / "project.json", mapping).unchanged == 8


def test_api_records_with_id_state_and_nested_config(
    sqlite_registry: Registry, tmp_path: Path
) -> None:
    add_pair(sqlite_registry)
    records = _api_runs()[:2]
    for i, rec in enumerate(records):
        rec.update(id=f"pgbn9y2{i}", state="finished")
    records.append(
        {
            "id": "x1crash0",
            "name": "baseline-sst2-0",
            "state": "crashed",
            "summary": {"accuracy": math.nan},
            "config": {**records[0]["config"], "seed": 9},
        }
    )
    path = tmp_path / "runs.json"
    path.write_text(json.dumps(records, allow_nan=True))
    mapping = RunMapping(
        experiment="config.experiment",
        arm="config.arm",
        task="config.task",
        seed="config.seed",
        metrics=("accuracy",),
        cost_usd="=0.5",
    )
    import_wandb(sqlite_registry, path, mapping, source="wandb:acme/warmup")
    runs = sqlite_registry.runs("cand")
    assert set(runs["external_id"]) == {
        "pgbn9y20/accuracy",
        "pgbn9y21/accuracy",
        "x1crash0/accuracy",
    }
    assert list(runs.sort_values("seed")["status"]) == ["complete", "complete", "failed"]
    assert set(runs["cost_usd"]) == {0.5} and set(runs["source"]) == {"wandb:acme/warmup"}
    by_lr = RunMapping(
        experiment="config.experiment",
        arm="config.optimizer.name",
        task="config.task",
        seed=None,
        metrics=("accuracy",),
    )
    import_wandb(sqlite_registry, path, by_lr, source="by-optimizer")
    assert "adamw" in set(sqlite_registry.runs()["arm"])


def test_missing_config_keys_and_malicious_cells_are_refused(
    sqlite_registry: Registry, tmp_path: Path
) -> None:
    add_pair(sqlite_registry)
    path = tmp_path / "project.csv"
    _write_api_export(path, _api_runs())
    with pytest.raises(
        InputError,
        match=r"W&B run 'baseline-sst2-0' \(row 1\): no 'config.variant' "
        r"for column 'arm'.*--arm-from",
    ):
        import_wandb(
            sqlite_registry,
            path,
            RunMapping(
                experiment="config.experiment", arm="config.variant", task="config.task", seed=None
            ),
        )
    evil = pd.DataFrame(
        {"summary": ["__import__('os').system('touch pwned')"], "config": ["{}"], "name": ["x"]}
    )
    evil.to_csv(path)
    with pytest.raises(InputError, match=r"row 1, column 'summary': not a dictionary"):
        import_wandb(sqlite_registry, path, MAPPING)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="is not a W&B export"):
        import_wandb(sqlite_registry, other, MAPPING)
    assert sqlite_registry.runs().empty


def test_parse_literal_reads_json_and_python_reprs() -> None:
    assert parse_literal('{"a": 1}') == {"a": 1}
    value = parse_literal("{'a': nan, 'b': -inf, 'c': [1, (2, 3)], 'd': None, 'e': True}")
    assert math.isnan(value["a"]) and value["b"] == -math.inf
    assert value["c"] == [1, [2, 3]] and value["d"] is None and value["e"] is True
    with pytest.raises(ValueError, match="not a literal"):
        parse_literal("{'a': open('x')}")
