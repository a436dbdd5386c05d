"""``consilience compare | rank | aggregate``: verdicts, leaderboards and aggregates from a runs table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from consilience.cli.app import app, handles_errors, read_table, show_result, split_list

_RUNS_HELP = "Runs table (CSV, Parquet or JSON; '-' for CSV on stdin): arm, task, seed, metric, value[, n_eval, ...]."


def _metrics(metric: str | None, direction: str | None, kind: str) -> Any:
    if direction is None:
        return None
    from consilience.compare.metrics import MetricSpec
    from consilience.errors import InputError

    if metric is None:
        raise InputError("--direction declares the direction of --metric; pass --metric too.")
    return {metric: MetricSpec(direction=direction, kind=kind)}  # type: ignore[arg-type]


def load_runs(runs: Path | None, db: str | None, experiment: str | None) -> Any:
    """The runs table from a file, or from the registry (``--db``, ``CONSILIENCE_DB``)."""
    from consilience.errors import InputError

    if runs is not None:
        if experiment is not None:
            raise InputError("--experiment selects runs in the registry; drop RUNS to use --db.")
        return read_table(runs, what="runs")
    if db is None:
        raise InputError("give a runs file (RUNS) or a registry (--db URL or CONSILIENCE_DB).")
    from consilience.registry import Registry

    with Registry(db) as reg:
        frame = reg.runs(split_list(experiment) or None, status="complete")
    if frame.empty:
        raise InputError(f"the registry at {db} has no complete runs"
                         + (f" for experiment(s) {experiment}" if experiment else "")
                         + ". Import some: consilience import csv RUNS.csv")
    return frame


ArmCol = typer.Option("arm", "--arm-col", help="Column naming the arm (model, variant).")
TaskCol = typer.Option("task", "--task-col", help="Column naming the task (data set, benchmark).")
SeedCol = typer.Option("seed", "--seed-col", help="Column naming the seed (run).")
MetricCol = typer.Option("metric", "--metric-col", help="Column naming the metric.")
ValueCol = typer.Option("value", "--value-col", help="Column holding the metric's value.")
Direction = typer.Option(None, "--direction", help="Declare the metric's direction: higher or lower (for names without a default).")
Kind = typer.Option("continuous", "--kind", help="With --direction: proportion, bounded or continuous.")
RunsArg = typer.Argument(None, help=_RUNS_HELP + " Omit it to read the registry (--db).")
DbOpt = typer.Option(None, "--db", envvar="CONSILIENCE_DB",
                     help="Read the runs from this registry (URL or SQLite file) instead of RUNS.")
ExperimentOpt = typer.Option(None, "--experiment",
                             help="With --db: only these experiments (comma-separated).")


@app.command("compare")
@handles_errors
def compare_command(
    runs: Path | None = RunsArg,
    baseline: str | None = typer.Option(None, "--baseline", help="Reference arm (default with --db --experiment: the experiment's baseline arm)."),
    candidate: str | None = typer.Option(None, "--candidate", help="Arm under test (default with --db --experiment: its candidate arm)."),
    metric: str | None = typer.Option(None, "--metric", help="Metric to compare (needed when the table has several)."),
    method: str = typer.Option("REML", "--method", help="tau² estimator: REML, ML, EB, PM, DL, HE, HS, SJ, EE."),
    test: str = typer.Option("knha", "--test", help="knha (Knapp-Hartung t) or z."),
    threshold: float = typer.Option(0.0, "--threshold", help="Smallest gain that counts as an improvement."),
    rope: float | None = typer.Option(None, "--rope", help="Half-width of the region of practical equivalence."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    measure: str = typer.Option("MD", "--measure", help="Per-task effect: MD, SMD or ROM."),
    direction: str | None = Direction,
    kind: str = Kind,
    arm_col: str = ArmCol, task_col: str = TaskCol, seed_col: str = SeedCol, metric_col: str = MetricCol,
    value_col: str = ValueCol,
    db: str | None = DbOpt,
    experiment: str | None = ExperimentOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (the result's to_dict())."),
) -> None:
    """Is CANDIDATE really better than BASELINE across tasks? Pooled effect, intervals and a verdict.

    From the registry, ``--db URL --experiment NAME`` compares the experiment's two arms
    (``baseline`` and ``candidate``) with its minimum effect as the threshold.
    """
    from consilience.compare.comparison import compare
    from consilience.errors import InputError

    frame = load_runs(runs, db, experiment)
    if baseline is None or candidate is None:
        if runs is not None or experiment is None or "," in experiment:
            raise InputError("--baseline and --candidate name the arms to compare "
                             "(or use --db with one --experiment).")
        from consilience.registry import Registry
        from consilience.registry.analysis import experiment_arms

        with Registry(db) as reg:
            record = reg.experiment(experiment)
        baseline, candidate = experiment_arms(frame, experiment, record.baseline,
                                              baseline_arm=baseline, candidate_arm=candidate)
        if threshold == 0.0 and record.min_effect is not None:
            threshold = record.min_effect
    res = compare(frame, baseline=baseline, candidate=candidate, metric=metric, method=method,  # type: ignore[arg-type]
                  test=test, threshold=threshold, rope=rope, level=level, measure=measure,  # type: ignore[arg-type]
                  metrics=_metrics(metric, direction, kind), arm_col=arm_col, task_col=task_col,
                  seed_col=seed_col, metric_col=metric_col, value_col=value_col)
    show_result(res, as_json)


@app.command("rank")
@handles_errors
def rank_command(
    runs: Path | None = RunsArg,
    baseline: str = typer.Option(..., "--baseline", help="Reference arm every candidate is compared with."),
    candidates: str | None = typer.Option(None, "--candidates", help="Comma-separated arms (default: all others)."),
    metric: str | None = typer.Option(None, "--metric", help="Metric to rank on (needed when the table has several)."),
    method: str = typer.Option("REML", "--method", help="tau² estimator."),
    test: str = typer.Option("knha", "--test", help="knha or z."),
    threshold: float = typer.Option(0.0, "--threshold", help="Smallest gain that counts as an improvement."),
    rope: float | None = typer.Option(None, "--rope", help="Half-width of the region of practical equivalence."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    direction: str | None = Direction,
    kind: str = Kind,
    arm_col: str = ArmCol, task_col: str = TaskCol, seed_col: str = SeedCol, metric_col: str = MetricCol,
    value_col: str = ValueCol,
    db: str | None = DbOpt,
    experiment: str | None = ExperimentOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Every candidate against BASELINE: effects, Holm/BH-adjusted p-values, most robust first.

    For every registered experiment against its own baseline, see ``consilience leaderboard``.
    """
    from consilience.compare.ranking import rank

    frame = load_runs(runs, db, experiment)
    res = rank(frame, baseline=baseline, candidates=split_list(candidates) or None, metric=metric,
               method=method, test=test, threshold=threshold, rope=rope, level=level,  # type: ignore[arg-type]
               metrics=_metrics(metric, direction, kind), arm_col=arm_col, task_col=task_col,
               seed_col=seed_col, metric_col=metric_col, value_col=value_col)
    show_result(res, as_json)


