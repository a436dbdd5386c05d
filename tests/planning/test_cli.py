"""``consilience plan`` and ``consilience alerts`` end to end through the typer app."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import consilience.cli.plan_cmd  # noqa: F401  (registers plan, alerts and the registry commands)
from consilience.cli.app import app
from consilience.design import recommend_design
from consilience.registry import Registry

from .conftest import simulate_runs

Cli = Callable[..., tuple[str, str]]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONSILIENCE_DB", raising=False)
    monkeypatch.setenv("CONSILIENCE_USER", "erin")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> tuple[str, str]:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result.stdout, result.stderr

    return run


@pytest.fixture(scope="module")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``consilience init --example`` once; tests that write copy it."""
    path = tmp_path_factory.mktemp("cli") / "example.db"
    result = CliRunner().invoke(app, ["init", "--example", "--db", str(path)])
    assert result.exit_code == 0, result.stderr
    return path


def test_alerts_json_and_text(cli: Cli, example_db: Path) -> None:
    out, _ = cli("alerts", "--db", str(example_db), "--json")
    data = json.loads(out)
    kinds = {a["experiment"]: a["kind"] for a in data["alerts"]}
    assert kinds["lda-shrinkage"] == kinds["decision-tree"] == "underpowered"
    assert kinds["extra-trees"] == "inconclusive"
    assert data["power_threshold"] == 0.8 and data["skipped"][0]["experiment"] == (
        "logistic-regression")
    text, _ = cli("alerts", "--db", str(example_db))
    assert text.splitlines()[0].split() == ["experiment", "kind", "power", "fix"]
    assert "lda-shrinkage         underpowered  0.20" in text
    assert "not checked: logistic-regression" in text
    strict, _ = cli("alerts", "--db", str(example_db), "--threshold", "0.05", "--json")
    assert {a["kind"] for a in json.loads(strict)["alerts"]} == {"inconclusive"}


def test_plan_apply_on_the_example(cli: Cli, example_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    db.write_bytes(example_db.read_bytes())
    out, _ = cli("plan", "--experiment", "lda-shrinkage", "--db", str(db), "--json")
    planned = json.loads(out)
    assert planned["applied"] is False and planned["plan"]["source"] == "baseline"
    out, _ = cli("plan", "--experiment", "lda-shrinkage", "--apply", "--db", str(db))
    assert "Plan: lda-shrinkage (planned)" in out
    assert "applied to lda-shrinkage: planned_seeds 2 -> " in out
    with Registry(db) as reg:
        entry = reg.audit_log(limit=1).iloc[0]
        assert (entry["action"], entry["actor"]) == ("plan.apply", "erin")
        assert reg.experiment("lda-shrinkage").planned_seeds == planned["plan"]["seeds"]


def test_plan_apply_clears_the_alert(cli: Cli, tmp_path: Path) -> None:
    db = str(tmp_path / "r.db")
    cli("init", "--db", db)
    cli("experiment", "add", "base", "--no-baseline", "--status", "complete", "--db", db)
    cli("experiment", "add", "cand", "--baseline", "base", "--status", "running",
        "--planned-seeds", "2", "--min-effect", "0.01", "--db", db)
    runs = tmp_path / "runs.csv"
    simulate_runs("cand", k=20, seeds=2, sd=0.03, tau2=0.0, mu=0.01, rng_seed=1).to_csv(
        runs, index=False)
    cli("import", "csv", str(runs), "--db", db)
    out, _ = cli("alerts", "--db", db, "--json")
    assert [a["experiment"] for a in json.loads(out)["alerts"]] == ["cand"]
    out, _ = cli("plan", "--experiment", "cand", "--apply", "--db", db, "--json")
    applied = json.loads(out)
    assert applied["applied"] is True
    assert applied["experiment"]["planned_seeds"] == applied["plan"]["seeds"] > 2
    out, _ = cli("alerts", "--db", db)
    assert out.startswith("no alerts: every planned or running experiment has power >= 0.8")


def test_plan_from_a_runs_file_matches_recommend_design(cli: Cli, tmp_path: Path) -> None:
    pilot = simulate_runs("x", k=12, seeds=3, sd=0.02, tau2=0.0001, mu=0.01, rng_seed=9)
    pilot.to_csv(tmp_path / "pilot.csv", index=False)
    out, _ = cli("plan", "pilot.csv", "--min-effect", "0.01", "--json")
    expected = recommend_design(pilot, baseline="baseline", candidate="candidate",
                                min_effect=0.01)
    data = json.loads(out)
    assert (data["k"], data["seeds"]) == (expected.k, expected.seeds)
    assert data["achieved_power"] == pytest.approx(expected.achieved_power, rel=1e-12)
    text, _ = cli("plan", "pilot.csv", "--min-effect", "0.01")
    assert text.startswith("Design plan: candidate vs baseline")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan",), "pass either a pilot runs file or --experiment NAME"),
        (("plan", "pilot.csv", "--experiment", "x"), "pass either a pilot runs file"),
        (("plan", "pilot.csv"), "needs --min-effect"),
        (("plan", "pilot.csv", "--min-effect", "0.01", "--apply"), "--apply needs --experiment"),
        (("plan", "pilot.csv", "--min-effect", "0.01", "--metric", "f1"), "has no metric 'f1'"),
        (("plan", "--experiment", "mlp", "--apply"), "'mlp' is failed: its design is settled"),
        (("plan", "--experiment", "lda-shrinkage", "--apply", "--min-effect", "0.02"),
         "--apply uses the experiment's own min_effect"),
        (("plan", "--experiment", "logistic-regression"), "has no min_effect"),
        (("plan", "--experiment", "lda", "--power", "0.8"), "not in the registry"),
        (("alerts", "--threshold", "2"), "power_threshold"),
    ],
)
def test_bad_input_exits_2_with_the_fix(
    cli: Cli, example_db: Path, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    simulate_runs("x", k=3, seeds=2, sd=0.02, tau2=0.0, mu=0.01, rng_seed=1).to_csv(
        tmp_path / "pilot.csv", index=False)
    _, err = cli(*args, "--db", str(example_db), code=2)
    assert err.startswith("error: ") and message in err


def test_plan_commands_load_the_registry_only_when_run() -> None:
    code = (
        "import sys, consilience.cli.plan_cmd\n"
        "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', "
        "'consilience.registry'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
