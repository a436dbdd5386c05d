"""The registry commands, run through the real typer app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import consilience.cli.registry_cmd  # noqa: F401  (registers the commands)
from consilience.cli.app import app

from .conftest import runs_frame
from .test_protocol import PROTOCOL
from .test_wandb import UI_EXPORT


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONSILIENCE_DB", raising=False)
    monkeypatch.setenv("CONSILIENCE_USER", "alice")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> tuple[str, str]:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result.stdout, result.stderr

    return run


def test_init_creates_the_default_registry_and_one_token(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = cli("init")
    assert f"registry created {tmp_path / 'consilience.db'}" in out
    assert "dashboard write token (shown once, stored hashed): cns_" in out
    assert (tmp_path / "consilience.db").is_file()
    out, _ = cli("init")
    assert "up to date" in out and "token" not in out
    data = json.loads(cli("init", "--new-token", "--json")[0])
    assert data["created"] is False and data["token"].startswith("cns_")
    from consilience.registry import Registry

    with Registry() as reg:
        assert reg.verify_token(data["token"])


def test_commands_without_a_registry_exit_2_with_the_fix(cli) -> None:  # type: ignore[no-untyped-def]
    _, err = cli("experiments", code=2)
    assert "No registry at" in err and "consilience init" in err


def test_experiment_workflow_and_log(cli) -> None:  # type: ignore[no-untyped-def]
    cli("init")
    out, _ = cli(
        "experiment",
        "add",
        "base",
        "--change",
        "reference",
        "--no-baseline",
        "--status",
        "complete",
    )
    assert "as a root" in out
    out, _ = cli(
        "experiment",
        "add",
        "warmup",
        "--hypothesis",
        "warm-up helps",
        "--change",
        "linear warm-up",
        "--moderator",
        "model_family=vit",
        "--tag",
        "optim",
        "--planned-seeds",
        "5",
        "--min-effect",
        "0.01",
    )
    assert "against base" in out
    cli("experiment", "add", "bigbatch", "--change", "batch x4")
    cli("experiment", "set-status", "bigbatch", "failed", "--note", "diverged")
    out, _ = cli("experiment", "set-status", "warmup", "accepted")
    assert "now the current baseline" in out
    out, _ = cli("experiments")
    assert out.splitlines()[0].split() == ["name", "status", "baseline", "n_runs", "change"]
    assert "bigbatch  failed" in out
    listed = json.loads(cli("experiments", "--json")[0])
    assert [e["name"] for e in listed] == ["base", "warmup", "bigbatch"]
    assert listed[1]["moderators"] == {"model_family": "vit"} and listed[1]["accepted_at"]
    shown = json.loads(cli("experiment", "show", "warmup", "--json")[0])
    assert shown["planned_seeds"] == 5 and shown["tags"] == ["optim"]
    out, _ = cli("log")
    assert "- bigbatch  [failed]" in out and "o warmup" in out
    log = json.loads(cli("log", "--json")[0])
    assert log["current"] == "warmup"
    assert [t["name"] for t in log["steps"][0]["tried"]] == ["warmup", "bigbatch"]


def test_bad_experiment_input_exits_2(cli) -> None:  # type: ignore[no-untyped-def]
    cli("init")
    _, err = cli("experiment", "add", "x", "--moderator", "novalue", code=2)
    assert "KEY=VALUE" in err
    _, err = cli("experiment", "set-status", "ghost", "accepted", code=2)
    assert "Experiment 'ghost' is not in the registry" in err
    cli("experiment", "add", "x")
    _, err = cli("experiment", "set-status", "x", "won", code=2)
    assert "must be one of" in err


def test_import_csv_parquet_json_and_bad_rows(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init")
    cli("experiment", "add", "cand", "--no-baseline")
    runs_frame("cand").to_csv(tmp_path / "runs.csv", index=False)
    out, _ = cli("import", "csv", "runs.csv")
    assert "12 rows, 12 inserted, 0 updated, 0 unchanged" in out
    report = json.loads(cli("import", "csv", "runs.csv", "--json")[0])
    assert report["unchanged"] == 12
    runs_frame("cand", seeds=3).to_parquet(tmp_path / "runs.parquet")
    assert json.loads(cli("import", "parquet", "runs.parquet", "--json")[0])["inserted"] == 6
    runs_frame("cand", metric="f1").to_json(tmp_path / "runs.jsonl", orient="records", lines=True)
    assert json.loads(cli("import", "json", "runs.jsonl", "--json")[0])["inserted"] == 12
    (tmp_path / "bad.csv").write_text(
        "experiment,arm,task,seed,metric,value\ncand,a,t,1,acc,0.5\nghost,a,t,1,acc,0.5\n"
    )
    _, err = cli("import", "csv", "bad.csv", code=2)
    assert "bad.csv, line 3, column 'experiment': experiment 'ghost' is not in the registry" in err
    _, err = cli("import", "csv", "missing.csv", code=2)
    assert "does not exist" in err


def test_db_option_and_environment_variable(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    cli("init", "--db", "other/team.db")
    assert (tmp_path / "other" / "team.db").is_file()
    monkeypatch.setenv("CONSILIENCE_DB", str(tmp_path / "other" / "team.db"))
    cli("experiment", "add", "from-env", "--no-baseline")
    assert (
        "from-env" in cli("experiments", "--db", f"sqlite:///{tmp_path / 'other' / 'team.db'}")[0]
    )
    assert not (tmp_path / "consilience.db").exists()


def test_import_wandb_and_mlflow(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    cli("init")
    cli("experiment", "add", "cand", "--no-baseline")
    (tmp_path / "wandb.csv").write_text(UI_EXPORT)
    out, _ = cli(
        "import",
        "wandb",
        "wandb.csv",
        "--experiment-from",
        "experiment",
        "--metric",
        "accuracy",
        "--source",
        "wandb:acme/nlp",
    )
    assert "5 rows, 5 inserted" in out
    _, err = cli("import", "wandb", "wandb.csv", code=2)
    assert "--metric" in err

    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    exp_id = client.create_experiment("lr-study")
    run = client.create_run(exp_id)
    client.log_batch(
        run.info.run_id,
        params=[Param("variant", "candidate"), Param("dataset", "sst2")],
        metrics=[Metric("acc", 0.91, 0, 0)],
    )
    client.set_terminated(run.info.run_id)
    out, _ = cli(
        "import",
        "mlflow",
        (tmp_path / "mlruns").as_uri(),
        "--experiment-from",
        "=cand",
        "--arm-from",
        "params.variant",
        "--task-from",
        "params.dataset",
        "--seed-from",
        "none",
        "--metric",
        "acc",
    )
    assert "1 rows, 1 inserted" in out
    _, err = cli("import", "mlflow", (tmp_path / "mlruns").as_uri(), code=2)
    assert "no 'params.arm' for column 'arm'" in err


def test_protocol_lock_show_diff(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("init")
    (tmp_path / "plan.yaml").write_text(PROTOCOL)
    out, _ = cli("protocol", "lock", "plan.yaml")
    assert out.startswith("protocol warmup-q1 locked: sha256 ") and "by alice" in out
    out, _ = cli("protocol", "lock", "plan.yaml")
    assert "already locked (same content)" in out
    out, _ = cli("protocol", "show", "warmup-q1")
    assert "(intact)" in out and "primary_metric: accuracy" in out
    listed = json.loads(cli("protocol", "show", "--json")[0])
    assert listed[0]["name"] == "warmup-q1"
    assert "warmup-q1" in cli("protocol", "show")[0]
    (tmp_path / "edit.yaml").write_text(PROTOCOL.replace("level: 95", "level: 90"))
    out, _ = cli("protocol", "diff", "warmup-q1", "edit.yaml")
    assert "1 difference(s)" in out and "model.level: locked 0.95, used 0.9" in out
    assert (
        json.loads(cli("protocol", "diff", "warmup-q1", "edit.yaml", "--json")[0])[0]["field"]
        == "model.level"
    )
    assert "matches the locked protocol" in cli("protocol", "diff", "warmup-q1", "plan.yaml")[0]
    _, err = cli("protocol", "lock", "edit.yaml", code=2)
    assert "already locked" in err and "cannot change" in err
    _, err = cli("protocol", "show", "nope", code=2)
    assert "No locked protocol named 'nope'" in err
