"""``consilience curve`` and ``consilience value``: learning-curve extrapolation and the value of data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from consilience._results import json_safe
from consilience.cli.app import app, echo_json, handles_errors, read_table, split_list
from consilience.curves import FAMILY_NAMES, CurveFit, LearningCurve, data_value, value_of_options
from consilience.curves.options import check_candidates
from consilience.errors import InputError

SizeCol = Annotated[str, typer.Option("--size-col", help="Column with the training-set size of each row.")]
ScoreCol = Annotated[str, typer.Option("--score-col", help="Column with the score measured at that size.")]
SeedCol = Annotated[str | None, typer.Option("--seed-col", help="Column with the seed or split of each row.")]
Direction = Annotated[str, typer.Option("--direction", help="'higher' (accuracy) or 'lower' (log-loss) is better.")]
Perfect = Annotated[float | None, typer.Option("--perfect-score", help="Score of a perfect model (default 1 or 0).")]
Worst = Annotated[float | None, typer.Option("--worst-score", help="Worst possible score; predictions stay within it.")]
Method = Annotated[str, typer.Option("--method", help="'ensemble' of the best families or 'select' the best one.")]
NBoot = Annotated[int, typer.Option("--n-boot", help="Bootstrap replicates for the intervals.")]
Level = Annotated[float, typer.Option("--level", help="Confidence level, percent or fraction.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")]
Band = Annotated[str, typer.Option("--band", help="'calibrated' (bootstrap percentiles widened by factors "
                                                  "calibrated on held-out LCDB curves) or 'bootstrap' (plain "
                                                  "percentiles, which undercover far from the data).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Families = Annotated[str | None, typer.Option("--families", help="Families to consider, comma-separated "
                                                                 "(default: all).")]


def _fit(path: Path, size_col: str, score_col: str, seed_col: str | None, direction: str,
         perfect_score: float | None, worst_score: float | None, method: str, n_boot: int, level: float,
         seed: int, families: str | None, band: str = "calibrated") -> CurveFit:
    names = tuple(split_list(families)) or FAMILY_NAMES
    estimator = LearningCurve(families=names, method=method, direction=direction,  # type: ignore[arg-type]
                              perfect_score=perfect_score, worst_score=worst_score, n_boot=n_boot, level=level,
                              seed=seed, band=band)  # type: ignore[arg-type]
    frame = read_table(path, what="curves")
    return estimator.fit_frame(frame, size_col=size_col, score_col=score_col, seed_col=seed_col)


def _curve_payload(fit: CurveFit, target_size: float) -> dict[str, Any]:
    prediction = fit.predict_at(target_size)
    by_family = {f.family: f for f in fit.fits}
    return {
        "chosen": list(fit.chosen),
        "method": fit.method,
        "weights": dict(zip(fit.chosen, fit.weights)),
        "parameters": {n: dict(zip(by_family[n].param_names, by_family[n].params)) for n in fit.chosen},
        "scale": fit.scale,
        "prediction": {"size": target_size, "estimate": prediction.estimate, "ci_low": prediction.ci_low,
                       "ci_high": prediction.ci_high, "level": prediction.level},
        "families": json_safe(fit.to_frame()[["family", "status", "reason", "holdout_rmse", "holdout_reason",
                                              "rmse", "weight", "chosen", "params"]]),
        "flags": dict(fit.flags),
        "provenance": fit.provenance.to_dict(),
    }


@app.command("curve")
@handles_errors
def curve(
    curves: Annotated[Path, typer.Argument(help="Table of (size, score[, seed]) rows: CSV, Parquet or JSON.")],
    target_size: Annotated[float, typer.Option("--target-size", help="Training-set size to predict at.")],
    size_col: SizeCol = "size_train",
    score_col: ScoreCol = "score",
    seed_col: SeedCol = None,
    direction: Direction = "higher",
    perfect_score: Perfect = None,
    worst_score: Worst = None,
    method: Method = "ensemble",
    n_boot: NBoot = 200,
    level: Level = 95.0,
    seed: Seed = 0,
    families: Families = None,
    band: Band = "calibrated",
    as_json: AsJson = False,
) -> None:
    """Extrapolate a learning curve: chosen family, parameters, prediction at --target-size."""
    if not target_size > 1:
        raise InputError(f"--target-size must be a training-set size > 1; got {target_size:g}. "
                         f"Pass a number of labelled examples.")
    fit = _fit(curves, size_col, score_col, seed_col, direction, perfect_score, worst_score, method, n_boot,
               level, seed, families, band)
    payload = _curve_payload(fit, target_size)
    if as_json:
        echo_json(json_safe(payload))
        return
    p = payload["prediction"]
    typer.echo(str(fit.summary()))
    typer.echo("")
    typer.echo(f"Predicted score at size {target_size:g}: {p['estimate']:.4f} "
               f"[{p['ci_low']:.4f}, {p['ci_high']:.4f}] ({100 * p['level']:g}% "
               f"{'calibrated bootstrap' if fit.band == 'calibrated' else 'bootstrap percentile'} interval)")


@app.command("value")
@handles_errors
def value(
    curves: Annotated[Path, typer.Argument(help="Table of (size, score[, seed]) rows: CSV, Parquet or JSON.")],
    label_cost: Annotated[float, typer.Option("--label-cost", help="USD per labelled example.")],
    candidates: Annotated[Path, typer.Option("--candidates",
                                             help="Table with columns name, effect, ci_low, ci_high, cost_usd.")],
    budgets: Annotated[str | None, typer.Option("--budgets", help="Labelling budgets in USD, comma-separated "
                                                                  "(default: the candidates' costs).")] = None,
    target_score: Annotated[float | None, typer.Option("--target-score", help="Score to reach.")] = None,
    min_gain_per_usd: Annotated[float | None, typer.Option("--min-gain-per-usd",
                                                           help="Gain per USD below which labels stop paying.")] = None,
    size_col: SizeCol = "size_train",
    score_col: ScoreCol = "score",
    seed_col: SeedCol = None,
    direction: Direction = "higher",
    perfect_score: Perfect = None,
    worst_score: Worst = None,
    method: Method = "ensemble",
    n_boot: NBoot = 200,
    level: Level = 95.0,
    seed: Seed = 0,
    families: Families = None,
    band: Band = "calibrated",
    as_json: AsJson = False,
) -> None:
    """Labels or model changes: expected gain per USD of labelling budgets and candidate changes."""
    try:
        budget_list = [float(b) for b in split_list(budgets)] or None
    except ValueError as exc:
        raise InputError(f"--budgets must be numbers in USD separated by commas; got {budgets!r}. "
                         f"Example: --budgets 500,2000") from exc
    if not label_cost > 0:
        raise InputError(f"--label-cost must be a positive number of USD per labelled example; got {label_cost:g}.")
    cand = check_candidates(read_table(candidates, what="candidates"))
    fit = _fit(curves, size_col, score_col, seed_col, direction, perfect_score, worst_score, method, n_boot,
               level, seed, families, band)
    options = value_of_options(fit, label_cost, cand, budgets=budget_list, seed=seed)
    worth = data_value(fit, label_cost=label_cost, target_score=target_score, min_gain_per_usd=min_gain_per_usd)
    if as_json:
        echo_json(json_safe({"options": options.to_dict(), "data_value": worth.to_dict(),
                             "curve": {"chosen": list(fit.chosen), "weights": list(fit.weights),
                                       "flags": dict(fit.flags)}}))
        return
    typer.echo(str(options.summary()))
    typer.echo("")
    typer.echo(str(worth.summary()))
    if fit.flags:
        typer.echo("")
        typer.echo("Curve flags: " + "; ".join(f"{k}: {v}" for k, v in fit.flags.items()))
