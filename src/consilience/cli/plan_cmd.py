"""``consilience plan`` (seeds, tasks and evaluation-set size) and ``consilience alerts``.

``plan RUNS`` plans from a pilot runs file; ``plan --experiment NAME`` plans a registered
experiment from the registry (``--apply`` writes the recommendation to it). ``alerts`` lists the
experiments that need attention. The registry is imported only when these commands run.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from consilience.cli.app import app, echo_json, handles_errors, read_table, show_result
from consilience.cli.registry_cmd import Db, Json, _open, _table
from consilience.errors import InputError


def _pilot_plan(
    runs: Path, metric: str, baseline: str, candidate: str, min_effect: float | None,
    power: float, alpha: float, max_seeds: int,
) -> Any:
    from consilience.design.plan import recommend_design

    if min_effect is None:
        raise InputError("planning from a runs file needs --min-effect (the smallest gain "
                         "worth detecting, in metric units), e.g. --min-effect 0.01.")
    pilot = read_table(runs, what="runs")
    if "metric" in pilot.columns:
        found = sorted(map(str, pilot["metric"].dropna().unique()))
        if metric not in found:
            raise InputError(f"runs file '{runs}' has no metric {metric!r}; metrics: {found}. "
                             "Pass --metric.")
        pilot = pilot[pilot["metric"] == metric]
    return recommend_design(pilot, baseline=baseline, candidate=candidate,
                            min_effect=min_effect, power=power, alpha=alpha,
                            max_seeds=max_seeds)


@app.command("plan")
@handles_errors
def plan_command(
    runs: Annotated[
        Path | None,
        typer.Argument(help="Pilot runs (CSV/Parquet/JSON: task, arm, seed, value). "
                       "Leave out with --experiment."),
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", help="Plan this registered experiment.")
    ] = None,
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Write the recommended planned seeds and evaluation-set "
                     "size to the experiment (audited)."),
    ] = False,
    metric: Annotated[str, typer.Option("--metric", help="Metric compared.")] = "accuracy",
    min_effect: Annotated[
        float | None,
        typer.Option("--min-effect", help="Smallest gain worth detecting (default: the "
                     "experiment's min_effect)."),
    ] = None,
    power: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    alpha: Annotated[float, typer.Option("--alpha", help="Type-I error rate.")] = 0.05,
    max_seeds: Annotated[
        int, typer.Option("--max-seeds", help="Most seeds per task considered.")
    ] = 50,
    baseline: Annotated[
        str, typer.Option("--baseline", help="Reference arm in RUNS.")
    ] = "baseline",
    candidate: Annotated[
        str, typer.Option("--candidate", help="Arm under test in RUNS.")
    ] = "candidate",
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Seeds per task, tasks and evaluation-set size needed to detect the smallest gain.

    With --experiment the variances come from the experiment's runs, else from
    its baseline experiment's, else from the registry's other experiments.
    """
    if (runs is None) == (experiment is None):
        raise InputError("pass either a pilot runs file or --experiment NAME (not both).")
    if runs is not None:
        if apply:
            raise InputError("--apply needs --experiment: a runs file has no experiment to "
                             "write the plan to.")
        design = _pilot_plan(runs, metric, baseline, candidate, min_effect, power, alpha,
                             max_seeds)
        show_result(design, as_json)
        return
    assert experiment is not None
    if apply and min_effect is not None:
        raise InputError("--apply uses the experiment's own min_effect; leave out --min-effect "
                         "(or plan without --apply to try another value).")
    from consilience.registry.planning import apply_plan, plan_experiment

    with _open(db) as reg:
        before = reg.experiment(experiment)
        if apply:
            record, plan = apply_plan(reg, experiment, target_power=power, alpha=alpha,
                                      metric=metric, max_seeds=max_seeds)
        else:
            record, plan = before, plan_experiment(
                reg, experiment, target_power=power, alpha=alpha, metric=metric,
                min_effect=min_effect, max_seeds=max_seeds)
    if as_json:
        echo_json({"plan": plan.to_dict(), "applied": apply,
                   "experiment": record.to_dict()})
        return
    typer.echo(str(plan.summary()))
    if apply:
        changes = [
            f"{field} {getattr(before, field)} -> {getattr(record, field)}"
            for field in ("planned_seeds", "planned_n_eval")
        ]
        typer.echo(f"\napplied to {record.name}: " + ", ".join(changes))


@app.command("alerts")
@handles_errors
def alerts_command(
    db: Db = None,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Power below which a design is flagged.")
    ] = 0.8,
    metric: Annotated[str, typer.Option("--metric", help="Metric compared.")] = "accuracy",
    as_json: Json = False,
) -> None:
    """Underpowered planned or running experiments, and inconclusive finished comparisons."""
    from consilience.registry.alerts import alerts

    with _open(db) as reg:
        found = alerts(reg, power_threshold=threshold, metric=metric)
    if as_json:
        echo_json(found.to_dict())
        return
    if len(found):
        shown = found.to_frame()[["experiment", "kind", "power", "fix"]].copy()
        shown["power"] = shown["power"].map(lambda v: "" if math.isnan(v) else f"{v:.2f}")
        typer.echo(_table(shown))
    else:
        typer.echo(f"no alerts: every planned or running experiment has power >= "
                   f"{threshold:g} and no finished comparison on {metric} is inconclusive.")
    for name, reason in found.skipped:
        typer.echo(f"not checked: {name}: {reason}")
