"""``consilience meta`` end to end through the real console script's app."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from consilience.cli.main import app
from tests.conftest import load_reference

runner = CliRunner()


@pytest.fixture
def bcg_csv(tmp_path: Path) -> Path:
    path = tmp_path / "bcg.csv"
    pd.DataFrame(load_reference("bcg_rr")["input"]).to_csv(path, index=False)
    return path


def test_meta_json_matches_metafor(bcg_csv: Path) -> None:
    result = runner.invoke(app, ["meta", str(bcg_csv), "--method", "PM", "--test", "knha", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    ref = load_reference("bcg_rr")["fits"]["PM_knha"]
    assert_allclose([out["estimate"], out["ci_low"], out["tau2"], out["pi_high"]],
                    [ref["estimate"], ref["ci_lb"], ref["tau2"], ref["pi_ub"]], rtol=1e-6)


def test_meta_text_has_summary_and_forest_numbers(bcg_csv: Path) -> None:
    result = runner.invoke(app, ["meta", str(bcg_csv), "--label", "year"])
    assert result.exit_code == 0, result.output
    assert "random-effects (REML)" in result.stdout
    assert "Forest-plot numbers" in result.stdout and "1948" in result.stdout and "prediction interval" in result.stdout


def test_meta_with_moderators_and_by(bcg_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["meta", str(bcg_csv), "--mods", "ablat,year", "--json"])
    assert result.exit_code == 0
    ref = load_reference("bcg_rr")["metareg_REML_z"]
    coefs = json.loads(result.stdout)["coefficients"]
    assert_allclose([c["estimate"] for c in coefs], ref["estimate"], rtol=1e-6)
    frame = pd.read_csv(bcg_csv)
    frame["half"] = (frame.index >= 6).astype(int)
    path = tmp_path / "halves.csv"
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["meta", str(path), "--by", "half", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [r["k"] for r in rows] == [6, 7]


def test_meta_bad_input_exits_2_with_message(bcg_csv: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["meta", str(bcg_csv), "--yi", "effect"])
    assert result.exit_code == 2
    assert "column 'effect' is not in" in result.stderr
    result = runner.invoke(app, ["meta", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
    frame = pd.read_csv(bcg_csv)
    frame.loc[3, "vi"] = -1
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    result = runner.invoke(app, ["meta", str(bad)])
    assert result.exit_code == 2 and "'vi' must be > 0; got -1.0 at row 3" in result.stderr
    result = runner.invoke(app, ["meta", str(bcg_csv), "--method", "BOGUS"])
    assert result.exit_code == 2 and "must be one of" in result.stderr
