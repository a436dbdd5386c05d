"""``consilience batch``: one analysis per group of a large table, locally or on a Dask cluster."""

from __future__ import annotations

from pathlib import Path

import typer

from consilience._results import json_safe
from consilience.cli.app import app, echo_json, format_frame, handles_errors, read_table, split_list
from consilience.errors import InputError

_WRITERS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@app.command("batch")
@handles_errors
def batch_command(
    runs: Path | None = typer.Argument(  # noqa: B008
        None, help="CSV or Parquet table (a Parquet directory or glob with --engine dask); "
        "omit it to read the runs of the registry (--db)."),
    by: str = typer.Option(
        ..., "--by", help="Comma-separated grouping columns: one analysis per group."),
    analysis: str = typer.Option(
        "meta", "--analysis", help="meta (yi/vi per row) or compare (a runs table)."),
    engine: str = typer.Option(
        "local", "--engine", help="local (this process) or dask (a Dask cluster)."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."),
    npartitions: int | None = typer.Option(
        None, "--npartitions", help="Dask partitions after the shuffle on --by."),
    output: Path | None = typer.Option(  # noqa: B008
        None, "-o", "--output", help="Write the result to OUT.parquet or OUT.csv."),
    yi: str = typer.Option("yi", "--yi", help="meta: column of effect sizes."),
    vi: str = typer.Option("vi", "--vi", help="meta: column of sampling variances (SE², not SE)."),
    method: str = typer.Option(
        "REML", "--method", help="tau² estimator: EE, DL, HE, HS, SJ, ML, REML, EB, PM."),
    test: str | None = typer.Option(
        None, "--test", help="z or knha (default z for meta, knha for compare)."),
    level: float = typer.Option(95.0, "--level", help="Confidence level in percent."),
    backend: str | None = typer.Option(
        None, "--backend", help="meta, REML: estimate tau² on torch or cupy (a GPU), numpy or "
        "array-api-strict, through the array-API kernel (needs array-api-compat)."),
    baseline: str | None = typer.Option(None, "--baseline", help="compare: the reference arm."),
    candidate: str | None = typer.Option(None, "--candidate", help="compare: the arm under test."),
    metric: str | None = typer.Option(
        None, "--metric", help="compare: the metric (if the table has several)."),
    db: str | None = typer.Option(
        None, "--db", envvar="CONSILIENCE_DB",
        help="Read the runs from this registry instead of RUNS (with --analysis compare)."),
    experiment: str | None = typer.Option(
        None, "--experiment", help="With --db: only these experiments (comma-separated)."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON records."),
) -> None:
    """Run one meta-analysis or comparison per group of RUNS (rows sorted by the group keys)."""
    from consilience.scale import batch

    if output is not None and output.suffix.lower() not in _WRITERS:
        raise InputError(f"cannot write '{output}': give a .parquet or .csv file name to -o.")
    by_cols = split_list(by)
    if not by_cols:
        raise InputError(f"--by must name at least one column; got {by!r}. Pass the grouping "
                         f"columns, e.g. --by experiment,metric.")
    if runs is None or experiment is not None:
        from consilience.cli.compare_cmd import load_runs

        data: object = load_runs(runs, db, experiment)
    elif engine == "dask":
        data = str(runs)  # the workers read the file themselves
    else:
        data = read_table(runs, what="runs")
    out = batch(data, by=by_cols, analysis=analysis,  # type: ignore[arg-type]
                engine=engine, scheduler=scheduler,  # type: ignore[arg-type]
                npartitions=npartitions, yi=yi, vi=vi, method=method,
                test=test, level=level, backend=backend, baseline=baseline,  # type: ignore[arg-type]
                candidate=candidate, metric=metric)
    if output is not None:
        if _WRITERS[output.suffix.lower()] == "parquet":
            out.to_parquet(output, index=False)
        else:
            out.to_csv(output, index=False)
    if as_json:
        echo_json(json_safe(out))
    elif output is not None:
        typer.echo(f"wrote {len(out)} row(s), {out.shape[1]} columns, to {output}")
    else:
        typer.echo(format_frame(out))
