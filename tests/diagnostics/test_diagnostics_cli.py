"""``consilience bias`` and ``consilience sensitivity``: numbers equal metafor; bad input exits with 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import load_reference
from tests.diagnostics._helpers import close, load_diag
from typer.testing import CliRunner

from consilience.cli.main import app

runner = CliRunner()


def _write(tmp_path: Path, name: str = "bcg_rr") -> Path:
    inp = load_reference(name)["input"]
    frame = pd.DataFrame({"trial": [f"t{i}" for i in range(len(inp["yi"]))], "effect": inp["yi"],
                          "var": inp["vi"], "year": inp.get("year", range(len(inp["yi"])))})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_bias_json_matches_metafor(tmp_path: Path) -> None:
    ref = load_reference("bcg_rr")
    out = runner.invoke(app, ["bias", str(_write(tmp_path)), "--yi", "effect", "--vi", "var", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert list(payload) == ["egger", "begg", "trimfill"]
    close([payload["egger"]["statistic"], payload["egger"]["p_value"], payload["egger"]["limit_estimate"]],
          [ref["egger"]["stat"], ref["egger"]["pval"], ref["egger"]["limit_estimate"]])
    close([payload["begg"]["tau"], payload["begg"]["p_value"]], [ref["begg"]["tau"], ref["begg"]["pval"]])
    tf = ref["trimfill_REML"]
    assert (payload["trimfill"]["k0"], payload["trimfill"]["side"]) == (tf["k0"], tf["side"])
    close([payload["trimfill"]["estimate"], payload["trimfill"]["se"], payload["trimfill"]["tau2"]],
          [tf["estimate"], tf["se"], tf["tau2"]])
    assert len(payload["trimfill"]["filled_studies"]) == tf["k0"]


def test_bias_uses_the_chosen_method(tmp_path: Path) -> None:
    ref = load_diag("bcg_rr")
    out = runner.invoke(app, ["bias", str(_write(tmp_path)), "--yi", "effect", "--vi", "var", "--method", "EE",
                              "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["egger"]["method"] == payload["trimfill"]["method"] == "EE"
    close(payload["egger"]["statistic"], ref["regtest"]["EE_z"]["zval"])
    close(payload["trimfill"]["estimate"], ref["trimfill"]["EE_z_95_L0"]["estimate"])


def test_bias_prints_readable_summaries(tmp_path: Path) -> None:
    out = runner.invoke(app, ["bias", str(_write(tmp_path)), "--yi", "effect", "--vi", "var", "--label", "trial"])
    assert out.exit_code == 0, out.output
    for title in ("Egger's regression test", "Begg's rank correlation test", "Trim-and-fill (REML"):
        assert title in out.stdout
    assert "filled 1" in out.stdout


def test_sensitivity_json_matches_metafor_row_by_row(tmp_path: Path) -> None:
    ref = load_diag("bcg_rr")
    out = runner.invoke(app, ["sensitivity", str(_write(tmp_path)), "--yi", "effect", "--vi", "var",
                              "--label", "trial", "--order-col", "year", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert list(payload) == ["leave_one_out", "influence", "cumulative"]
    assert [row["study"] for row in payload["leave_one_out"]] == [f"t{i}" for i in range(13)]
    assert [row["study"] for row in payload["influence"]] == [f"t{i}" for i in range(13)]
    close([row["estimate"] for row in payload["leave_one_out"]], ref["leave1out"]["REML_z"]["estimate"])
    close([row["cook_d"] for row in payload["influence"]], ref["influence"]["REML_z"]["cook_d"])
    close([row["estimate"] for row in payload["cumulative"]], ref["cumul"]["REML_z_order"]["estimate"])
    year = np.array(ref["input"]["order_key"])
    assert [row["position"] for row in payload["cumulative"]] == np.argsort(year, kind="stable").tolist()


def test_sensitivity_order_column_follows_dropped_rows(tmp_path: Path) -> None:
    path = _write(tmp_path)
    frame = pd.read_csv(path)
    frame.loc[3, "effect"] = np.nan
    frame.to_csv(path, index=False)
    out = runner.invoke(app, ["sensitivity", str(path), "--yi", "effect", "--vi", "var", "--label", "trial",
                              "--order-col", "year", "--json"])
    assert out.exit_code == 0, out.output
    assert "1 of 13 studies dropped" in out.stderr
    rows = json.loads(out.stdout)["cumulative"]
    kept = frame.drop(index=3).reset_index(drop=True)
    assert [row["study"] for row in rows] == kept.sort_values("year", kind="stable")["trial"].tolist()


def test_sensitivity_prints_tables(tmp_path: Path) -> None:
    out = runner.invoke(app, ["sensitivity", str(_write(tmp_path)), "--yi", "effect", "--vi", "var"])
    assert out.exit_code == 0, out.output
    for title in ("Leave-one-out (REML", "Influence diagnostics (REML", "Cumulative meta-analysis (REML",
                  "Influential studies (metafor's rule): none"):
        assert title in out.stdout


@pytest.mark.parametrize(("command", "args", "message"), [
    ("bias", ["--yi", "nope"], "column 'nope' is not in"),
    ("sensitivity", ["--order-col", "nope"], "column 'nope' is not in"),
    ("bias", ["--method", "XX"], "The 'method' parameter must be one of"),
    ("sensitivity", ["--order-col", "trial", "--test", "t"], "The 'test' parameter must be one of"),
])
def test_bad_input_exits_with_2_and_a_message(tmp_path: Path, command: str, args: list[str], message: str) -> None:
    base = ["--yi", "effect", "--vi", "var"]
    out = runner.invoke(app, [command, str(_write(tmp_path)), *base, *args])
    assert out.exit_code == 2
    assert message in out.stderr


def test_bias_refuses_two_studies(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    pd.DataFrame({"yi": [0.1, 0.3], "vi": [0.01, 0.02]}).to_csv(path, index=False)
    out = runner.invoke(app, ["bias", str(path)])
    assert out.exit_code == 2
    assert "egger_test needs at least k = 3 studies; got k = 2" in out.stderr
