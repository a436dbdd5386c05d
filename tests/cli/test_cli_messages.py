"""Shared CLI helpers: power commands match their functions; bad input names the option to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import load_reference
from typer.testing import CliRunner

import consilience.cli.main  # noqa: F401  (registers every command on the app)
from consilience.cli.app import app
from consilience.design.proportions import power_proportions
from consilience.design.ttest import power_ttest

runner = CliRunner()


@pytest.fixture
def bcg_csv(tmp_path: Path) -> Path:
    path = tmp_path / "bcg.csv"
    pd.DataFrame(load_reference("bcg_rr")["input"]).to_csv(path, index=False)
    return path


def test_power_commands_print_their_function_result() -> None:
    result = runner.invoke(app, ["power", "ttest", "--effect", "0.5", "--power", "0.8",
                                 "--alternative", "larger", "--json"])
    assert result.exit_code == 0, result.output
    expected = power_ttest(0.5, None, 0.8, alternative="larger").to_dict()
    assert json.loads(result.stdout) == json.loads(json.dumps(expected))
    text = runner.invoke(app, ["power", "proportions", "--baseline", "0.82", "--effect", "0.02",
                               "--power", "0.8"])
    assert text.exit_code == 0, text.output
    assert text.stdout == str(power_proportions(0.02, None, 0.8, baseline=0.82).summary()) + "\n"
    bad = runner.invoke(app, ["power", "paired", "--effect", "0.3", "--n", "8",
                              "--alternative", "bogus"])
    assert bad.exit_code == 2 and "'bogus'" in bad.stderr


@pytest.mark.parametrize(
    ("args", "option", "column"),
    [
        (["meta", "{data}", "--yi", "effect"], "--yi", "effect"),
        (["meta", "{data}", "--by", "year,nope"], "--by", "nope"),
        (["meta", "{data}", "--label", "study"], "--label", "study"),
        (["bias", "{data}", "--vi", "var"], "--vi", "var"),
        (["sensitivity", "{data}", "--order-col", "date"], "--order-col", "date"),
    ],
)
def test_missing_column_names_the_option(bcg_csv: Path, args: list[str], option: str,
                                         column: str) -> None:
    result = runner.invoke(app, [a.replace("{data}", str(bcg_csv)) for a in args])
    assert result.exit_code == 2
    assert f"column {column!r} is not in '{bcg_csv}'. Available columns: [" in result.stderr
    assert f"Name one of them with {option}." in result.stderr


def test_batch_empty_by_shows_the_value(bcg_csv: Path) -> None:
    result = runner.invoke(app, ["batch", str(bcg_csv), "--by", " , "])
    assert result.exit_code == 2
    assert "--by must name at least one column; got ' , '" in result.stderr
    assert "--by experiment,metric" in result.stderr
