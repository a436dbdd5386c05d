"""``consilience meta --nested`` and ``--bayes`` end to end, against metafor and the bayes references."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from consilience.cli.main import app

REF = Path(__file__).resolve().parent.parent / "reference"
runner = CliRunner()


@pytest.mark.parametrize("test", ["z", "t"])
def test_nested_json_matches_metafor_rma_mv(tmp_path: Path, test: str) -> None:
    ref = json.loads((REF / "metafor_multilevel" / "konstantopoulos2011_district_school.json").read_text())
    path = tmp_path / "data.csv"
    pd.DataFrame(ref["input"]).to_csv(path, index=False)
    result = runner.invoke(app, ["meta", str(path), "--nested", "district,school", "--test", test, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    fit = ref["fits"][test]
    for ours, theirs in [("estimate", "estimate"), ("se", "se"), ("p_value", "pval"), ("ci_low", "ci_lb"),
                         ("ci_high", "ci_ub"), ("q", "QE"), ("q_p_value", "QEp"), ("log_lik", "logLik")]:
        assert_allclose(out[ours], fit[theirs], rtol=1e-6, err_msg=ours)
    assert_allclose(out["sigma2"], fit["sigma2"], rtol=1e-6)  # outer level first
    assert out["nested"] == ["district", "school"]


def test_bayes_json_matches_the_brute_force_reference(tmp_path: Path) -> None:
    case = next(c for c in json.loads((REF / "bayes" / "bayes_reference.json").read_text())["cases"]
                if c["tau_prior"] == "half-normal:0.5" and c["mu_prior"] is None)
    path = tmp_path / "data.csv"
    pd.DataFrame({"yi": case["yi"], "vi": case["vi"]}).to_csv(path, index=False)
    result = runner.invoke(app, ["meta", str(path), "--bayes", "--tau-prior", case["tau_prior"],
                                 "--delta", str(case["delta"]), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    want = case["result"]
    pairs = [("estimate", "mu_mean"), ("median", "mu_median"), ("se", "mu_sd"), ("ci_low", "mu_ci_low"),
             ("ci_high", "mu_ci_high"), ("tau_mean", "tau_mean"), ("tau_median", "tau_median"),
             ("pi_low", "pi_low"), ("pi_high", "pi_high"), ("prob_positive", "prob_positive"),
             ("prob_above_delta", "prob_above_delta")]
    for ours, theirs in pairs:
        assert_allclose(out[ours], want[theirs], rtol=1e-4, atol=1e-6, err_msg=ours)
    text = runner.invoke(app, ["meta", str(path), "--bayes"])
    assert "Bayesian random-effects model" in text.stdout and "P(mu > 0)" in text.stdout


def test_nested_and_bayes_refuse_bad_combinations(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    pd.DataFrame({"yi": [0.1, 0.2, 0.3], "vi": [0.01] * 3, "g": ["a", "a", "b"], "one": ["x"] * 3}).to_csv(
        path, index=False)
    both = runner.invoke(app, ["meta", str(path), "--nested", "g", "--bayes"])
    assert both.exit_code == 2 and "only one of" in both.stderr and "--nested, --bayes" in both.stderr
    missing = runner.invoke(app, ["meta", str(path), "--nested", "nope"])
    assert missing.exit_code == 2 and "column 'nope' is not in" in missing.stderr
    single = runner.invoke(app, ["meta", str(path), "--nested", "one"])
    assert single.exit_code == 2 and "'one'" in single.stderr
    prior = runner.invoke(app, ["meta", str(path), "--bayes", "--tau-prior", "gamma:2"])
    assert prior.exit_code == 2 and "tau_prior" in prior.stderr
    knha = runner.invoke(app, ["meta", str(path), "--nested", "g", "--test", "knha"])
    assert knha.exit_code == 2 and "--test z or t" in knha.stderr
