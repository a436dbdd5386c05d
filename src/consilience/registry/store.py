"""The :class:`Registry`: every experiment a team ran, and the runs analyses read from.

Reads and writes go through short transactions. Writes are serialised: ``BEGIN IMMEDIATE`` on
SQLite (writers queue on the database lock for up to ``busy_timeout`` seconds) and a
transaction-level advisory lock on PostgreSQL. An import is one transaction, so a crash or a
``kill -9`` in the middle leaves the registry as it was before the import.
"""

from __future__ import annotations

import getpass
import hmac
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from consilience._results import json_safe
from consilience.errors import InputError
from consilience.registry import experiments as _exp
from consilience.registry import protocol_store as _proto
from consilience.registry.database import Database
from consilience.registry.deviations import Deviation
from consilience.registry.experiments import ExperimentRecord
from consilience.registry.ingest import ImportReport, ProgressCallback, write_runs
from consilience.registry.lineage import Lineage, build_lineage
from consilience.registry.migrate import head_revision
from consilience.registry.models import AuditEntry, Token, utcnow
from consilience.registry.protocol import ProtocolRecord, sha256_hex
from consilience.registry.runs_query import fetch_runs
from consilience.registry.runs_table import RowLabel, default_row_label, normalise_runs
from consilience.registry.snapshots import SnapshotRecord, add_snapshot, list_snapshots

__all__ = ["Registry", "default_actor"]


