"""Alembic environment: always online, on the connection and transaction the registry opened.

The registry passes its connection in ``config.attributes["connection"]`` with a write
transaction already begun (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so
concurrent processes opening a new registry migrate it exactly once.
"""

from __future__ import annotations

from alembic import context

from consilience.registry.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "The consilience migrations run only through consilience.registry.migrate.upgrade(); "
        "offline SQL generation is not supported."
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
