"""``consilience update`` (the living analysis) and ``consilience leaderboard``."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from consilience.cli.app import app, echo_json, handles_errors, split_list
from consilience.cli.registry_cmd import Db, Json, _open, _table


@app.command("update")
@handles_errors
def update_command(
    db: Db = None,
    protocol: Annotated[
        str | None,
        typer.Option("--protocol", help="Comma-separated protocols (default: every locked one)."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Recompute every locked protocol's pooled estimate and store a snapshot when runs changed.

    Run it after each import (or from a scheduler): the snapshots are the history of each
    estimate, shown by ``consilience protocol show NAME`` and the dashboard.
    """
    from consilience.registry.analysis import update

    with _open(db) as reg:
        results = update(reg, split_list(protocol) or None)
    if as_json:
        echo_json([r.to_dict() for r in results])
        return
    if not results:
        typer.echo("no locked protocols; lock one with: consilience protocol lock PROTOCOL.yaml")
        return
    for r in results:
        typer.echo(f"{r.protocol}: {r.status}" + (f" - {r.message}" if r.message else ""))


@app.command("leaderboard")
@handles_errors
def leaderboard_command(
    db: Db = None,
    metric: Annotated[str, typer.Option("--metric", help="Metric to compare on.")] = "accuracy",
    rope: Annotated[
        float | None, typer.Option("--rope", help="Half-width of the region of equivalence.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Every registered experiment against its own baseline, most robust first (Holm/BH p)."""
    from consilience.registry.analysis import leaderboard

    with _open(db) as reg:
        table = leaderboard(reg, metric=metric, rope=rope)
    if as_json:
        from consilience._results import json_safe

        echo_json(json_safe(table))
        return
    cols = ["experiment", "baseline", "status", "k", "estimate", "ci_low", "ci_high", "i2",
            "p_holm", "prob_better", "verdict"]
    shown = table[cols].copy()
    formats = {"estimate": "{:+.4f}", "ci_low": "{:+.4f}", "ci_high": "{:+.4f}",
               "prob_better": "{:.3f}", "i2": "{:.1f}", "p_holm": "{:.2g}"}
    for col, fmt in formats.items():
        shown[col] = [fmt.format(v) if pd.notna(v) else "" for v in shown[col]]
    typer.echo(_table(shown))
