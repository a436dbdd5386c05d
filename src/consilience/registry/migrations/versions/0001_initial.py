"""Initial registry schema: experiments, runs, protocols, snapshots, audit log, tokens.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EXPERIMENT_STATUSES = (
    "'planned', 'running', 'complete', 'accepted', 'rejected', 'neutral', 'failed'"
)
_RUN_STATUSES = "'complete', 'failed', 'killed', 'running'"


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("hypothesis", sa.Text(), nullable=True),
        sa.Column("change", sa.Text(), nullable=True),
        sa.Column("baseline_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("moderators", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("planned_seeds", sa.Integer(), nullable=True),
        sa.Column("planned_n_eval", sa.Integer(), nullable=True),
        sa.Column("min_effect", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["baseline_id"], ["experiments.id"], name="fk_experiments_baseline_id_experiments"
        ),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
        sa.CheckConstraint(f"status IN ({_EXPERIMENT_STATUSES})", name="ck_experiments_status"),
        sa.PrimaryKeyConstraint("id", name="pk_experiments"),
    )
    op.create_index("ix_experiments_baseline_id", "experiments", ["baseline_id"])

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(200), nullable=False),
        sa.Column("task", sa.String(200), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=True),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("n_eval", sa.BigInteger(), nullable=True),
        sa.Column("cost_gpu_hours", sa.Float(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("item", sa.String(200), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(700), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name="fk_runs_experiment_id_experiments"
        ),
        sa.UniqueConstraint("source", "external_id", name="uq_runs_source_external_id"),
        sa.CheckConstraint(f"status IN ({_RUN_STATUSES})", name="ck_runs_status"),
        sa.PrimaryKeyConstraint("id", name="pk_runs"),
    )
    op.create_index("ix_runs_experiment_metric", "runs", ["experiment_id", "metric"])

    op.create_table(
        "protocols",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("locked_at", sa.DateTime(), nullable=False),
        sa.Column("locked_by", sa.String(200), nullable=False),
        sa.UniqueConstraint("name", name="uq_protocols_name"),
        sa.PrimaryKeyConstraint("id", name="pk_protocols"),
    )

    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("protocol_id", sa.Integer(), nullable=True),
        sa.Column("experiment_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(
            ["protocol_id"], ["protocols.id"], name="fk_snapshots_protocol_id_protocols"
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name="fk_snapshots_experiment_id_experiments"
        ),
        sa.CheckConstraint(
            "protocol_id IS NOT NULL OR experiment_id IS NOT NULL", name="ck_snapshots_subject"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
    )
    op.create_index("ix_snapshots_protocol_id", "snapshots", ["protocol_id"])
    op.create_index("ix_snapshots_experiment_id", "snapshots", ["experiment_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
        sa.PrimaryKeyConstraint("id", name="pk_tokens"),
    )


def downgrade() -> None:
    for table in ("tokens", "audit_log", "snapshots", "protocols", "runs", "experiments"):
        op.drop_table(table)
