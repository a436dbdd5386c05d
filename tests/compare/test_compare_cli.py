"""``consilience compare | rank | aggregate``: JSON equals the Python API; bad input exits with 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.compare._compare_helpers import runs_from_arrays, simulated
from typer.testing import CliRunner

from consilience.cli.main import app
from consilience.compare import aggregate, compare, rank


@pytest.fixture
def runs_csv(tmp_path: Path) -> Path:
    arrays = simulated(40, tasks=6, spread=0.01)
    arrays["C"] = arrays["A"] + 0.01 + simulated(42, tasks=6)["A"] * 0.02
    path = tmp_path / "runs.csv"
    runs_from_arrays(arrays, n_eval=1000).rename(columns={"task": "dataset"}).to_csv(path, index=False)
    return path


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_compare_json_equals_the_python_api(runs_csv: Path) -> None:
    code, out, _ = _invoke("compare", str(runs_csv), "--baseline", "A", "--candidate", "B", "--task-col", "dataset",
                           "--json")
    assert code == 0
    payload = json.loads(out)
    res = compare(pd.read_csv(runs_csv), baseline="A", candidate="B", task_col="dataset")
    assert payload["estimate"] == res.estimate and payload["verdict"] == res.verdict
    assert payload["pi_low"] == res.pi_low and len(payload["tasks"]) == 6


def test_compare_text_shows_the_verdict(runs_csv: Path) -> None:
    code, out, _ = _invoke("compare", str(runs_csv), "--baseline", "A", "--candidate", "B", "--task-col", "dataset",
                           "--rope", "0.001", "--test", "z")
    assert code == 0
    assert "verdict" in out and "per-task effects" in out


def test_rank_json(runs_csv: Path) -> None:
    code, out, _ = _invoke("rank", str(runs_csv), "--baseline", "A", "--task-col", "dataset", "--json")
    assert code == 0
    payload = json.loads(out)
    res = rank(pd.read_csv(runs_csv), baseline="A", task_col="dataset")
    assert [r["arm"] for r in payload["ranking"]] == res.table["arm"].tolist()
    assert [r["p_holm"] for r in payload["ranking"]] == res.table["p_holm"].tolist()


def test_aggregate_json_per_arm(runs_csv: Path) -> None:
    code, out, _ = _invoke("aggregate", str(runs_csv), "--metric", "accuracy", "--reps", "500", "--seed", "1",
                           "--task-col", "dataset", "--json")
    assert code == 0
    payload = json.loads(out)
    res = aggregate(pd.read_csv(runs_csv), metric="accuracy", reps=500, seed=1, task_col="dataset")
    assert payload["arms"] == res.to_dict()["arms"]
    assert set(payload["arms"]["B"]["iqm"]) == {"estimate", "ci_low", "ci_high"}
    code, out, _ = _invoke("aggregate", str(runs_csv), "--reps", "200", "--task-col", "dataset")
    assert code == 0 and "iqm" in out


def test_declared_direction_for_an_unknown_metric(tmp_path: Path) -> None:
    path = tmp_path / "reward.csv"
    runs_from_arrays(simulated(41), metric="reward").to_csv(path, index=False)
    code, _, err = _invoke("compare", str(path), "--baseline", "A", "--candidate", "B")
    assert code == 2 and "no known direction" in err
    code, out, _ = _invoke("compare", str(path), "--baseline", "A", "--candidate", "B", "--metric", "reward",
                           "--direction", "higher", "--json")
    assert code == 0 and json.loads(out)["direction"] == "higher"


@pytest.mark.parametrize(("args", "message"), [
    (["compare", "{runs}", "--baseline", "Z", "--candidate", "B", "--task-col", "dataset"], "arm ['Z'] not found"),
    (["compare", "{runs}", "--baseline", "A", "--candidate", "B"], "no column 'task'"),
    (["rank", "{runs}", "--baseline", "A", "--task-col", "dataset", "--metric", "f1"], "metric ['f1'] not found"),
    (["aggregate", "{runs}", "--task-col", "dataset", "--reps", "0"], "'reps' parameter"),
    (["compare", "missing.csv", "--baseline", "A", "--candidate", "B"], "does not exist"),
])
def test_bad_input_exits_with_2(runs_csv: Path, args: list[str], message: str) -> None:
    code, _, err = _invoke(*[a.replace("{runs}", str(runs_csv)) for a in args])
    assert code == 2
    assert message in err
