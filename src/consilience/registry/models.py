"""SQLAlchemy models of the experiment registry.

Six tables: ``experiments`` (one row per change tried, with its baseline and status), ``runs``
(the long-format runs table, one row per experiment x arm x task x seed x metric [x item]),
``protocols`` (locked pre-registrations), ``snapshots`` (stored analysis results), ``audit_log``
(who changed what, when) and ``tokens`` (hashed write tokens for the dashboard).

The schema itself is created and upgraded by the Alembic migrations in
``consilience/registry/migrations``; these models must match them (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "EXPERIMENT_STATUSES",
    "RUN_STATUSES",
    "AuditEntry",
    "Base",
    "Experiment",
    "Protocol",
    "Run",
    "Snapshot",
    "Token",
    "utcnow",
]

EXPERIMENT_STATUSES: tuple[str, ...] = (
    "planned",
    "running",
    "complete",
    "accepted",
    "rejected",
    "neutral",
    "failed",
)
"""Life cycle of an experiment; the last four are decisions (``failed``: it could not be run)."""

RUN_STATUSES: tuple[str, ...] = ("complete", "failed", "killed", "running")
"""Status of a single run; only ``complete`` runs must carry a finite ``value``."""

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always read back timezone-aware (SQLite drops zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def _in(column: str, options: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(o) for o in options)})"


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention (stable names for migrations)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Experiment(Base):
    """One change tried against a baseline, whatever its outcome."""

    __tablename__ = "experiments"
    __table_args__ = (CheckConstraint(_in("status", EXPERIMENT_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    hypothesis: Mapped[str | None] = mapped_column(Text)
    change: Mapped[str | None] = mapped_column(Text)
    baseline_id: Mapped[int | None] = mapped_column(ForeignKey("experiments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    moderators: Mapped[dict[str, Any]] = mapped_column(JSON)
    tags: Mapped[list[str]] = mapped_column(JSON)
    planned_seeds: Mapped[int | None] = mapped_column(Integer)
    planned_n_eval: Mapped[int | None] = mapped_column(Integer)
    planned_tasks: Mapped[int | None] = mapped_column(Integer)
    min_effect: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Run(Base):
    """One measured value: experiment x arm x task x seed x metric (x item)."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_runs_source_external_id"),
        Index("ix_runs_experiment_metric", "experiment_id", "metric"),
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"))
    arm: Mapped[str] = mapped_column(String(200))
    task: Mapped[str] = mapped_column(String(200))
    seed: Mapped[int | None] = mapped_column(BigInteger)
    metric: Mapped[str] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    n_eval: Mapped[int | None] = mapped_column(BigInteger)
    cost_gpu_hours: Mapped[float | None] = mapped_column(Float)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    item: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str] = mapped_column(String(700))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Protocol(Base):
    """A locked pre-registration: the file as locked, its parsed form and its SHA-256."""

    __tablename__ = "protocols"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    content: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str] = mapped_column(String(200))


class Snapshot(Base):
    """A stored analysis result, tied to a protocol or an experiment."""

    __tablename__ = "snapshots"
    __table_args__ = (
        CheckConstraint("protocol_id IS NOT NULL OR experiment_id IS NOT NULL", name="subject"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol_id: Mapped[int | None] = mapped_column(ForeignKey("protocols.id"), index=True)
    experiment_id: Mapped[int | None] = mapped_column(ForeignKey("experiments.id"), index=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    input_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200))


class AuditEntry(Base):
    """Who did what to the registry, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class Token(Base):
    """A write token for the dashboard, stored as the SHA-256 of its secret."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


RISK_OF_BIAS_SOURCES: tuple[str, ...] = ("auto", "manual")
"""Who made a risk-of-bias judgement: the registry from its evidence, or a person."""
RISK_OF_BIAS_JUDGEMENTS: tuple[str, ...] = ("low", "some concerns", "high", "unknown")
"""The judgements of :mod:`consilience.quality.checklist` (kept equal to its ``JUDGEMENTS``)."""


class RiskOfBiasJudgement(Base):
    """One checklist item judged for one experiment, by the registry (auto) or a person.

    A person's judgement and the automatic one are stored side by side; the person's wins
    (see :mod:`consilience.registry.quality_store`).
    """

    __tablename__ = "risk_of_bias"
    __table_args__ = (
        UniqueConstraint(
            "experiment_id", "item", "source", name="uq_risk_of_bias_experiment_id_item_source"
        ),
        CheckConstraint(_in("judgement", RISK_OF_BIAS_JUDGEMENTS), name="judgement"),
        CheckConstraint(_in("source", RISK_OF_BIAS_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    item: Mapped[str] = mapped_column(String(64))
    judgement: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(16))
    assessed_by: Mapped[str] = mapped_column(String(200))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ += ["RISK_OF_BIAS_JUDGEMENTS", "RISK_OF_BIAS_SOURCES", "RiskOfBiasJudgement"]
