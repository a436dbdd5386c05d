"""``consilience batch --db``: one comparison per experiment, read from the registry."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consilience.cli.main import app
from consilience.errors import DataDroppedWarning
from consilience.registry import Registry
from consilience.registry.analysis import compare_experiment
from consilience.registry.example import build_example_registry


def test_batch_reads_the_registry_and_equals_each_experiment_comparison(tmp_path: Path) -> None:
    db = str(tmp_path / "ex.db")
    build_example_registry(db).close()
    result = CliRunner().invoke(app, [
        "batch", "--db", db, "--experiment", "svc-rbf,extra-trees", "--by", "experiment",
        "--analysis", "compare", "--metric", "accuracy", "--baseline", "baseline",
        "--candidate", "candidate", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["experiment"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"svc-rbf", "extra-trees"}
    with Registry(db) as reg, warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        for name, row in rows.items():
            want = compare_experiment(reg, name, metric="accuracy", threshold=0.0)
            assert row["estimate"] == pytest.approx(want.estimate, rel=1e-12)
            assert row["k"] == want.k
