"""End to end on the bundled example registry, through the real command line: fill the
checklists, see the low-risk-only estimate beside the full one, the trade-off table and a
scenario prediction, each equal to metafor."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

import consilience.cli.quality_cmd  # noqa: F401  (registers the commands, and the registry ones)
from consilience.cli.app import app
from consilience.compare import load_lcdb_example
from consilience.quality import ITEMS
from tests.registry.conftest import PG_ENV, SKIP_PG

from .conftest import HIGH, LOW

RTOL = 1e-6
ALL_LOW = [arg for item in ITEMS for arg in ("--set", f"{item}=low:reviewed")]


def run(*args: str, code: int = 0) -> tuple[str, str]:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    return result.stdout, result.stderr


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def example(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example registry, with checklists filled through the command line."""
    cleanup = None
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("quality") / "example.db")
    else:
        url = os.environ.get(PG_ENV)
        if not url:
            if os.environ.get("CI"):
                pytest.fail(f"CI must test the PostgreSQL registry: {SKIP_PG}")
            pytest.skip(SKIP_PG)
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        db = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}
                                             ).render_as_string(hide_password=False)

        def cleanup() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    run("init", "--example", "--db", db)
    run("quality", "assess", "random-forest", "--auto", "--db", db)
    for name in LOW:
        run("quality", "assess", name, *ALL_LOW, "--db", db)
    run("quality", "assess", "gradient-boosting", "--auto", "--db", db)
    run("quality", "assess", "gradient-boosting", "--set",
        "equal_tuning_budget=high:boosting tuned on 5x the baseline's trials", "--db", db)
    run("quality", "assess", "svc-rbf", "--set", "no_leakage=high:features from all data",
        "--db", db)
    yield db
    if cleanup is not None:
        cleanup()


def test_the_checklists_filled_on_the_command_line(example: str) -> None:
    out, _ = run("quality", "assess", "random-forest", "--db", example, "--json")
    rob = json.loads(out)
    assert rob["overall"] == "low"
    assert {i["source"] for i in rob["items"]} == {"manual"}
    rows = {r["experiment"]: r for r in json.loads(run("quality", "show", "--db", example,
                                                       "--json")[0])}
    assert {n for n, r in rows.items() if r["overall"] == "low"} == set(LOW)
    assert {n for n, r in rows.items() if r["overall"] == "high"} == set(HIGH)
    gb = rows["gradient-boosting"]
    # LCDB test sets (~300 examples) cannot detect one point on a single data set; pooled over
    # 189 data sets the test-set noise still leaves power below 0.8 (counting every seed's
    # evaluation as the same test set, the conservative case): some concerns, not high.
    assert gb["eval_size_adequate"] == "some concerns"
    assert gb["manual_items"] == "equal_tuning_budget"
    assert "pooled over 189 tasks" in gb["eval_size_adequate_note"]
    assert rows["svc-rbf"]["no_leakage_note"] == "features from all data"
    assert rows["bernoulli-nb"]["overall"] == "unknown"
    text, _ = run("quality", "show", "--db", example)
    assert "random-forest" in text and "1 seeds_randomised" in text
    _, err = run("quality", "assess", "random-forest", "--set", "no_leakage", "--db", example,
                 code=2)
    assert "item=judgement[:note]" in err


def test_low_risk_only_estimate_beside_the_full_one_equals_metafor(example: str,
                                                                   reference: dict) -> None:
    out, _err = run("quality", "synthesis", "--db", example, "--json")
    res = json.loads(out)
    rows = {r["analysis"]: r for r in res["analyses"]}
    for name, key in (("all studies", "full"), ("low risk of bias only", "low_only")):
        ref: dict[str, Any] = reference[key]
        row = rows[name]
        assert row["k"] == ref["k"]
        assert_allclose([row[k] for k in ("estimate", "se", "ci_low", "ci_high", "pi_low",
                                          "pi_high", "tau2")],
                        [ref[k] for k in ("estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub",
                                          "tau2")], rtol=RTOL)
    sub = reference["subgroups"]
    assert_allclose(res["q_between"], sub["Q_between"], rtol=RTOL)
    assert_allclose(res["qm"], reference["metareg_risk"]["QM"], rtol=RTOL)
    assert res["flow"]["analysed"] == {"experiments": 8, "studies": 1394, "runs": 13753}
    assert res["flow"]["excluded"][0]["reason"].startswith("run not complete")
    text, _ = run("quality", "synthesis", "--db", example)
    assert "low risk of bias only" in text and "inclusion flow" in text
    weighted, _ = run("quality", "synthesis", "--db", example, "--json",
                      "--quality-weight", "low=1", "--quality-weight", "some_concerns=0.5",
                      "--quality-weight", "high=0.25", "--quality-weight", "unknown=0.5")
    row = {r["analysis"]: r for r in json.loads(weighted)["analyses"]}["quality-weighted"]
    assert_allclose(row["estimate"], reference["weighted"]["estimate"], rtol=RTOL)


