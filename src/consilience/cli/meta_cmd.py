"""``consilience meta``: pool effect sizes from a table (one analysis, by-group batches, subgroups)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from consilience._results import json_safe
from consilience.cli.app import (
    app,
    echo_json,
    format_frame,
    handles_errors,
    read_table,
    require_columns,
    show_result,
    split_list,
)
from consilience.errors import InputError


def _special(frame: Any, yi: str, vi: str, nested: str | None, bayes: bool, tau_prior: str,
             delta: float, level: float, test: str, as_json: bool) -> None:
    """The multilevel (``--nested``) and Bayesian (``--bayes``) models."""
    if nested:
        from consilience.pooling import multilevel_meta_analyze

        if test not in ("z", "t"):
            raise InputError(f"--nested supports --test z or t (metafor rma.mv); got {test!r}.")
        res: Any = multilevel_meta_analyze(frame[yi], frame[vi], frame[split_list(nested)],
                                           level=level, test=test)  # type: ignore[arg-type]
    else:
        from consilience.pooling import bayes_meta_analyze

        res = bayes_meta_analyze(frame[yi], frame[vi], tau_prior=tau_prior, level=level, delta=delta)
    show_result(res, as_json)


@app.command("meta")
@handles_errors
def meta(
    data: Path = typer.Argument(..., help="CSV, Parquet or JSON table, one row per study ('-' for CSV on stdin)."),
    yi: str = typer.Option("yi", "--yi", help="Column of effect sizes."),
    vi: str = typer.Option("vi", "--vi", help="Column of sampling variances (SE², not SE)."),
    method: str = typer.Option("REML", "--method", help="tau² estimator: EE, DL, HE, HS, SJ, ML, REML, EB, PM."),
    test: str = typer.Option("z", "--test", help="z, or knha (Knapp-Hartung)."),
    mods: str | None = typer.Option(None, "--mods", help="Comma-separated moderator columns (meta-regression)."),
    by: str | None = typer.Option(None, "--by", help="Comma-separated grouping columns: one analysis per group."),
    subgroup: str | None = typer.Option(None, "--subgroup", help="Column whose levels get separate estimates and a test of differences."),
    label: str | None = typer.Option(None, "--label", help="Column of study labels for the study table."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    nested: str | None = typer.Option(None, "--nested", help="Comma-separated nesting columns, outer first (e.g. experiment,task): multilevel REML as metafor rma.mv(random = ~ 1 | a/b)."),
    bayes: bool = typer.Option(False, "--bayes", help="Bayesian random-effects pooling (exact posterior by integration over tau)."),
    tau_prior: str = typer.Option("half-normal:0.5", "--tau-prior", help="With --bayes: prior on tau, half-normal:S, half-cauchy:S or uniform:MAX."),
    delta: float = typer.Option(0.0, "--delta", help="With --bayes: also report P(mu > delta)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON (the result's to_dict())."),
) -> None:
    """Random- or fixed-effects meta-analysis of DATA, with metafor-identical numbers."""
    from consilience.pooling import meta_analyze, meta_analyze_many, subgroup_analysis

    frame = read_table(data, what="data")
    named = [("--yi", yi), ("--vi", vi),
             *(("--mods", c) for c in split_list(mods)), *(("--by", c) for c in split_list(by)),
             *(("--nested", c) for c in split_list(nested)),
             *([("--subgroup", subgroup)] if subgroup else []),
             *([("--label", label)] if label else [])]
    require_columns(frame, named, data)
    chosen = [name for name, on in (("--mods", mods), ("--by", by), ("--subgroup", subgroup),
                                    ("--nested", nested), ("--bayes", bayes)) if on]
    if len(chosen) > 1:
        raise InputError(f"use only one of --mods, --by, --subgroup, --nested and --bayes at a time; got {', '.join(chosen)}.")
    if nested or bayes:
        _special(frame, yi, vi, nested, bayes, tau_prior, delta, level, test, as_json)
        return
    if by:
        out = meta_analyze_many(frame, by=split_list(by), yi=yi, vi=vi, method=method, test=test, level=level)  # type: ignore[arg-type]
        if as_json:
            echo_json(json_safe(out))
        else:
            typer.echo(format_frame(out))
        return
    if subgroup:
        sg = subgroup_analysis(frame[yi], frame[vi], frame[subgroup], method=method, test=test, level=level)  # type: ignore[arg-type]
        show_result(sg, as_json)
        return
    res = meta_analyze(frame[yi], frame[vi], method=method, test=test, level=level,  # type: ignore[arg-type]
                       mods=frame[split_list(mods)] if mods else None,
                       labels=frame[label].astype(str) if label else None)
    if as_json:
        echo_json(res.to_dict())
        return
    typer.echo(str(res.summary()))
    typer.echo("")
    typer.echo("Forest-plot numbers")
    typer.echo(format_frame(res.studies()))
