"""Risk of bias: one row per experiment, checklist item and source (auto or manual).

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JUDGEMENTS = "'low', 'some concerns', 'high', 'unknown'"
_SOURCES = "'auto', 'manual'"


def upgrade() -> None:
    op.create_table(
        "risk_of_bias",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("judgement", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("assessed_by", sa.String(200), nullable=False),
        sa.Column("assessed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name="fk_risk_of_bias_experiment_id_experiments"
        ),
        sa.UniqueConstraint(
            "experiment_id", "item", "source", name="uq_risk_of_bias_experiment_id_item_source"
        ),
        sa.CheckConstraint(f"judgement IN ({_JUDGEMENTS})", name="ck_risk_of_bias_judgement"),
        sa.CheckConstraint(f"source IN ({_SOURCES})", name="ck_risk_of_bias_source"),
        sa.PrimaryKeyConstraint("id", name="pk_risk_of_bias"),
    )
    op.create_index("ix_risk_of_bias_experiment_id", "risk_of_bias", ["experiment_id"])


def downgrade() -> None:
    op.drop_index("ix_risk_of_bias_experiment_id", table_name="risk_of_bias")
    op.drop_table("risk_of_bias")
