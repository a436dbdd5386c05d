"""``consilience bias`` and ``consilience sensitivity``: robustness diagnostics of one meta-analysis."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from consilience._results import json_safe
from consilience.cli.app import (
    app,
    echo_json,
    format_frame,
    handles_errors,
    read_table,
    require_columns,
)

DataArg = Annotated[Path, typer.Argument(help="CSV, Parquet or JSON table, one row per study ('-' for CSV on stdin).")]
YiOpt = Annotated[str, typer.Option("--yi", help="Column of effect sizes.")]
ViOpt = Annotated[str, typer.Option("--vi", help="Column of sampling variances (SE², not SE).")]
MethodOpt = Annotated[str, typer.Option("--method", help="tau² estimator: EE, DL, HE, HS, SJ, ML, REML, EB, PM.")]
TestOpt = Annotated[str, typer.Option("--test", help="z, or knha (Knapp-Hartung).")]
LevelOpt = Annotated[float, typer.Option("--level", help="Confidence level in percent.")]
LabelOpt = Annotated[str | None, typer.Option("--label", help="Column of study labels.")]


def _load(data: Path, yi: str, vi: str, label: str | None, order_col: str | None = None) -> pd.DataFrame:
    frame = read_table(data, what="data")
    require_columns(frame, [("--yi", yi), ("--vi", vi), *([("--label", label)] if label else []),
                            *([("--order-col", order_col)] if order_col else [])], data)
    return frame


def _fit(frame: pd.DataFrame, yi: str, vi: str, label: str | None, method: str, test: str, level: float) -> Any:
    from consilience.pooling import meta_analyze

    labels = frame[label].astype(str) if label else None
    return meta_analyze(frame[yi], frame[vi], method=method, test=test,  # type: ignore[arg-type]
                        level=level, labels=labels)


def _table(title: str, frame: pd.DataFrame) -> None:
    typer.echo(title)
    typer.echo(format_frame(frame))
    typer.echo("")


@app.command("bias")
@handles_errors
def bias(
    data: DataArg,
    yi: YiOpt = "yi",
    vi: ViOpt = "vi",
    method: MethodOpt = "REML",
    test: TestOpt = "z",
    level: LevelOpt = 95.0,
    label: LabelOpt = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help='Print {"egger": ..., "begg": ..., "trimfill": ...}.')] = False,
) -> None:
    """Publication-bias diagnostics of DATA: Egger's test, Begg's test and trim-and-fill (k >= 3)."""
    from consilience.diagnostics import begg_test, egger_test, trim_and_fill

    frame = _load(data, yi, vi, label)
    res = _fit(frame, yi, vi, label, method, test, level)
    egger, begg, tf = egger_test(res), begg_test(res), trim_and_fill(res)
    if as_json:
        echo_json({"egger": egger.to_dict(), "begg": begg.to_dict(), "trimfill": tf.to_dict()})
        return
    for part in (egger, begg, tf):
        typer.echo(str(part.summary()))
        typer.echo("")


@app.command("sensitivity")
@handles_errors
def sensitivity(
    data: DataArg,
    yi: YiOpt = "yi",
    vi: ViOpt = "vi",
    method: MethodOpt = "REML",
    test: TestOpt = "z",
    level: LevelOpt = 95.0,
    label: LabelOpt = None,
    order_col: Annotated[str | None, typer.Option(
        "--order-col", help="Column of sort keys (e.g. date) for the cumulative analysis.")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help='Print {"leave_one_out": [...], "influence": [...], "cumulative": [...]}.')] = False,
) -> None:
    """Sensitivity of DATA's pooled effect: leave-one-out, influence diagnostics, cumulative analysis.

    Leave-one-out and influence rows follow the rows of DATA; cumulative rows follow the order in which
    studies are added (--order-col, else the rows of DATA). Rows with a missing yi or vi are dropped.
    """
    from consilience.diagnostics import cumulative, influence, leave_one_out

    frame = _load(data, yi, vi, label, order_col)
    res = _fit(frame, yi, vi, label, method, test, level)
    order = None
    if order_col:
        used = (pd.to_numeric(frame[yi], errors="coerce").notna() & pd.to_numeric(frame[vi], errors="coerce").notna())
        order = frame.loc[used.to_numpy(), order_col].to_numpy()
    loo, infl, cum = leave_one_out(res), influence(res), cumulative(res, order)
    frames = {"leave_one_out": loo.to_frame(), "influence": infl.to_frame(), "cumulative": cum.to_frame()}
    if as_json:
        echo_json({name: json_safe(part) for name, part in frames.items()})
        return
    for title, part in (("Leave-one-out", frames["leave_one_out"]),
                        ("Influence diagnostics", frames["influence"]),
                        ("Cumulative meta-analysis", frames["cumulative"])):
        _table(f"{title} ({res.method}, test={res.test})", part)
    flagged = [s for s, f in zip(infl.study, np.asarray(infl.influential)) if f]
    typer.echo(f"Influential studies (metafor's rule): {', '.join(flagged) if flagged else 'none'}")
