"""``consilience compare | rank | aggregate``: verdicts, leaderboards and aggregates from a runs table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from consilience.cli.app import app, echo_json, handles_errors, read_table, split_list

_RUNS_HELP = "Runs table (CSV, Parquet or JSON; '-' for CSV on stdin): arm, task, seed, metric, value[, n_eval, ...]."


def _metrics(metric: str | None, direction: str | None, kind: str) -> Any:
    if direction is None:
        return None
    from consilience.compare.metrics import MetricSpec
    from consilience.errors import InputError

    if metric is None:
        raise InputError("--direction declares the direction of --metric; pass --metric too.")
    return {metric: MetricSpec(direction=direction, kind=kind)}  # type: ignore[arg-type]


def _print_frame(frame: Any) -> None:
    typer.echo(frame.to_string(index=False, float_format=lambda x: f"{x:.4f}"))


ArmCol = typer.Option("arm", "--arm-col", help="Column naming the arm (model, variant).")
TaskCol = typer.Option("task", "--task-col", help="Column naming the task (data set, benchmark).")
SeedCol = typer.Option("seed", "--seed-col", help="Column naming the seed (run).")
MetricCol = typer.Option("metric", "--metric-col", help="Column naming the metric.")
ValueCol = typer.Option("value", "--value-col", help="Column holding the metric's value.")
Direction = typer.Option(None, "--direction", help="Declare the metric's direction: higher or lower (for names without a default).")
Kind = typer.Option("continuous", "--kind", help="With --direction: proportion, bounded or continuous.")


@app.command("compare")
@handles_errors
def compare_command(
    runs: Annotated[Path, typer.Argument(help=_RUNS_HELP)],
    baseline: str = typer.Option(..., "--baseline", help="Reference arm."),
    candidate: str = typer.Option(..., "--candidate", help="Arm under test."),
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
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (the result's to_dict())."),
) -> None:
    """Is CANDIDATE really better than BASELINE across tasks? Pooled effect, intervals and a verdict."""
    from consilience.compare.comparison import compare

    frame = read_table(runs, what="runs")
    res = compare(frame, baseline=baseline, candidate=candidate, metric=metric, method=method,  # type: ignore[arg-type]
                  test=test, threshold=threshold, rope=rope, level=level, measure=measure,  # type: ignore[arg-type]
                  metrics=_metrics(metric, direction, kind), arm_col=arm_col, task_col=task_col,
                  seed_col=seed_col, metric_col=metric_col, value_col=value_col)
    if as_json:
        echo_json(res.to_dict())
    else:
        typer.echo(str(res.summary()))


@app.command("rank")
@handles_errors
def rank_command(
    runs: Annotated[Path, typer.Argument(help=_RUNS_HELP)],
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
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Every candidate against BASELINE: effects, Holm/BH-adjusted p-values, most robust first."""
    from consilience.compare.ranking import rank

    frame = read_table(runs, what="runs")
    res = rank(frame, baseline=baseline, candidates=split_list(candidates) or None, metric=metric,
               method=method, test=test, threshold=threshold, rope=rope, level=level,  # type: ignore[arg-type]
               metrics=_metrics(metric, direction, kind), arm_col=arm_col, task_col=task_col,
                  seed_col=seed_col, metric_col=metric_col, value_col=value_col)
    if as_json:
        echo_json(res.to_dict())
    else:
        typer.echo(str(res.summary()))


@app.command("aggregate")
@handles_errors
def aggregate_command(
    runs: Annotated[Path, typer.Argument(help=_RUNS_HELP)],
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
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Mean, median, IQM and optimality gap per arm with stratified-bootstrap intervals (rliable)."""
    from consilience.compare.aggregates import aggregate

    frame = read_table(runs, what="runs")
    res = aggregate(frame, metric=metric, arms=split_list(arms) or None, reps=reps, seed=seed, gamma=gamma,
                    level=level, metrics=_metrics(metric, direction, kind),
                    arm_col=arm_col, task_col=task_col,
                  seed_col=seed_col, metric_col=metric_col, value_col=value_col)
    if as_json:
        echo_json(res.to_dict())
        return
    typer.echo(str(res.summary()))
