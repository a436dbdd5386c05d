"""``consilience effects``: CSV in, the same rows with yi/vi out; bad input exits with code 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

import consilience.cli.main  # noqa: F401  (registers every command on app)
from consilience.cli.app import app

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "metafor_escalc"
runner = CliRunner()


def _case(case_id: str) -> dict[str, Any]:
    cases = json.loads((REFERENCE / "escalc_reference.json").read_text())["cases"]
    found: dict[str, Any] = next(c for c in cases if c["id"] == case_id)
    return found


def _write(case: dict[str, Any], path: Path) -> pd.DataFrame:
    frame = pd.DataFrame(case["input"])
    frame.insert(0, "study", [f"s{i}" for i in range(len(frame))])
    frame.to_csv(path, index=False)
    return frame


def _expected(case: dict[str, Any], column: str) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in case[column]], dtype=float)


@pytest.mark.parametrize("case_id", ["bcg_RR", "normand1999_SMD", "nielweise2007_OR_drop00"])
def test_effects_command_matches_metafor(tmp_path: Path, case_id: str) -> None:
    case = _case(case_id)
    frame = _write(case, tmp_path / "in.csv")
    args = ["effects", str(tmp_path / "in.csv"), "--measure", case["measure"]]
    for arg, column in case["columns"].items():
        args += [f"--{arg}", column]
    if (case.get("options") or {}).get("drop00"):
        args.append("--drop00")
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = pd.read_csv(io.StringIO(result.stdout))
    assert list(out.columns) == [*frame.columns, "yi", "vi"]
    assert list(out["study"]) == list(frame["study"])
    for column in ("yi", "vi"):
        assert_allclose(out[column].to_numpy(), _expected(case, column), rtol=1e-9, equal_nan=True)


def test_effects_command_writes_output_file(tmp_path: Path) -> None:
    case = _case("pritz1997_PLO")
    _write(case, tmp_path / "in.csv")
    target = tmp_path / "out.csv"
    result = runner.invoke(
        app,
        [
            "effects",
            str(tmp_path / "in.csv"),
            "-m",
            "PLO",
            "--xi",
            "xi",
            "--ni",
            "ni",
            "-o",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert_allclose(pd.read_csv(target)["yi"].to_numpy(), _expected(case, "yi"), rtol=1e-9)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--measure", "RR", "--ai", "a", "--bi", "b", "--ci", "c", "--di", "d"],
            "'ai' (column 'a') must be >= 0",
        ),
        (["--measure", "XYZ", "--ai", "a"], "'measure' parameter must be one of"),
        (["--measure", "OR", "--ai", "a", "--ci", "c", "--di", "d"], "missing: bi or n1i"),
        (
            ["--measure", "OR", "--ai", "a", "--bi", "nope", "--ci", "c", "--di", "d"],
            "no column(s) ['nope']",
        ),
        (
            ["--measure", "OR", "--ai", "a", "--bi", "b", "--ci", "c", "--di", "d", "--to", "x"],
            "'to' parameter",
        ),
    ],
)
def test_effects_command_bad_input_exits_2(tmp_path: Path, extra: list[str], message: str) -> None:
    pd.DataFrame({"a": [1, -2], "b": [9, 9], "c": [3, 3], "d": [7, 7]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    result = runner.invoke(app, ["effects", str(tmp_path / "t.csv"), *extra])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_effects_command_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["effects", str(tmp_path / "none.csv"), "-m", "ZCOR", "--ri", "r", "--ni", "n"]
    )
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_console_script_exits_2_on_bad_input(tmp_path: Path) -> None:
    pd.DataFrame({"r": [0.3, 0.5], "n": [20, 2]}).to_csv(tmp_path / "c.csv", index=False)
    command = [sys.executable, "-m", "consilience.cli.main", "effects", str(tmp_path / "c.csv")]
    bad = subprocess.run(
        [*command, "-m", "ZCOR", "--ri", "n", "--ni", "r"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert "'ri' (column 'n') must lie between -1 and 1" in bad.stderr
    assert "got 20 at row 0 (2 rows in all: row 0, row 1)" in bad.stderr


def test_effects_command_leaves_undefined_variances_empty(tmp_path: Path) -> None:
    pd.DataFrame({"r": [0.3, 0.5], "n": [20, 2]}).to_csv(tmp_path / "c.csv", index=False)
    result = runner.invoke(
        app, ["effects", str(tmp_path / "c.csv"), "-m", "ZCOR", "--ri", "r", "--ni", "n"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[2].endswith(",")  # ni <= 3: vi undefined, written empty
    out = pd.read_csv(io.StringIO(result.stdout))
    assert_allclose(out["yi"], np.arctanh([0.3, 0.5]), rtol=1e-12)
    assert np.isnan(out["vi"].iloc[1])
