"""``consilience curve`` and ``consilience value`` end to end through the console script's app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from consilience.cli.main import app

from .conftest import DATA

runner = CliRunner()
LDA = "sklearn.discriminant_analysis.LinearDiscriminantAnalysis"
FAST = ["--n-boot", "30"]


@pytest.fixture(scope="module")
def curves_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = pd.read_csv(DATA / "lcdb_extract.csv")
    rows = frame[(frame["openmlid"] == 11) & (frame["learner"] == "SVC_linear")]
    rows = rows.assign(seed=rows["outer_seed"] * 10 + rows["inner_seed"]).rename(columns={"score_test": "score"})
    path = tmp_path_factory.mktemp("curves") / "curves.csv"
    rows[["size_train", "seed", "score"]].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def candidates_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cand") / "candidates.csv"
    pd.DataFrame({"name": ["bigger model", "new features"], "effect": [0.01, 0.004], "ci_low": [0.002, -0.002],
                  "ci_high": [0.018, 0.010], "cost_usd": [500.0, 2000.0]}).to_csv(path, index=False)
    return path


def test_curve_json_reports_choice_prediction_and_every_family(curves_csv: Path) -> None:
    result = runner.invoke(app, ["curve", str(curves_csv), "--size-col", "size_train", "--score-col", "score",
                                 "--seed-col", "seed", "--target-size", "5000", "--json", *FAST])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["chosen"] and set(out["weights"]) == set(out["chosen"])
    assert set(out["parameters"]) == set(out["chosen"])
    p = out["prediction"]
    assert p["size"] == 5000 and p["ci_low"] <= p["estimate"] <= p["ci_high"] and p["level"] == 0.95
    assert len(out["families"]) == 12
    assert all(("holdout_rmse" in f and "status" in f) for f in out["families"])
    assert isinstance(out["flags"], dict) and out["provenance"]["k"] == 10


def test_curve_text_shows_the_summary_and_the_prediction(curves_csv: Path) -> None:
    result = runner.invoke(app, ["curve", str(curves_csv), "--seed-col", "seed", "--target-size", "4000",
                                 "--method", "select", "--families", "last1,pow3,mmf4", *FAST])
    assert result.exit_code == 0, result.output
    assert "Learning curve" in result.stdout and "Predicted score at size 4000" in result.stdout
    assert "mmf4" in result.stdout and "wbl4" not in result.stdout


def test_value_json_has_the_decision_table(curves_csv: Path, candidates_csv: Path) -> None:
    result = runner.invoke(app, ["value", str(curves_csv), "--seed-col", "seed", "--label-cost", "0.5",
                                 "--candidates", str(candidates_csv), "--budgets", "500,2000",
                                 "--target-score", "0.9", "--min-gain-per-usd", "1e-6", "--json", *FAST])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    options = pd.DataFrame(out["options"]["options"])
    assert sorted(options["kind"]) == ["data", "data", "model", "model"]
    assert np.isclose(options["p_best"].sum(), 1.0)
    assert out["options"]["winners"]["expected"] in set(options["option"])
    assert out["data_value"]["marginal_gain"]["estimate"] is not None


def test_value_text(curves_csv: Path, candidates_csv: Path) -> None:
    result = runner.invoke(app, ["value", str(curves_csv), "--seed-col", "seed", "--label-cost", "0.5",
                                 "--candidates", str(candidates_csv), "--families", "pow3,pow4", *FAST])
    assert result.exit_code == 0, result.output
    assert "gain per USD" in result.stdout and "winner (expected)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["curve", "{curves}", "--score-col", "nope", "--target-size", "100"], "has no column(s) ['nope']"),
        (["curve", "missing.csv", "--target-size", "100"], "does not exist"),
        (["curve", "{curves}", "--target-size", "0.5"], "--target-size must be a training-set size > 1"),
        (["curve", "{curves}", "--target-size", "100", "--method", "vote"], "'method' parameter must be one of"),
        (["curve", "{curves}", "--target-size", "100", "--families", "pow9"], "'family' parameter must be one of"),
        (["value", "{curves}", "--label-cost", "-1", "--candidates", "{cands}"], "--label-cost must be a positive"),
        (["value", "{curves}", "--label-cost", "1", "--candidates", "{cands}", "--budgets", "a,b"], "--budgets"),
        (["value", "{curves}", "--label-cost", "1", "--candidates", "{curves}"], "candidates has no column"),
    ],
)
def test_bad_input_exits_2_with_a_message(curves_csv: Path, candidates_csv: Path, args: list[str],
                                          message: str) -> None:
    argv = [a.format(curves=curves_csv, cands=candidates_csv) for a in args] + ["--n-boot", "0"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_curve_band_switch(curves_csv: Path) -> None:
    outs = {}
    for band in ("calibrated", "bootstrap"):
        result = runner.invoke(app, ["curve", str(curves_csv), "--seed-col", "seed", "--target-size", "20000",
                                     "--band", band, "--json", *FAST])
        assert result.exit_code == 0, result.output
        outs[band] = json.loads(result.stdout)
        assert outs[band]["provenance"]["options"]["band"] == band
    cal, boot = outs["calibrated"]["prediction"], outs["bootstrap"]["prediction"]
    assert cal["estimate"] == pytest.approx(boot["estimate"])
    # the calibrated band widens the plain percentile interval far from the data
    assert cal["ci_high"] - cal["ci_low"] > boot["ci_high"] - boot["ci_low"]
    text = runner.invoke(app, ["curve", str(curves_csv), "--seed-col", "seed", "--target-size", "20000",
                               "--band", "bootstrap", *FAST])
    assert "(95% bootstrap percentile interval)" in text.stdout
    bad = runner.invoke(app, ["curve", str(curves_csv), "--target-size", "20000", "--band", "wide"])
    assert bad.exit_code != 0 and "band" in bad.output
