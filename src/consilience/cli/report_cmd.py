"""``consilience report``: one self-contained HTML file (or Markdown for a pull request).

From a runs file, every arm is ranked against ``--baseline`` (as ``consilience rank``); from the
registry (``--db``), every experiment is compared with its own baseline (the leaderboard), with
the living analyses of locked protocols and the chain of baselines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from consilience.cli.app import app, handles_errors
from consilience.cli.registry_cmd import Db
from consilience.errors import InputError

__all__ = ["report_command"]


@app.command("report")
@handles_errors
def report_command(
    runs: Annotated[
        Path | None,
        typer.Argument(help="Runs table (CSV, Parquet or JSON). Without it, report on the "
                            "registry (--db)."),
    ] = None,
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="Report file: .html (self-contained) or .md "
                                            "(Markdown for a pull request)."),
    ] = Path("report.html"),
    db: Db = None,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="Runs: the arm every candidate is ranked against. "
                                        "Registry: report only experiments measured against it."),
    ] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="Metric to compare on.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the report.")] = None,
    method: Annotated[str, typer.Option("--method", help="tau² estimator.")] = "REML",
    test: Annotated[str, typer.Option("--test", help="'knha' or 'z'.")] = "knha",
    level: Annotated[float, typer.Option("--level", help="Confidence level, percent or "
                                                         "fraction.")] = 95.0,
    threshold: Annotated[float, typer.Option("--threshold", help="Runs: smallest gain that "
                                                                 "counts.")] = 0.0,
    rope: Annotated[float | None, typer.Option("--rope", help="Half-width of the region of "
                                                              "practical equivalence.")] = None,
    max_figures: Annotated[int, typer.Option("--max-figures", help="Forest and funnel plots "
                                                                   "for this many candidates.")] = 6,
) -> None:
    """Write the evidence report: executive summary, methods, tables and figures."""
    from consilience.report.document import build_report

    suffix = output.suffix.lower()
    if suffix not in (".html", ".htm", ".md", ".markdown"):
        raise InputError(f"-o {output}: the report file must end in .html or .md (the format "
                         f"follows the suffix); got {suffix or 'no suffix'!r}.")
    options = {"baseline": baseline, "metric": metric, "title": title, "method": method, "test": test,
                   "level": level, "rope": rope, "max_figures": max_figures}
    if runs is not None:
        if str(runs) != "-" and not runs.exists():
            raise InputError(f"runs file '{runs}' does not exist. Check the path, or omit it to "
                             f"report on the registry (--db).")
        report = build_report(runs, threshold=threshold, **options)  # type: ignore[arg-type]
    else:
        from consilience.registry import Registry

        with Registry(db) as reg:
            report = build_report(reg, **options)  # type: ignore[arg-type]
    written = report.write(output)
    figures = sum(1 for f in report.figures() if f.available)
    typer.echo(f"report written to {written} ({len(report.summary.findings)} comparisons, "
               f"{figures} figures)")
