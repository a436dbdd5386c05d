"""``consilience report``: from a runs file and from the registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import consilience.cli.report_cmd  # noqa: F401  (registers the command)
from consilience.cli.app import app


def test_report_from_a_runs_file(runs: pd.DataFrame, tmp_path: Path) -> None:
    src = tmp_path / "runs.csv"
    runs.to_csv(src, index=False)
    out = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", str(src), "--baseline", "base", "-o", str(out),
                                      "--max-figures", "1"])
    assert result.exit_code == 0, result.output
    assert "report written to" in result.output
    assert "2 candidates compared against base" in out.read_text()


def test_report_from_the_registry_as_markdown(example_db: tuple[Path, str],
                                              tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    shutil.copyfile(example_db[0], db)
    out = tmp_path / "report.md"
    result = CliRunner().invoke(app, ["report", "--db", str(db), "--baseline", "random-forest",
                                      "-o", str(out), "--max-figures", "0"])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# Evidence report: accuracy")
    assert "candidates compared on accuracy" in text
    assert "bernoulli-nb" not in text.split("## Methods")[0]  # measured against another baseline


def test_report_errors_exit_with_code_2(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["report", str(tmp_path / "none.csv"), "--baseline", "a", "-o",
                              str(tmp_path / "x.html")])
    assert bad.exit_code == 2 and "does not exist" in bad.output
    suffix = runner.invoke(app, ["report", "--db", str(tmp_path / "x.db"), "-o",
                                 str(tmp_path / "x.pdf")])
    assert suffix.exit_code == 2 and "must end in .html or .md" in suffix.output
