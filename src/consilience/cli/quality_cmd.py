"""Evidence quality: ``consilience quality assess | show | synthesis | flow``, ``consilience
tradeoffs`` and ``consilience predict``.

The registry (and SQLAlchemy) is imported only when a command that reads it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from consilience.cli.app import app, echo_json, handles_errors, read_table, show_result, split_list
from consilience.cli.registry_cmd import Db, Json, _open, _table

quality_app = typer.Typer(
    name="quality",
    no_args_is_help=True,
    help="Risk of bias: fill the checklist, show it, and see the estimate without the doubtful "
    "studies.",
)
app.add_typer(quality_app, name="quality")

Metric = Annotated[str | None, typer.Option("--metric", help="Metric to analyse (default: "
                                            "accuracy, or the protocol's primary metric).")]
Experiments = Annotated[str | None, typer.Option(
    "--experiment", help="Only these experiments (comma-separated).")]


def _pairs(values: list[str] | None, option: str, example: str) -> dict[str, str]:
    from consilience.errors import InputError

    out: dict[str, str] = {}
    for raw in values or []:
        key, eq, value = raw.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise InputError(f"{option} must look like {example}; got {raw!r}.")
        out[key.strip()] = value.strip()
    return out


def _answers(values: list[str] | None) -> dict[str, tuple[str, str | None]]:
    out: dict[str, tuple[str, str | None]] = {}
    for key, value in _pairs(values, "--set", "item=judgement[:note]").items():
        judgement, _, note = value.partition(":")
        out[key] = (judgement.replace("_", " ").strip(), note.strip() or None)
    return out


def _records(frame: pd.DataFrame) -> Any:
    from consilience._results import json_safe

    rows = []
    for rec in frame.to_dict(orient="records"):
        rows.append({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in rec.items()})
    return json_safe(rows)


_SHORT = {"low": "low", "some concerns": "some", "high": "HIGH", "unknown": "?"}


# -- quality assess / show ------------------------------------------------------------------------
@quality_app.command("assess")
@handles_errors
def assess_command(
    experiment: Annotated[str, typer.Argument(help="The experiment to assess.")],
    auto: Annotated[bool, typer.Option(
        "--auto", help="Judge what the registry can (seeds, tuning budgets, evaluation size, "
        "protocol timing, reporting); a person's judgements still win.")] = False,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="ITEM=JUDGEMENT[:NOTE] (repeat). Items: seeds_randomised, "
        "equal_tuning_budget, test_set_untouched, no_leakage, eval_size_adequate, "
        "preregistered, reported. Judgements: low, some_concerns, high, unknown.")] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Fill an experiment's risk-of-bias checklist (without --auto or --set: show it).

    Overall: high if any item is high; unknown if nothing was judged; some concerns if any item
    is some concerns or unknown; low otherwise (docs/risk_of_bias.md).
    """
    from consilience.registry.quality_store import assess, assessment, auto_assess

    answers = _answers(set_)
    with _open(db) as reg:
        if auto:
            auto_assess(reg, experiment)
        result = assess(reg, experiment, answers) if answers else assessment(reg, experiment)
    show_result(result, as_json)


@quality_app.command("show")
@handles_errors
def show_command(
    db: Db = None,
    experiment: Experiments = None,
    as_json: Json = False,
) -> None:
    """The risk-of-bias table: every experiment's items and overall judgement."""
    from consilience.quality.checklist import ITEMS
    from consilience.registry.quality_store import risk_of_bias

    with _open(db) as reg:
        table = risk_of_bias(reg, split_list(experiment) or None)
    if as_json:
        echo_json(_records(table))
        return
    if table.empty:
        typer.echo("No experiments yet.")
        return
    shown = table[["experiment", "status", "overall", *ITEMS]].copy()
    for item in ITEMS:
        shown[item] = shown[item].map(_SHORT)
    shown = shown.rename(columns={item: f"{i + 1}" for i, item in enumerate(ITEMS)})
    typer.echo(_table(shown))
    typer.echo("\n" + "  ".join(f"{i + 1} {item}" for i, item in enumerate(ITEMS)))
    typer.echo("notes: consilience quality assess EXPERIMENT; rule: docs/risk_of_bias.md")


# -- quality synthesis / flow ---------------------------------------------------------------------
@quality_app.command("synthesis")
@handles_errors
def synthesis_command(
    db: Db = None,
    metric: Metric = None,
    protocol: Annotated[str | None, typer.Option(
        "--protocol", help="Apply a locked protocol's inclusion criteria and model.")] = None,
    experiment: Experiments = None,
    quality_weight: Annotated[list[str] | None, typer.Option(
        "--quality-weight", help="LEVEL=WEIGHT in (0, 1] for every risk level present (repeat): "
        "adds a quality-weighted sensitivity analysis.")] = None,
    as_json: Json = False,
) -> None:
    """The estimate from every study beside the low-risk-only estimate, per-risk subgroups and
    the test for subgroup differences, with the inclusion flow."""
    from consilience.errors import InputError
    from consilience.registry.flow import synthesis

    weights: dict[str, float] = {}
    for level, text in _pairs(quality_weight, "--quality-weight", "high=0.25").items():
        try:
            weights[level.replace("_", " ")] = float(text)
        except ValueError:
            raise InputError(f"--quality-weight {level}={text}: the weight must be a number in "
                             "(0, 1].") from None
    with _open(db) as reg:
        result = synthesis(reg, metric=metric, protocol=protocol,
                           experiments=split_list(experiment) or None,
                           quality_weights=weights or None)
    show_result(result, as_json)