@app.command("aggregate")
@handles_errors
def aggregate_command(
    runs: Path | None = RunsArg,
    metric: str | None = typer.Option(None, "--metric", help="Metric to aggregate (needed when the table has several)."),
    arms: str | None = typer.Option(None, "--arms", help="Comma-separated arms (default: all)."),
    reps: int = typer.Option(50_000, "--reps", help="Bootstrap replicates."),
    seed: int = typer.Option(0, "--seed", help="Random seed (results are reproducible for a seed)."),
    gamma: float | None = typer.Option(None, "--gamma", help="Optimality-gap target (default 1, or 0 for lower-is-better)."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    direction: str | None = Direction,
    kind: str = Kind,
    arm_col: str = ArmCol, task_col: str = TaskCol, seed_col: str = SeedCol, metric_col: str = MetricCol,
    value_col: str = ValueCol,
    db: str | None = DbOpt,
    experiment: str | None = ExperimentOpt,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Mean, median, IQM and optimality gap per arm with stratified-bootstrap intervals (rliable)."""
    from consilience.compare.aggregates import aggregate

    frame = load_runs(runs, db, experiment)
    res = aggregate(frame, metric=metric, arms=split_list(arms) or None, reps=reps, seed=seed, gamma=gamma,
                    level=level, metrics=_metrics(metric, direction, kind), arm_col=arm_col,
                    task_col=task_col, seed_col=seed_col, metric_col=metric_col,
                    value_col=value_col)
    show_result(res, as_json)