def test_protocol_flow_on_the_command_line(example: str) -> None:
    out, _ = run("quality", "flow", "random-forest-vs-linear", "--db", example, "--json")
    flow = json.loads(out)
    assert flow["found"] == {"experiments": 9, "studies": 1588, "runs": 15673}
    assert [e["reason"] for e in flow["excluded"]] == [
        "experiment not named in inclusion.experiments"]
    assert flow["analysed"] == {"experiments": 1, "studies": 201, "runs": 1992}


def test_tradeoff_table_from_the_registry_equals_metafor(example: str, reference: dict) -> None:
    out, _ = run("tradeoffs", "--db", example, "--metrics", "accuracy,train_time_s",
                 "--margin", "train_time_s=+5%", "--json")
    res = json.loads(out)
    rows = {(r["candidate"], r["metric"]): r for r in res["table"]}
    for metric, key in (("accuracy", "rf_accuracy"), ("train_time_s", "rf_train_time")):
        row, ref = rows[("random-forest", metric)], reference[key]
        assert row["k"] == ref["k"]
        assert_allclose([row["estimate"], row["ci_low"], row["ci_high"]],
                        [ref["estimate"], ref["ci_lb"], ref["ci_ub"]], rtol=RTOL)
    assert rows[("random-forest", "train_time_s")]["status"] == "regression"
    cands = {c["candidate"]: c for c in res["candidates"]}
    assert cands["random-forest"]["improves"] and not cands["random-forest"]["acceptable"]
    assert "credible regression on train_time_s" in cands["random-forest"]["decision"]
    assert "mlp" not in cands and "lda-shrinkage" not in cands  # no complete runs
    assert cands["decision-tree"]["k"] == 12
    text, _ = run("tradeoffs", "--db", example, "--metrics", "accuracy,train_time_s",
                  "--experiment", "random-forest,extra-trees")
    assert "lower is better, ROM" in text and "extra-trees" in text


def test_tradeoffs_from_a_runs_file(tmp_path: Path, reference: dict) -> None:
    lcdb = load_lcdb_example()
    sub = lcdb.loc[lcdb["arm"].isin(["LogisticRegression", "RandomForestClassifier",
                                     "ExtraTreesClassifier"])]
    long = pd.concat([sub.assign(metric="accuracy"),
                      sub.assign(metric="train_time_s", value=sub["train_time_s"])])
    path = tmp_path / "runs.csv"
    long.drop(columns="train_time_s").to_csv(path, index=False)
    out, err = run("tradeoffs", str(path), "--baseline", "LogisticRegression", "--metrics",
                   "accuracy,train_time_s", "--margin", "train_time_s=+5%", "--json")
    assert "left data out" in err
    rows = {(r["candidate"], r["metric"]): r for r in json.loads(out)["table"]}
    row, ref = rows[("RandomForestClassifier", "train_time_s")], reference["rf_train_time"]
    assert_allclose([row["estimate"], row["ratio"]], [ref["estimate"], ref["ratio"]], rtol=RTOL)
    _, err = run("tradeoffs", str(path), "--metrics", "accuracy", code=2)
    assert "--baseline" in err


def test_scenario_prediction_equals_metafor_and_flags_extrapolation(example: str,
                                                                    reference: dict) -> None:
    ref = reference["scenario_family_size"]
    out, _ = run("predict", "--db", example, "--set", "model_family=tree", "--set",
                 "n_train=10000", "--metric", "accuracy", "--json")
    got = json.loads(out)
    assert_allclose([got[k] for k in ("pred", "se", "ci_low", "ci_high", "pi_low", "pi_high")],
                    [ref[k][0] for k in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub")],
                    rtol=RTOL)
    assert got["extrapolation"] is False and got["k"] == reference["k"]
    far, _ = run("predict", "--db", example, "--set", "model_family=linear", "--set",
                 "n_train=10000000", "--json")
    far_res = json.loads(far)
    assert far_res["extrapolation"] is True
    assert_allclose(far_res["pred"], ref["pred"][2], rtol=RTOL)
    text, _ = run("predict", "--db", example, "--set", "model_family=transformer")
    assert "never observed" in text and "not fitted" in text
    assert next(ln for ln in text.splitlines() if ln.startswith("inside the evidence")).endswith(
        ": no")
    _, err = run("predict", "--db", example, code=2)
    assert "--set MODERATOR=VALUE" in err
    _, err = run("predict", "--db", example, "--set", "data_domain=vision", code=2)
    assert "record" in err


def test_quality_commands_load_the_registry_only_when_run() -> None:
    import subprocess
    import sys

    code = ("import sys, consilience.cli.quality_cmd\n"
            "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'alembic', "
            "'consilience.registry'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