@quality_app.command("flow")
@handles_errors
def flow_command(
    protocol: Annotated[str | None, typer.Argument(
        help="A locked protocol (omit: complete runs of both arms of every experiment).")] = None,
    db: Db = None,
    metric: Metric = None,
    experiment: Experiments = None,
    as_json: Json = False,
) -> None:
    """Found, excluded with reasons, analysed: the runs behind an analysis."""
    from consilience.registry.flow import inclusion_flow

    with _open(db) as reg:
        flow = inclusion_flow(reg, protocol, metric=metric,
                              experiments=split_list(experiment) or None)
    if as_json:
        echo_json(flow.to_dict())
    else:
        typer.echo(str(flow))


# -- tradeoffs ------------------------------------------------------------------------------------
@app.command("tradeoffs")
@handles_errors
def tradeoffs_command(
    runs: Annotated[Path | None, typer.Argument(
        help="Runs table (CSV, Parquet or JSON) with every metric; omit it to read the "
        "registry (--db): each experiment against its baseline.")] = None,
    metrics: Annotated[str, typer.Option(
        "--metrics", help="Comma-separated metrics, the primary one first "
        "(e.g. accuracy,train_time_s).")] = "accuracy",
    baseline: Annotated[str | None, typer.Option(
        "--baseline", help="With RUNS: the reference arm; every other arm is a candidate.")] = None,
    margin: Annotated[list[str] | None, typer.Option(
        "--margin", help="METRIC=MARGIN non-inferiority margin of a secondary metric: relative "
        "(train_time_s=+5%) or absolute (accuracy=0.002). Repeat.")] = None,
    direction: Annotated[list[str] | None, typer.Option(
        "--direction", help="METRIC=higher|lower for metrics without a known direction.")] = None,
    db: Db = None,
    experiment: Experiments = None,
    as_json: Json = False,
) -> None:
    """Which candidates gain on the primary metric without a credible regression on the others,
    and the Pareto front."""
    from consilience.compare.metrics import MetricSpec
    from consilience.errors import InputError

    names = split_list(metrics)
    margins = _pairs(margin, "--margin", "train_time_s=+5%")
    specs = {m: MetricSpec(direction=d.lower(), kind="continuous")  # type: ignore[arg-type]
             for m, d in _pairs(direction, "--direction", "latency_ms=lower").items()}
    if runs is not None:
        from consilience.quality.tradeoffs import tradeoffs

        if baseline is None:
            raise InputError("with a runs table, --baseline names the reference arm; pass "
                             "--baseline ARM (every other arm is a candidate).")
        if experiment is not None:
            raise InputError("--experiment selects experiments in the registry; drop RUNS to "
                             "use --db.")
        result = tradeoffs(read_table(runs, what="runs"), baseline=baseline, metrics=names,
                           margins=margins, metric_specs=specs or None)
    else:
        if baseline is not None:
            raise InputError("--baseline goes with a runs table; in the registry each "
                             "experiment is compared with its own baseline.")
        if db is None:
            raise InputError("give a runs file (RUNS --baseline ARM) or a registry (--db URL "
                             "or CONSILIENCE_DB).")
        from consilience.registry.flow import tradeoffs as registry_tradeoffs

        with _open(db) as reg:
            result = registry_tradeoffs(reg, metrics=names, margins=margins,
                                        metric_specs=specs or None,
                                        experiments=split_list(experiment) or None)
    show_result(result, as_json)


# -- predict --------------------------------------------------------------------------------------
@app.command("predict")
@handles_errors
def predict_command(
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="MODERATOR=VALUE of the new setting (repeat): an experiment moderator "
        "(model_family=tree) or n_train=10000 (the task's training-set size).")] = None,
    metric: Metric = None,
    db: Db = None,
    experiment: Experiments = None,
    as_json: Json = False,
) -> None:
    """Expected effect and prediction interval in a new setting, from a meta-regression of the
    registry's per-task effects; says when the setting lies outside the evidence."""
    from consilience.errors import InputError
    from consilience.registry.flow import scenario

    setting: dict[str, Any] = dict(_pairs(set_, "--set", "model_family=tree"))
    if not setting:
        raise InputError("describe the setting with --set MODERATOR=VALUE, e.g. --set "
                         "model_family=tree --set n_train=10000.")
    with _open(db) as reg:
        result = scenario(reg, setting, metric=metric, experiments=split_list(experiment) or None)
    show_result(result, as_json)
