"""Registry commands: ``init``, ``import``, ``experiments``, ``experiment``, ``log``, ``protocol``.

Every command takes ``--db URL`` (a SQLAlchemy URL or a SQLite file path); without it the
registry named by ``CONSILIENCE_DB`` is used, else ``./consilience.db`` in the working directory.
The registry package (and SQLAlchemy) is imported only when one of these commands runs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer

from consilience.cli.app import app, echo_json, handles_errors

if TYPE_CHECKING:
    from consilience.registry import ImportReport, Registry
    from consilience.registry.importers import RunMapping

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="CONSILIENCE_DB",
        show_envvar=True,
        help="Registry: a database URL (postgresql+psycopg://...) or a SQLite file. "
        "Default: ./consilience.db in the working directory.",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Source = Annotated[
    str | None,
    typer.Option(
        "--source", help="Source name of the rows; a run is identified by source + external id."
    ),
]

import_app = typer.Typer(
    name="import",
    no_args_is_help=True,
    help="Import runs into the registry: one transaction per import, safe to repeat.",
)
experiment_app = typer.Typer(
    name="experiment", no_args_is_help=True, help="Register experiments and record decisions."
)
protocol_app = typer.Typer(
    name="protocol",
    no_args_is_help=True,
    help="Pre-register analyses: lock, show and diff protocols.",
)
app.add_typer(import_app, name="import")
app.add_typer(experiment_app, name="experiment")
app.add_typer(protocol_app, name="protocol")


def _open(db: str | None, *, create: bool = False) -> Registry:
    from consilience.registry import Registry

    return Registry(db, create=create)


def _table(frame: pd.DataFrame) -> str:
    cells = [[str(c) for c in frame.columns]]
    for row in frame.itertuples(index=False):
        cells.append(
            ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in row]
        )
    widths = [max(len(r[j]) for r in cells) for j in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def _report(report: ImportReport, as_json: bool) -> None:
    if as_json:
        echo_json(report.to_dict())
    else:
        typer.echo(f"imported {report}")


# -- init ---------------------------------------------------------------------------------------
@app.command("init")
@handles_errors
def init_command(
    db: Db = None,
    new_token: Annotated[
        bool, typer.Option("--new-token", help="Issue another dashboard write token.")
    ] = False,
    example: Annotated[
        bool,
        typer.Option(
            "--example",
            help="Fill the new registry with the bundled example: a year of model changes on "
            "real LCDB runs, with a locked protocol.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --example: replace an existing SQLite file.")
    ] = False,
    as_json: Json = False,
) -> None:
    """Create the registry (or upgrade its schema) and print where it lives.

    The first run also creates a write token for the dashboard; it is printed once and stored
    only as its SHA-256.
    """
    if example:
        from consilience.registry.example import build_example_registry

        reg = build_example_registry(db, overwrite=force)
    else:
        reg = _open(db, create=True)
    with reg:
        token = reg.create_token() if new_token or not reg.has_token() else None
        if as_json:
            echo_json(
                {
                    "location": reg.location,
                    "created": reg.created,
                    "schema_revision": reg.schema_revision,
                    "token": token,
                }
            )
            return
        verb = "created" if reg.created else "up to date:"
        typer.echo(f"registry {verb} {reg.location} (schema {reg.schema_revision})")
        if token:
            typer.echo(f"dashboard write token (shown once, stored hashed): {token}")


# -- import -------------------------------------------------------------------------------------
def _import_file(path: Path, fmt: str, db: str | None, source: str | None, as_json: bool) -> None:
    from consilience.registry.importers import import_table
    from consilience.registry.progress import terminal_progress

    with _open(db) as reg:
        if fmt == "json" and path.suffix.lower() in (".jsonl", ".ndjson"):
            fmt = "jsonl"
        report = import_table(
            reg, path, format=fmt, source=source or "table", progress=terminal_progress(path.name)
        )
    _report(report, as_json)


@import_app.command("csv")
@handles_errors
def import_csv(
    path: Annotated[Path, typer.Argument(help="Long-format runs table (.csv).")],
    db: Db = None,
    source: Source = None,
    as_json: Json = False,
) -> None:
    """Import a CSV runs table (experiment, arm, task, seed, metric, value, ...)."""
    _import_file(path, "csv", db, source, as_json)


@import_app.command("parquet")
@handles_errors
def import_parquet(
    path: Annotated[Path, typer.Argument(help="Long-format runs table (.parquet).")],
    db: Db = None,
    source: Source = None,
    as_json: Json = False,
) -> None:
    """Import a Parquet runs table."""
    _import_file(path, "parquet", db, source, as_json)


@import_app.command("json")
@handles_errors
def import_json(
    path: Annotated[Path, typer.Argument(help="A JSON list of runs, or JSON Lines.")],
    db: Db = None,
    source: Source = None,
    as_json: Json = False,
) -> None:
    """Import runs from JSON (a list of objects) or JSON Lines (.jsonl)."""
    _import_file(path, "json", db, source, as_json)


def _mapping(
    experiment: str,
    arm: str,
    task: str,
    seed: str,
    metric: list[str] | None,
    n_eval: str | None,
    gpu_hours: str | None,
    usd: str | None,
) -> RunMapping:
    from consilience.registry.importers import RunMapping

    return RunMapping(
        experiment=experiment,
        arm=arm,
        task=task,
        seed=seed if seed.lower() != "none" else None,
        metrics=tuple(metric or ()),
        n_eval=n_eval,
        cost_gpu_hours=gpu_hours,
        cost_usd=usd,
    )


Metric = Annotated[
    list[str] | None,
    typer.Option(
        "--metric", help="Metric key to import (repeat for several). Default: every metric."
    ),
]
NEval = Annotated[str | None, typer.Option("--n-eval-from", help="Field holding n_eval.")]
GpuHours = Annotated[
    str | None, typer.Option("--cost-gpu-hours-from", help="Field holding GPU hours.")
]
Usd = Annotated[str | None, typer.Option("--cost-usd-from", help="Field holding the cost in USD.")]
ExperimentFrom = Annotated[
    str, typer.Option("--experiment-from", help="Field naming the registry experiment.")
]
ArmFrom = Annotated[str, typer.Option("--arm-from", help="Field naming the arm.")]
TaskFrom = Annotated[str, typer.Option("--task-from", help="Field naming the task.")]
SeedFrom = Annotated[
    str, typer.Option("--seed-from", help="Field holding the seed ('none' if runs have none).")
]


@import_app.command("mlflow")
@handles_errors
def import_mlflow_command(
    tracking_uri: Annotated[
        str,
        typer.Argument(help="sqlite:///mlflow.db, a file-store directory, or http://host:5000."),
    ],
    experiment_from: ExperimentFrom = "experiment_name",
    arm_from: ArmFrom = "params.arm",
    task_from: TaskFrom = "params.task",
    seed_from: SeedFrom = "params.seed",
    metric: Metric = None,
    n_eval_from: NEval = None,
    cost_gpu_hours_from: GpuHours = None,
    cost_usd_from: Usd = None,
    mlflow_experiment: Annotated[
        list[str] | None,
        typer.Option(
            "--mlflow-experiment", help="MLflow experiment to read (repeat). Default: all."
        ),
    ] = None,
    db: Db = None,
    source: Source = None,
    as_json: Json = False,
) -> None:
    """Import runs from an MLflow tracking store.

    Fields: params.KEY, tags.KEY, metrics.KEY, experiment_name, run_name, run_id, =VALUE.
    """
    from consilience.registry.importers import import_mlflow
    from consilience.registry.progress import terminal_progress

    mapping = _mapping(
        experiment_from,
        arm_from,
        task_from,
        seed_from,
        metric,
        n_eval_from,
        cost_gpu_hours_from,
        cost_usd_from,
    )
    with _open(db) as reg:
        report = import_mlflow(
            reg,
            tracking_uri,
            mapping,
            experiment_names=mlflow_experiment,
            source=source or "mlflow",
            progress=terminal_progress("mlflow"),
        )
    _report(report, as_json)


@import_app.command("wandb")
@handles_errors
def import_wandb_command(
    path: Annotated[Path, typer.Argument(help="W&B export: the UI's runs CSV or an API export.")],
    experiment_from: ExperimentFrom = "config.experiment",
    arm_from: ArmFrom = "config.arm",
    task_from: TaskFrom = "config.task",
    seed_from: SeedFrom = "config.seed",
    metric: Metric = None,
    n_eval_from: NEval = None,
    cost_gpu_hours_from: GpuHours = None,
    cost_usd_from: Usd = None,
    db: Db = None,
    source: Source = None,
    as_json: Json = False,
) -> None:
    """Import runs from a Weights & Biases export.

    Fields: config.KEY, summary.KEY, a bare column or attribute name, =VALUE (a constant).
    """
    from consilience.registry.importers import import_wandb
    from consilience.registry.progress import terminal_progress

    mapping = _mapping(
        experiment_from,
        arm_from,
        task_from,
        seed_from,
        metric,
        n_eval_from,
        cost_gpu_hours_from,
        cost_usd_from,
    )
    with _open(db) as reg:
        report = import_wandb(
            reg, path, mapping, source=source or "wandb", progress=terminal_progress(path.name)
        )
    _report(report, as_json)


# -- experiments --------------------------------------------------------------------------------
@app.command("experiments")
@handles_errors
def experiments_command(db: Db = None, as_json: Json = False) -> None:
    """List every experiment with its status, baseline and number of runs."""
    with _open(db) as reg:
        frame = reg.experiments()
    if as_json:
        from consilience._results import json_safe

        rows = [
            {
                k: (
                    None
                    if v is None or v is pd.NaT
                    else v.isoformat()
                    if hasattr(v, "isoformat")
                    else v
                )
                for k, v in rec.items()
            }
            for rec in frame.to_dict(orient="records")
        ]
        echo_json(json_safe(rows))
        return
    if frame.empty:
        typer.echo("No experiments yet. Add one with `consilience experiment add NAME`.")
        return
    typer.echo(_table(frame[["name", "status", "baseline", "n_runs", "change"]]))


@experiment_app.command("add")
@handles_errors
def experiment_add(
    name: Annotated[str, typer.Argument(help="Unique experiment name.")],
    hypothesis: Annotated[str | None, typer.Option(help="What you expect, and why.")] = None,
    change: Annotated[str | None, typer.Option(help="The single change it makes.")] = None,
    baseline: Annotated[
        str | None,
        typer.Option(help="Experiment it is measured against. Default: the current baseline."),
    ] = None,
    no_baseline: Annotated[
        bool, typer.Option("--no-baseline", help="Make it a root (a new reference model).")
    ] = False,
    status: Annotated[str, typer.Option(help="Initial status.")] = "planned",
    moderator: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE study covariate, e.g. model_family=vit (repeat)."),
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tag (repeat).")] = None,
    planned_seeds: Annotated[int | None, typer.Option(help="Seeds planned per task.")] = None,
    planned_n_eval: Annotated[int | None, typer.Option(help="Evaluation examples planned.")] = None,
    planned_tasks: Annotated[int | None, typer.Option(help="Tasks planned.")] = None,
    min_effect: Annotated[float | None, typer.Option(help="Smallest effect that matters.")] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Register an experiment before running it."""
    from consilience.errors import InputError

    moderators: dict[str, Any] = {}
    for item in moderator or []:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise InputError(f"--moderator must look like KEY=VALUE; got {item!r}.")
        moderators[key.strip()] = value.strip()
    with _open(db) as reg:
        record = reg.add_experiment(
            name,
            hypothesis=hypothesis,
            change=change,
            baseline=baseline,
            no_baseline=no_baseline,
            status=status,
            moderators=moderators,
            tags=tag or (),
            planned_seeds=planned_seeds,
            planned_n_eval=planned_n_eval,
            min_effect=min_effect,
            planned_tasks=planned_tasks,
        )
    if as_json:
        echo_json(record.to_dict())
    else:
        against = f"against {record.baseline}" if record.baseline else "as a root"
        typer.echo(f"added experiment {record.name} [{record.status}] {against}")


