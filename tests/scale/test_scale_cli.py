"""``consilience batch`` with the local engine: JSON, Parquet and CSV output, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.scale._scale_helpers import effects_table, runs_table
from typer.testing import CliRunner

import consilience.cli.batch_cmd  # noqa: F401  (registers the command on the app)
from consilience.cli.main import app
from consilience.errors import DataDroppedWarning, SmallSampleWarning
from consilience.scale import batch

runner = CliRunner()


def test_cli_json_equals_the_batch_function(tmp_path: Path) -> None:
    path = tmp_path / "effects.csv"
    frame = effects_table(groups=20, seed=2)
    frame.to_csv(path, index=False)
    result = runner.invoke(app, ["batch", str(path), "--by", "task_id", "--method", "DL", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    with pytest.warns(DataDroppedWarning), pytest.warns(SmallSampleWarning):
        expected = batch(pd.read_csv(path), by="task_id", method="DL")
    assert [r["task_id"] for r in rows] == expected["task_id"].tolist()
    assert [r["estimate"] for r in rows] == expected["estimate"].tolist()
    assert all(r["converged"] for r in rows)
    assert "warning:" in result.stderr and "dropped" in result.stderr


def test_cli_writes_parquet_and_reports_errors(tmp_path: Path) -> None:
    source = tmp_path / "runs.csv"
    runs_table().to_csv(source, index=False)
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, ["batch", str(source), "--by", "experiment", "--analysis",
                                 "compare",
                                 "--baseline", "base", "--candidate", "new", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 4 row(s)" in result.stdout
    written = pd.read_parquet(out)
    assert written["experiment"].tolist() == ["exp0", "exp1", "exp2", "exp3"]
    bad = runner.invoke(app, ["batch", str(source), "--by", "exp"])
    assert bad.exit_code == 2 and "'by' names column(s) ['exp']" in bad.stderr
    csv_out = tmp_path / "out.csv"
    text = runner.invoke(app, ["batch", str(source), "--by", "experiment", "--analysis", "compare",
                               "--baseline", "base", "--candidate", "new", "-o", str(csv_out)])
    assert text.exit_code == 0 and len(pd.read_csv(csv_out)) == 4
    refused = runner.invoke(app, ["batch", str(source), "--by", "experiment",
                                  "-o", str(tmp_path / "x.txt")])
    assert refused.exit_code == 2 and ".parquet or .csv" in refused.stderr
