"""``consilience effects``: append effect sizes (``yi``) and sampling variances (``vi``) to a table.

Example::

    consilience effects runs.csv --measure SMD --m1i acc_new --sd1i sd_new --n1i seeds \\
        --m2i acc_base --sd2i sd_base --n2i seeds -o effects.csv
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from consilience.cli.app import app, handles_errors, read_table
from consilience.effects import MEASURES, effect_sizes

__all__ = ["effects"]

_MEASURE_HELP = "Effect-size measure: " + ", ".join(MEASURES) + "."


def _column(help_text: str) -> Any:
    return typer.Option(help=f"Column holding {help_text}.", show_default=False)


@app.command("effects")
@handles_errors
def effects(
    data: Annotated[
        Path, typer.Argument(help="Input table (CSV, Parquet or JSON; '-' for stdin).")
    ],
    measure: Annotated[str, typer.Option("--measure", "-m", help=_MEASURE_HELP)],
    ai: Annotated[str | None, _column("events in group 1")] = None,
    bi: Annotated[str | None, _column("non-events in group 1")] = None,
    ci: Annotated[str | None, _column("events in group 2")] = None,
    di: Annotated[str | None, _column("non-events in group 2")] = None,
    n1i: Annotated[str | None, _column("the size of group 1")] = None,
    n2i: Annotated[str | None, _column("the size of group 2")] = None,
    m1i: Annotated[str | None, _column("the mean of group 1 (first measurement)")] = None,
    sd1i: Annotated[str | None, _column("the SD of group 1 (first measurement)")] = None,
    m2i: Annotated[str | None, _column("the mean of group 2 (second measurement)")] = None,
    sd2i: Annotated[str | None, _column("the SD of group 2 (second measurement)")] = None,
    xi: Annotated[str | None, _column("events (single-group proportions)")] = None,
    mi: Annotated[str | None, _column("non-events (single-group proportions)")] = None,
    ni: Annotated[
        str | None, _column("the sample size (proportions, correlations, paired)")
    ] = None,
    ri: Annotated[str | None, _column("the correlation (COR, ZCOR, MC, SMCC)")] = None,
    add: Annotated[
        float, typer.Option(help="Amount added to the cells of studies selected by --to.")
    ] = 0.5,
    to: Annotated[
        str, typer.Option(help="Studies that get --add: only0, all, if0all or none.")
    ] = "only0",
    drop00: Annotated[
        bool,
        typer.Option(
            "--drop00", help="Give double-zero 2x2 studies empty yi/vi instead of correcting them."
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the CSV here instead of to stdout."),
    ] = None,
) -> None:
    """Print the input rows with yi (effect size) and vi (sampling variance) appended, as CSV.

    Name the input columns with the options of metafor's escalc.
    MD, SMD, ROM: --m1i --sd1i --n1i --m2i --sd2i --n2i.
    RD, RR, OR: --ai --ci and --bi or --n1i, --di or --n2i.
    PR, PLO: --xi and --ni or --mi.
    COR, ZCOR: --ri --ni.
    MC, SMCC: --m1i --m2i --sd1i --sd2i --ni --ri.

    Rows whose effect is undefined (e.g. ROM with a mean <= 0) get empty yi and vi.
    Bad input exits with code 2 and a message on stderr.
    """
    frame = read_table(data, what="data")
    result = effect_sizes(
        measure,
        ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, m1i=m1i, sd1i=sd1i, m2i=m2i, sd2i=sd2i,
        xi=xi, mi=mi, ni=ni, ri=ri,
        data=frame,
        add=add,
        to=to,  # type: ignore[arg-type]  # effect_sizes checks it and names the options
        drop00=drop00,
    )  # fmt: skip
    text = result.to_csv(index=False)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
