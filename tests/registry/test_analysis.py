"""Analyses read from the registry: experiment verdicts, the leaderboard and the living analysis."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from typer.testing import CliRunner

import consilience.cli.update_cmd  # noqa: F401  (registers the commands)
from consilience.cli.app import app
from consilience.compare import compare, load_lcdb_example
from consilience.compare.multiple_testing import adjust_p_values
from consilience.errors import DataDroppedWarning, InputError
from consilience.registry import Registry
from consilience.registry.analysis import (
    compare_experiment,
    experiment_arms,
    leaderboard,
    protocol_runs,
    update,
)
from consilience.registry.example import EXAMPLE_EXPERIMENTS, build_example_registry
from consilience.registry.flow import inclusion_flow, study_table

from .conftest import add_pair, runs_frame

LEARNER = {name: learner for name, learner, *_ in EXAMPLE_EXPERIMENTS}

PROTOCOL = """\
name: cand-accuracy
primary_metric: accuracy
inclusion:
  experiments: [cand]
model: {method: DL, test: z, level: 0.9}
rope: [-0.01, 0.02]
min_effect: 0.005
"""


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    path = tmp_path_factory.mktemp("example") / "example.db"
    reg = build_example_registry(path)
    yield reg  # type: ignore[misc]
    reg.close()


def _lcdb_compare(name: str, **options: object) -> object:
    baseline = next(b for n, _, b, *_ in EXAMPLE_EXPERIMENTS if n == name)
    lcdb = load_lcdb_example()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        return compare(lcdb, baseline=LEARNER[baseline], candidate=LEARNER[name], **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["random-forest", "svc-rbf", "extra-trees"])
def test_experiment_verdicts_equal_compare_on_the_lcdb_table(example: Registry, name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        got = compare_experiment(example, name, metric="accuracy")
    want = _lcdb_compare(name, threshold=0.01)  # the experiments' min_effect
    for key in ("k", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
        assert getattr(got, key) == pytest.approx(getattr(want, key), rel=1e-12), key
    assert got.verdict == want.verdict  # type: ignore[attr-defined]


def test_example_registry_tells_the_documented_story(example: Registry) -> None:
    table = example.experiments().set_index("name")
    assert list(table.index) == [e[0] for e in EXAMPLE_EXPERIMENTS]
    assert {n: table.loc[n, "status"] for n in ("random-forest", "mlp", "lda-shrinkage")} == {
        "random-forest": "accepted", "mlp": "failed", "lda-shrinkage": "planned"}
    assert example.current_baseline() == "random-forest"
    assert example.runs("lda-shrinkage").empty
    failed = example.runs("mlp")
    assert set(failed["status"]) == {"failed"}
    tree = example.runs("decision-tree", metric="accuracy")
    assert tree["task"].nunique() == 12 and set(tree["seed"]) == {0, 1}
    assert set(example.runs("random-forest")["metric"]) == {"accuracy", "train_time_s"}
    # One snapshot per imported seed, oldest with the fewest runs, dated after the experiment.
    snaps = example.snapshots("random-forest-vs-linear")[::-1]
    assert [s.result["n_runs"] for s in snaps] == sorted(s.result["n_runs"] for s in snaps)
    assert len(snaps) == 5 and all(s.result["deviations"] == [] for s in snaps)
    final = _lcdb_compare("random-forest", threshold=0.01, rope=0.005)
    assert snaps[-1].result["comparison"]["estimate"] == pytest.approx(final.estimate, rel=1e-12)  # type: ignore[attr-defined]


def test_leaderboard_adjusts_over_the_experiments_compared(example: Registry) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)
        board = leaderboard(example)
    assert set(board["experiment"]) == {
        n for n, _, b, s, *_ in EXAMPLE_EXPERIMENTS if b is not None and s not in ("planned", "failed")
    }
    assert board["prob_better"].is_monotonic_decreasing
    assert_allclose(board["p_holm"], adjust_p_values(board["p_value"].to_numpy(), method="holm"))
    assert_allclose(board["p_bh"], adjust_p_values(board["p_value"].to_numpy(), method="bh"))
    assert {"model_family", "lifecycle_stage"} <= set(board.columns)
    top = board.iloc[0]
    assert top["experiment"] == "random-forest" and top["baseline"] == "logistic-regression"


def test_leaderboard_reports_the_candidate_cost_and_the_cost_per_gain(registry: Registry) -> None:
    add_pair(registry)
    runs = runs_frame("cand", tasks=4, seeds=3)
    cand = runs["arm"] == "candidate"
    runs.loc[cand, "value"] += np.linspace(0, 0.02, int(cand.sum()))
    runs.loc[cand, ["cost_gpu_hours", "cost_usd"]] = [2.5, 5.0]
    registry.import_runs(runs)
    row = leaderboard(registry).set_index("experiment").loc["cand"]
    assert row["cost_gpu_hours"] == 2.5 and row["cost_usd"] == 5.0
    assert row["estimate"] > 0
    assert_allclose(row["usd_per_gain"], (5.0 - 3.0) / row["estimate"])


def test_leaderboard_costs_come_from_the_arms_the_comparison_used(registry: Registry) -> None:
    registry.add_experiment("base", no_baseline=True, status="complete")
    registry.add_experiment("x", baseline="base")
    runs = runs_frame("x", tasks=4, seeds=3, arms=("base", "new"))  # arms named after the baseline
    new = runs["arm"] == "new"
    runs.loc[new, "value"] += np.linspace(0.01, 0.03, int(new.sum()))
    runs.loc[new, ["cost_gpu_hours", "cost_usd"]] = [4.0, 9.0]
    runs.loc[~new, ["cost_gpu_hours", "cost_usd"]] = [1.0, 3.0]
    registry.import_runs(runs)
    row = leaderboard(registry).set_index("experiment").loc["x"]
    assert row["cost_gpu_hours"] == 4.0 and row["cost_usd"] == 9.0
    assert row["estimate"] > 0
    assert_allclose(row["usd_per_gain"], (9.0 - 3.0) / row["estimate"])


def test_inclusion_flow_keeps_each_experiments_two_arms_on_tasks_run_by_both(
    registry: Registry,
) -> None:
    registry.add_experiment("base", no_baseline=True, status="complete")
    registry.add_experiment("x", baseline="base")
    registry.add_experiment("y", baseline="base")
    x = runs_frame("x", tasks=4, arms=("base", "new"))  # arms: the baseline's name and one other
    x = x[~((x["task"] == "task3") & (x["arm"] == "base"))]  # task3 run by one arm only
    y = runs_frame("y", tasks=2, arms=("baseline", "candidate", "extra"))
    registry.import_runs(pd.concat([x, y]))
    steps = inclusion_flow(registry).steps.set_index("reason")
    assert steps["runs"].tolist() == [26, 0, 0, 4, 2, 20]
    assert steps.loc["arm is neither the baseline nor the candidate", "runs"] == 4
    assert steps.loc["task run by one arm only (no comparison)", "studies"] == 1
    with pytest.warns(DataDroppedWarning, match="2 runs in 1 studies"):
        studies = study_table(registry)
    assert studies["study"].tolist() == ["x/task0", "x/task1", "x/task2", "y/task0", "y/task1"]
    assert studies["baseline_arm"].tolist() == ["base"] * 3 + ["baseline"] * 2
    assert studies["candidate_arm"].tolist() == ["new"] * 3 + ["candidate"] * 2
    assert (studies["n_baseline"] == 2).all() and (studies["n_candidate"] == 2).all()


def test_arms_follow_the_documented_convention() -> None:
    runs = pd.DataFrame({"arm": ["base", "new", "base"]})
    assert experiment_arms(runs, "x", "base") == ("base", "new")
    with pytest.raises(InputError, match=r"has arms \['base', 'new'\].*--baseline-arm"):
        experiment_arms(runs, "x", None)
    with pytest.raises(InputError, match="candidate_arm 'other' is not one of its arms"):
        experiment_arms(runs, "x", None, baseline_arm="base", candidate_arm="other")


def test_update_stores_a_snapshot_only_when_runs_change(db_url: str, tmp_path: Path) -> None:
    reg = Registry(db_url, create=True, actor="tester")
    try:
        assert update(reg) == []
        add_pair(reg)
        path = tmp_path / "p.yaml"
        path.write_text(PROTOCOL)
        reg.lock_protocol(path)
        (first,) = update(reg)
        assert first.status == "no runs" and first.snapshot_id is None
        reg.import_runs(runs_frame("cand", tasks=4, seeds=3))
        (second,) = update(reg)
        assert second.status == "updated" and second.snapshot_id is not None
        spec = reg.protocol("cand-accuracy").spec
        want = compare(protocol_runs(reg, spec), baseline="baseline", candidate="candidate",
                       metric="accuracy", method="DL", test="z", level=0.9, threshold=0.005,
                       rope=0.02)
        assert second.estimate == pytest.approx(want.estimate, rel=1e-12)
        assert second.verdict == want.verdict
        stored = reg.latest_snapshot("cand-accuracy")
        assert stored is not None and stored.result["comparison"]["method"] == "DL"
        (third,) = update(reg)
        assert third.status == "unchanged" and third.snapshot_id == second.snapshot_id
        reg.import_runs(runs_frame("cand", tasks=5, seeds=3))
        (fourth,) = update(reg)
        assert fourth.status == "updated" and fourth.input_hash != second.input_hash
        assert len(reg.snapshots("cand-accuracy")) == 2
        with pytest.raises(InputError):
            update(reg, ["nope"])
    finally:
        reg.close()


def test_cli_builds_the_example_and_runs_the_living_analysis(tmp_path: Path) -> None:
    runner = CliRunner()
    db = str(tmp_path / "ex.db")
    res = runner.invoke(app, ["init", "--example", "--db", db, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["token"].startswith("cns_")
    again = runner.invoke(app, ["init", "--example", "--db", db])
    assert again.exit_code == 2 and "already holds experiments" in again.stderr
    assert runner.invoke(app, ["init", "--example", "--force", "--db", db]).exit_code == 0
    out = runner.invoke(app, ["update", "--db", db, "--json"])
    assert out.exit_code == 0, out.output
    assert [r["status"] for r in json.loads(out.stdout)] == ["unchanged"]
    board = runner.invoke(app, ["leaderboard", "--db", db, "--json"])
    rows = json.loads(board.stdout)
    assert rows[0]["experiment"] == "random-forest"
    assert np.isfinite(rows[0]["p_holm"])
    text = runner.invoke(app, ["leaderboard", "--db", db])
    assert "random-forest" in text.stdout and "improvement, not general" in text.stdout


def test_analysis_commands_read_runs_from_the_registry(tmp_path: Path) -> None:
    import consilience.cli.compare_cmd  # noqa: F401  (registers the commands)

    runner = CliRunner()
    db = str(tmp_path / "ex.db")
    build_example_registry(db).close()
    res = runner.invoke(app, ["compare", "--db", db, "--experiment", "svc-rbf",
                              "--metric", "accuracy", "--json"])
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    want = _lcdb_compare("svc-rbf", threshold=0.01)
    assert got["estimate"] == pytest.approx(want.estimate, rel=1e-12)  # type: ignore[attr-defined]
    assert got["threshold"] == 0.01
    ranked = runner.invoke(app, ["rank", "--db", db, "--experiment", "svc-rbf", "--baseline",
                                 "baseline", "--metric", "accuracy", "--json"])
    assert json.loads(ranked.stdout)["ranking"][0]["estimate"] == pytest.approx(
        want.estimate, rel=1e-12)  # type: ignore[attr-defined]
    agg = runner.invoke(app, ["aggregate", "--db", db, "--experiment", "svc-rbf", "--metric",
                              "accuracy", "--reps", "200", "--json"])
    assert agg.exit_code == 0, agg.output
    neither = runner.invoke(app, ["compare", "--metric", "accuracy"], env={"CONSILIENCE_DB": ""})
    assert neither.exit_code == 2 and "give a runs file (RUNS) or a registry" in neither.stderr
    both = runner.invoke(app, ["compare", str(tmp_path / "x.csv"), "--experiment", "a",
                               "--baseline", "a", "--candidate", "b"])
    assert both.exit_code == 2 and "drop RUNS to use --db" in both.stderr
