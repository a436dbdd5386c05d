"""The design commands: power, boundaries, confidence-sequence, meta-experiment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from consilience.cli.main import app
from consilience.design import power_mcnemar, power_meta, power_ttest, spending_boundaries

runner = CliRunner()


def _json(args: list[str]) -> dict:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_power_ttest_solves_the_missing_quantity() -> None:
    out = _json(["power", "ttest", "--effect", "0.5", "--power", "0.8", "--json"])
    assert out["solved_for"] == "n"
    assert_allclose(out["n"], power_ttest(0.5, None, 0.8).n, rtol=1e-12)
    curve = _json(["power", "ttest", "--effect", "0.5", "--n", "3,5,10", "--json"])
    assert_allclose(curve["power"], power_ttest(0.5, np.array([3, 5, 10])).power, rtol=1e-12)
    text = runner.invoke(app, ["power", "paired", "--n", "5", "--power", "0.8", "--rho", "0.5"])
    assert text.exit_code == 0 and "solved for effect" in text.stdout


def test_power_mcnemar_accepts_discordant_rates() -> None:
    out = _json(["power", "mcnemar", "--p01", "0.45", "--p10", "0.05", "--power", "0.8", "--json"])
    assert out["n_required"] == 23
    exact = _json(
        [
            "power",
            "mcnemar",
            "--discordance",
            "0.45",
            "--effect",
            "0.15",
            "--n",
            "155",
            "--method",
            "exact",
            "--json",
        ]
    )
    assert_allclose(
        exact["power"], power_mcnemar(0.15, 155, discordance=0.45, method="exact").power, rtol=1e-12
    )


def test_power_meta_and_proportions() -> None:
    out = _json(
        [
            "power",
            "meta",
            "--effect",
            "0.3",
            "--n",
            "5",
            "--power",
            "0.8",
            "--sd",
            "1",
            "--tau2",
            "0.05",
            "--json",
        ]
    )
    assert out["solved_for"] == "k"
    assert_allclose(out["k"], power_meta(0.3, None, 5, 0.8, sd=1.0, tau2=0.05).k, rtol=1e-12)
    prop = _json(
        ["power", "proportions", "--n", "5000", "--power", "0.8", "--baseline", "0.8", "--json"]
    )
    assert prop["solved_for"] == "effect" and 0 < prop["effect"] < 0.05


def test_boundaries_command_prints_the_design() -> None:
    out = _json(
        ["boundaries", "--looks", "0.5,0.75,1", "--alpha", "0.025", "--spending", "obf", "--json"]
    )
    assert_allclose(out["boundary"], spending_boundaries([0.5, 0.75, 1]).boundary, rtol=1e-12)
    text = runner.invoke(app, ["boundaries", "--looks", "0.5,1", "--spending", "pocock"])
    assert text.exit_code == 0 and "Pocock-type" in text.stdout


def test_meta_experiment_assign_and_analyze(tmp_path: Path) -> None:
    ids = tmp_path / "ids.csv"
    pd.DataFrame({"experiment": [f"exp-{i}" for i in range(30)]}).to_csv(ids, index=False)
    out = _json(["meta-experiment", "assign", str(ids), "--salt", "s1", "--json"])
    assert len(out["assignments"]) == 30 and sum(out["counts"].values()) == 30
    again = runner.invoke(app, ["meta-experiment", "assign", str(ids), "--salt", "s1"])
    table = pd.read_csv(__import__("io").StringIO(again.stdout))
    assert table["arm"].tolist() == [r["arm"] for r in out["assignments"]]
    data = tmp_path / "data.csv"
    table.assign(outcome=[i % 2 for i in range(30)]).to_csv(data, index=False)
    res = _json(
        [
            "meta-experiment",
            "analyze",
            str(data),
            "--arm-col",
            "arm",
            "--outcome-col",
            "outcome",
            "--json",
        ]
    )
    assert [t["method"] for t in res["tests"]] == ["wald", "newcombe", "z_pooled", "fisher"]


def test_confidence_sequence_command(tmp_path: Path) -> None:
    path = tmp_path / "diffs.csv"
    pd.DataFrame({"difference": np.random.default_rng(0).normal(0.5, 1.0, 60)}).to_csv(
        path, index=False
    )
    out = _json(["confidence-sequence", str(path), "--sd", "1", "--optimize-at", "50", "--json"])
    assert len(out["looks"]) == 60 and out["looks"][-1]["recommend"] in ("stop", "continue")


def test_bad_input_exits_2_with_a_message(tmp_path: Path) -> None:
    cases = [
        ["power", "ttest", "--effect", "0.5"],
        ["power", "ttest", "--effect", "abc", "--n", "5"],
        ["power", "mcnemar", "--effect", "0.1", "--n", "100"],
        ["power", "mcnemar", "--p01", "0.1", "--n", "100"],
        ["boundaries", "--looks", "0.5,0.4,1"],
        ["boundaries", "--looks", "0.5,1", "--spending", "linear"],
        ["meta-experiment", "assign", str(tmp_path / "missing.csv"), "--salt", "s"],
        ["meta-experiment", "analyze", str(tmp_path / "missing.csv")],
    ]
    for args in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert res.stderr.startswith("error: "), (args, res.stderr)
