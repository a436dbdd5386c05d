"""Run the registry's Alembic migrations from Python (no ``alembic.ini`` needed).

Opening a registry compares the database's revision with the newest migration shipped in this
package and upgrades it inside a write transaction, so two processes opening an old registry at
the same moment migrate it once.
"""

from __future__ import annotations

from functools import lru_cache

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

__all__ = [
    "SCRIPT_LOCATION",
    "alembic_config",
    "current_revision",
    "head_revision",
    "is_known_revision",
    "upgrade",
]

SCRIPT_LOCATION = "consilience.registry:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations.

    Parameters
    ----------
    connection : sqlalchemy.Connection, optional
        Handed to ``migrations/env.py`` through ``config.attributes["connection"]``.
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _known_revisions() -> tuple[str, frozenset[str]]:
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    if head is None:  # pragma: no cover - the package always ships a migration
        raise RuntimeError("The registry migrations are missing from the installed package.")
    return head, frozenset(rev.revision for rev in script.walk_revisions())


def head_revision() -> str:
    """The newest schema revision this version of consilience knows."""
    return _known_revisions()[0]


def is_known_revision(revision: str) -> bool:
    """Whether ``revision`` is one of the migrations shipped with this package."""
    return revision in _known_revisions()[1]


def current_revision(connection: Connection) -> str | None:
    """The schema revision stored in the database, or ``None`` for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(connection: Connection) -> None:
    """Upgrade the schema to :func:`head_revision` on ``connection``'s open transaction."""
    command.upgrade(alembic_config(connection), "head")
