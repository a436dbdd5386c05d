"""The README's main job: ``consilience demo`` on the bundled LCDB runs (and the BCG trials)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from numpy.testing import assert_allclose
from typer.testing import CliRunner

from consilience import meta_analyze
from consilience.cli.main import app
from tests.conftest import load_reference

EXTRA = json.loads((Path(__file__).parents[1] / "reference" / "metafor_extra" / "extra.json").read_text())


def test_demo_json_equals_metafor_on_the_bundled_trials() -> None:
    result = CliRunner().invoke(app, ["demo", "--dataset", "bcg", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    ref = load_reference("bcg_rr")["fits"]["REML_knha"]
    assert_allclose([out["estimate"], out["ci_low"], out["ci_high"], out["pi_low"], out["pi_high"], out["tau2"]],
                    [ref["estimate"], ref["ci_lb"], ref["ci_ub"], ref["pi_lb"], ref["pi_ub"], ref["tau2"]], rtol=1e-6)


def test_demo_prints_forest_numbers_through_the_console_script() -> None:
    proc = subprocess.run([sys.executable, "-m", "consilience.cli.main", "demo", "--dataset", "bcg"], capture_output=True, text=True, check=True)
    assert "Forest-plot numbers" in proc.stdout
    assert "Aronson (1948)" in proc.stdout and "prediction interval" in proc.stdout
    assert "Pooled risk ratio 0.489" in proc.stdout


def test_forest_weights_match_metafor() -> None:
    inp = EXTRA["input"]
    res = meta_analyze(inp["yi"], inp["vi"])
    assert_allclose(res.studies()["weight"].iloc[:13], EXTRA["weights_REML"], rtol=1e-6)


def test_demo_ranks_the_lcdb_learners_against_logistic_regression() -> None:
    import warnings

    from consilience.compare import compare, load_lcdb_example
    from consilience.errors import DataDroppedWarning

    result = CliRunner().invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    rows = out["ranking"]["ranking"]
    assert out["ranking"]["baseline"] == "LogisticRegression" and len(rows) == 19
    probs = [r["prob_better"] for r in rows]
    assert probs == sorted(probs, reverse=True)
    runs = load_lcdb_example()
    # The ranking's rows are the pairwise comparisons, each with the verdict rule's thresholds.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        for row in (rows[0], rows[-1]):
            want = compare(runs, baseline="LogisticRegression", candidate=row["arm"], rope=0.005)
            assert_allclose([row["estimate"], row["ci_low"], row["pi_high"]],
                            [want.estimate, want.ci_low, want.pi_high], rtol=1e-12)
            assert row["verdict"] == want.verdict
    assert out["best"]["candidate"] == rows[0]["arm"]


def test_demo_text_names_the_verdicts_and_the_per_task_table() -> None:
    proc = subprocess.run([sys.executable, "-m", "consilience.cli.main", "demo"], capture_output=True,
                          text=True, check=True)
    assert "Which learners beat LogisticRegression robustly?" in proc.stdout
    assert "improvement, not general" in proc.stdout and "Per-task effects of" in proc.stdout
    bad = CliRunner().invoke(app, ["demo", "--dataset", "iris"])
    assert bad.exit_code == 2 and "--dataset must be 'lcdb' or 'bcg'" in bad.stderr