@experiment_app.command("set-status")
@handles_errors
def experiment_set_status(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    status: Annotated[
        str,
        typer.Argument(help="planned, running, complete, accepted, rejected, neutral or failed."),
    ],
    note: Annotated[str | None, typer.Option(help="Why (kept in the audit log).")] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Record an experiment's progress or decision; accepting makes it the new baseline."""
    with _open(db) as reg:
        record = reg.set_status(name, status, note=note)
    if as_json:
        echo_json(record.to_dict())
    else:
        extra = " (now the current baseline)" if record.status == "accepted" else ""
        typer.echo(f"{record.name}: {record.status}{extra}")


@experiment_app.command("show")
@handles_errors
def experiment_show(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Show one experiment."""
    with _open(db) as reg:
        record = reg.experiment(name)
    data = record.to_dict()
    if as_json:
        echo_json(data)
        return
    width = max(len(k) for k in data)
    for key, value in data.items():
        typer.echo(f"{key.ljust(width)} : {'' if value is None else value}")


@app.command("log")
@handles_errors
def log_command(db: Db = None, as_json: Json = False) -> None:
    """Show the chain of baselines and every experiment tried against each."""
    with _open(db) as reg:
        lineage = reg.lineage()
    if as_json:
        echo_json(lineage.to_dict())
    else:
        typer.echo(str(lineage))


# -- protocols ----------------------------------------------------------------------------------
@protocol_app.command("lock")
@handles_errors
def protocol_lock(
    path: Annotated[Path, typer.Argument(help="Protocol YAML file.")],
    name: Annotated[str | None, typer.Option(help="Override the file's name field.")] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Lock a pre-registration protocol (stored with its SHA-256 and the time).

    Fields: name, description, primary_metric, secondary_metrics, direction (higher/lower),
    inclusion {experiments, arms, tasks, run_statuses, experiment_statuses},
    model {method, test, level}, rope [low, high], min_effect, stopping_rule {rule, max_seeds, ...}.
    """
    from consilience.registry.protocol_store import read_protocol_file

    spec_name = name or read_protocol_file(path)[2]["name"]
    with _open(db) as reg:
        existed = spec_name in set(reg.protocols()["name"])
        record = reg.lock_protocol(path, name=name)
    if as_json:
        echo_json({**record.to_dict(), "newly_locked": not existed})
        return
    verb = "already locked (same content)" if existed else "locked"
    typer.echo(
        f"protocol {record.name} {verb}: sha256 {record.sha256}, "
        f"{record.locked_at:%Y-%m-%d %H:%M:%S} UTC by {record.locked_by}"
    )


@protocol_app.command("show")
@handles_errors
def protocol_show(
    name: Annotated[str | None, typer.Argument(help="Protocol name; omit to list all.")] = None,
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Show a locked protocol (or list them)."""
    from consilience._results import json_safe

    with _open(db) as reg:
        if name is None:
            frame = reg.protocols()
            if as_json:
                frame["locked_at"] = [t.isoformat() for t in frame["locked_at"]]
                echo_json(json_safe(frame))
            elif frame.empty:
                typer.echo("No locked protocols. Lock one with `consilience protocol lock FILE`.")
            else:
                typer.echo(_table(frame))
            return
        record = reg.protocol(name)
    if as_json:
        echo_json(record.to_dict())
        return
    state = "intact" if record.intact else "MODIFIED since locking"
    typer.echo(
        f"protocol {record.name}\nsha256    {record.sha256} ({state})\n"
        f"locked    {record.locked_at:%Y-%m-%d %H:%M:%S} UTC by {record.locked_by}\n"
    )
    typer.echo(record.content.rstrip("\n"))


@protocol_app.command("diff")
@handles_errors
def protocol_diff(
    name: Annotated[str, typer.Argument(help="Locked protocol name.")],
    path: Annotated[Path, typer.Argument(help="Protocol file to compare.")],
    db: Db = None,
    as_json: Json = False,
) -> None:
    """Show what a protocol file changes relative to the locked version."""
    with _open(db) as reg:
        changes = reg.diff_protocol(name, path)
    if as_json:
        echo_json([c.to_dict() for c in changes])
    elif not changes:
        typer.echo(f"{path} matches the locked protocol {name}.")
    else:
        typer.echo(f"{len(changes)} difference(s) from the locked protocol {name}:")
        for change in changes:
            typer.echo(f"  {change.message}")