def default_actor() -> str:
    """Who is acting: ``CONSILIENCE_USER``, else the login name."""
    env = os.environ.get("CONSILIENCE_USER", "").strip()
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Registry:
    """An experiment registry in a SQLite file or a PostgreSQL database.

    Parameters
    ----------
    db : str or path-like, optional
        SQLAlchemy URL or SQLite file path; default ``CONSILIENCE_DB``, else
        ``./consilience.db`` (see :mod:`consilience.registry.engine`).
    create : bool
        Create the registry when it does not exist yet (``consilience init``); otherwise a
        missing registry is an error. An existing registry is always upgraded to the current
        schema.
    actor : str, optional
        Recorded in the audit log; default :func:`default_actor`.
    busy_timeout : float
        Seconds a SQLite writer waits for another writer before failing.

    Examples
    --------
    >>> reg = Registry("project.db", create=True)                     # doctest: +SKIP
    >>> reg.add_experiment("lr-warmup", hypothesis="warm-up helps", change="linear warm-up")
    >>> reg.runs("lr-warmup")                                          # the tidy runs table
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        *,
        create: bool = False,
        actor: str | None = None,
        busy_timeout: float = 60.0,
    ) -> None:
        self.actor = actor or default_actor()
        self._db = Database(db, create=create, busy_timeout=busy_timeout)
        self.location = self._db.location
        try:
            self.created = self._db.ensure_schema(create=create, actor=self.actor)
        except BaseException:
            self._db.dispose()
            raise
        self._read = self._db.read
        self._write = self._db.write

    def _audit(
        self,
        session: Session,
        action: str,
        target: str | None,
        details: Mapping[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> None:
        """Add an audit-log entry to ``session``'s transaction (by ``actor``, default ours)."""
        session.add(
            AuditEntry(
                at=utcnow(),
                actor=actor or self.actor,
                action=action,
                target=target,
                details=json_safe(dict(details or {})),
            )
        )

    def close(self) -> None:
        """Release the database connections."""
        self._db.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = "postgresql" if self._db.postgres else "sqlite"
        return f"<Registry {kind} at {self.location}>"

    @property
    def schema_revision(self) -> str:
        """The Alembic revision of the schema (always the newest after opening)."""
        return head_revision()

    # -- experiments ----------------------------------------------------------------------
    def add_experiment(
        self,
        name: str,
        *,
        hypothesis: str | None = None,
        change: str | None = None,
        baseline: str | None = None,
        no_baseline: bool = False,
        status: str = "planned",
        moderators: Mapping[str, Any] | None = None,
        tags: Sequence[str] = (),
        planned_seeds: int | None = None,
        planned_n_eval: int | None = None,
        min_effect: float | None = None,
        planned_tasks: int | None = None,
    ) -> ExperimentRecord:
        """Register an experiment before (or while) it runs.

        Parameters
        ----------
        name : str
            Unique name.
        hypothesis, change : str, optional
            What is expected, and the single change the experiment makes.
        baseline : str, optional
            The experiment it is measured against. Default: the current baseline (the last
            accepted experiment), unless ``no_baseline`` makes it a root.
        status : str
            One of ``planned, running, complete, accepted, rejected, neutral, failed``.
        moderators : mapping, optional
            Study-level covariates (``{"model_family": "vit", "data_domain": "vision"}``).
        tags : sequence of str
        planned_seeds, planned_n_eval, planned_tasks : int, optional
            The plan (seeds per task, evaluation examples, tasks), for power checks and
            protocol deviations.
        min_effect : float, optional
            Smallest effect worth acting on.

        Returns
        -------
        ExperimentRecord
        """
        with self._write() as s:
            exp = _exp.add_experiment(
                s,
                name,
                hypothesis=hypothesis,
                change=change,
                baseline=baseline,
                no_baseline=no_baseline,
                status=status,
                moderators=moderators,
                tags=tags,
                planned_seeds=planned_seeds,
                planned_n_eval=planned_n_eval,
                min_effect=min_effect,
                planned_tasks=planned_tasks,
            )
            record = _exp.record_of(s, exp)
            self._audit(s, "experiment.add", record.name, record.to_dict())
        return record

    def set_status(self, name: str, status: str, *, note: str | None = None) -> ExperimentRecord:
        """Move an experiment to ``status``; accepting it makes it the current baseline."""
        with self._write() as s:
            exp, previous = _exp.set_status(s, name, status)
            record = _exp.record_of(s, exp)
            if previous != record.status:
                self._audit(
                    s,
                    "experiment.status",
                    name,
                    {"from": previous, "to": record.status, "note": note},
                )
        return record

    def experiment(self, name: str) -> ExperimentRecord:
        """One experiment by name."""
        with self._read() as s:
            return _exp.record_of(s, _exp.get_experiment(s, name))

    def experiments(self) -> pd.DataFrame:
        """All experiments, oldest first.

        Returns
        -------
        pandas.DataFrame
            Columns ``name, status, baseline, hypothesis, change, tags, moderators,
            planned_seeds, planned_n_eval, planned_tasks, min_effect, n_runs, created_at, updated_at,
            accepted_at``.
        """
        with self._read() as s:
            return _exp.experiments_frame(s)

    def current_baseline(self) -> str | None:
        """Name of the current baseline (the last accepted experiment, or the root)."""
        with self._read() as s:
            return _exp.current_baseline(s)

    def lineage(self) -> Lineage:
        """The chain of baselines with every experiment tried against each."""
        with self._read() as s:
            return build_lineage(_exp.all_records(s))

    # -- runs -----------------------------------------------------------------------------
    def import_runs(
        self,
        frame: pd.DataFrame,
        *,
        origin: str = "<DataFrame>",
        source: str = "table",
        label: RowLabel | None = None,
        progress: ProgressCallback | None = None,
    ) -> ImportReport:
        """Import a long-format runs table in one transaction (all rows or none).

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns as in :data:`consilience.registry.runs_table.RUN_COLUMNS`; ``experiment,
            arm, task, metric, value`` are required, other columns are kept in ``extra``.
        origin : str
            Where the rows came from, for messages and the audit log.
        source : str
            ``source`` of rows without one. Rows are identified by ``(source, external_id)``
            (``external_id`` defaults to the row's experiment/arm/task/seed/metric/item), so
            importing the same rows again changes nothing.
        label : callable, optional
            Row labels for error messages (``"line 7"``).
        progress : callable, optional
            ``progress(done, total)`` after each batch.

        Returns
        -------
        ImportReport
            Counts of inserted, updated and unchanged rows.
        """
        label = label or default_row_label
        runs = normalise_runs(frame, where=origin, default_source=source, label=label)
        with self._write() as s:
            report = write_runs(s, runs, origin=origin, label=label, progress=progress)
            self._audit(s, "import", origin, report.to_dict())
        return report

    def runs(
        self,
        experiment: str | Sequence[str] | None = None,
        *,
        metric: str | Sequence[str] | None = None,
        status: str | Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The runs table, the input of every analysis.

        Parameters
        ----------
        experiment, metric, status : str or sequence of str, optional
            Keep only these experiments, metrics or run statuses.

        Returns
        -------
        pandas.DataFrame
            Columns ``experiment, arm, task, seed, metric, value, n_eval, cost_gpu_hours,
            cost_usd, status, item, source, external_id`` followed by one column per moderator
            of the experiments returned (sorted by name; missing values are null). Sorted by
            experiment, metric, task, arm, seed, item. ``seed`` and ``n_eval`` are nullable
            integers.
        """
        with self._db.read() as s:
            return fetch_runs(s, experiment, metric, status)

    # -- protocols ------------------------------------------------------------------------
    def lock_protocol(
        self, path: str | os.PathLike[str], *, name: str | None = None
    ) -> ProtocolRecord:
        """Lock a pre-registration protocol (YAML) with its SHA-256 and the time.

        Locking the same file again returns the existing record; locking different content
        under a locked name raises :class:`InputError` describing the differences.

        Parameters
        ----------
        path : path-like
            The protocol file (see :mod:`consilience.registry.protocol` for its fields).
        name : str, optional
            Overrides the file's ``name`` field (default: that field, else the file's stem).
        """
        with self._write() as s:
            record, new = _proto.lock(s, path, name=name, actor=self.actor)
            if new:
                self._audit(s, "protocol.lock", record.name, {"sha256": record.sha256})
        return record

    def protocol(self, name: str) -> ProtocolRecord:
        """A locked protocol by name."""
        with self._read() as s:
            return _proto.record(s, name)

    def protocols(self) -> pd.DataFrame:
        """Locked protocols: ``name, primary_metric, sha256, locked_at, locked_by``."""
        with self._read() as s:
            return _proto.list_protocols(s)

    def diff_protocol(self, name: str, path: str | os.PathLike[str]) -> list[Deviation]:
        """What the protocol file ``path`` changes relative to the locked protocol ``name``."""
        with self._read() as s:
            return _proto.deviations(s, name, path, None)

    def check_protocol(
        self,
        name: str,
        file_or_options: str | os.PathLike[str] | Mapping[str, Any],
        *,
        runs: pd.DataFrame | None = None,
    ) -> list[Deviation]:
        """Every way an analysis departs from the locked protocol ``name``.

        Parameters
        ----------
        name : str
            A locked protocol.
        file_or_options : path-like or mapping
            The protocol file the analysis ran with, or the options it used, flat
            (``{"metric": "accuracy", "method": "DL", "test": "z", "tasks": [...]}``, keys as in
            :data:`consilience.registry.protocol.OPTION_ALIASES`) or protocol-shaped. Only the
            options given are compared.
        runs : pandas.DataFrame, optional
            The runs analysed: checked against the inclusion criteria (runs outside them,
            pre-registered experiments or tasks missing) and the registered metrics.

        Returns
        -------
        list of Deviation
            Empty when the analysis follows the protocol.
        """
        with self._read() as s:
            return _proto.deviations(s, name, file_or_options, runs)

    # -- snapshots ------------------------------------------------------------------------
    def snapshot(
        self,
        protocol: str | None,
        result: Mapping[str, Any],
        input_hash: str,
        *,
        experiment: str | None = None,
    ) -> int:
        """Store an analysis result under a locked protocol and/or an experiment.

        Parameters
        ----------
        protocol : str or None
            Name of a locked protocol.
        result : mapping
            The result's ``to_dict()``; stored JSON-safe.
        input_hash : str
            Hash of the runs analysed (``consilience._results.input_hash``), so a stale
            snapshot can be noticed.
        experiment : str, optional
            The experiment the result is about.

        Returns
        -------
        int
            The snapshot's id.
        """
        with self._write() as s:
            snap_id = add_snapshot(
                s, protocol, result, input_hash, experiment=experiment, actor=self.actor
            )
            self._audit(
                s,
                "snapshot",
                protocol or experiment,
                {"id": snap_id, "input_hash": input_hash, "experiment": experiment},
            )
        return snap_id

    def snapshots(
        self, protocol: str | None = None, *, experiment: str | None = None
    ) -> list[SnapshotRecord]:
        """Stored snapshots, newest first, optionally of one protocol or experiment."""
        with self._read() as s:
            return list_snapshots(s, protocol, experiment=experiment)

    def latest_snapshot(
        self, protocol: str | None = None, *, experiment: str | None = None
    ) -> SnapshotRecord | None:
        """The newest snapshot of a protocol or experiment, or ``None``."""
        found = self.snapshots(protocol, experiment=experiment)
        return found[0] if found else None

    # -- audit and tokens -----------------------------------------------------------------
    def record_audit(
        self, action: str, target: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        """Append an entry to the audit log (e.g. ``plan.apply`` from a planning tool)."""
        if not isinstance(action, str) or not action.strip() or len(action) > 64:
            raise InputError(f"An audit action must be 1-64 characters of text; got {action!r}.")
        with self._write() as s:
            self._audit(s, action.strip(), target, details)

    def audit_log(self, limit: int | None = None) -> pd.DataFrame:
        """The audit log, newest first: columns ``at, actor, action, target, details``."""
        stmt = select(
            AuditEntry.at,
            AuditEntry.actor,
            AuditEntry.action,
            AuditEntry.target,
            AuditEntry.details,
        ).order_by(AuditEntry.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._read() as s:
            rows = [tuple(r) for r in s.execute(stmt)]
        return pd.DataFrame(rows, columns=["at", "actor", "action", "target", "details"])

    def create_token(self, name: str = "dashboard") -> str:
        """Create a write token and return its secret; only its SHA-256 is stored."""
        secret = "cns_" + secrets.token_urlsafe(32)
        digest = sha256_hex(secret.encode())
        with self._write() as s:
            s.add(Token(name=name, token_hash=digest, scope="write", created_at=utcnow()))
            self._audit(s, "token.create", name)
        return secret

    def has_token(self) -> bool:
        """Whether any unrevoked write token exists."""
        with self._read() as s:
            return s.scalars(select(Token.id).where(Token.revoked_at.is_(None))).first() is not None

    def verify_token(self, secret: str) -> bool:
        """Whether ``secret`` is a valid, unrevoked write token (constant-time comparison)."""
        digest = sha256_hex(str(secret).encode())
        with self._read() as s:
            hashes = list(s.scalars(select(Token.token_hash).where(Token.revoked_at.is_(None))))
        return any(hmac.compare_digest(digest, h) for h in hashes)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or ``None`` for a PostgreSQL registry."""
        return self._db.path

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for read-only access (the dashboard); write through methods."""
        return self._db.engine
