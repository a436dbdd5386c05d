"""The registry's database connection: transactions, write serialisation and schema upgrades.

Writes are serialised: ``BEGIN IMMEDIATE`` on SQLite (writers queue on the database lock for up
to ``busy_timeout`` seconds instead of failing with "database is locked") and a transaction-level
advisory lock on PostgreSQL. Opening compares the schema revision with the newest migration and
upgrades it inside such a write transaction, so processes opening an old registry at the same
time migrate it once.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session

from consilience.errors import InputError
from consilience.registry.engine import (
    WRITE_OPTION,
    describe_url,
    make_engine,
    resolve_url,
    sqlite_path,
)
from consilience.registry.migrate import (
    current_revision,
    head_revision,
    is_known_revision,
    upgrade,
)
from consilience.registry.models import AuditEntry, utcnow

__all__ = ["Database"]

_LOCK_KEY = zlib.crc32(b"consilience.registry.write")


class Database:
    """One registry database: an engine, read and write transactions, and its schema.

    Parameters
    ----------
    db : str or path-like, optional
        As for :func:`consilience.registry.engine.resolve_url`.
    create : bool
        Create the database file (SQLite) and schema when missing.
    busy_timeout : float
        Seconds a SQLite writer waits for the lock.
    """

    def __init__(
        self, db: str | os.PathLike[str] | None, *, create: bool, busy_timeout: float
    ) -> None:
        self.url = resolve_url(db)
        self.location = describe_url(self.url)
        self.path: Path | None = sqlite_path(self.url)
        if self.path is not None and not self.path.exists():
            if not create:
                raise InputError(
                    f"No registry at {self.path}. Create one with `consilience init --db "
                    f"{self.path}`, or point --db (or CONSILIENCE_DB) at an existing registry."
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.postgres = self.url.get_backend_name() == "postgresql"
        self.busy_timeout = busy_timeout
        self.engine: Engine = make_engine(self.url, busy_timeout=busy_timeout)
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})

    def connection_error(self, exc: Exception) -> InputError:
        """An :class:`InputError` for a database that cannot be reached or read."""
        orig = getattr(exc, "orig", exc)
        if "database is locked" in str(orig):
            return InputError(
                f"The registry at {self.location} stayed locked by another writer for longer "
                f"than the busy timeout ({self.busy_timeout:g} s). Try again when the other "
                "import has finished, or open the registry with a longer busy_timeout."
            )
        return InputError(
            f"Cannot use the registry at {self.location}: {str(orig).strip()}. Check the --db URL "
            "(or CONSILIENCE_DB), that the server is running, and that the file is a consilience "
            "registry."
        )

    def lock(self, conn: Any) -> None:
        """Serialise writers on PostgreSQL (SQLite writers already hold the database lock)."""
        if self.postgres:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a serialised write transaction, committed on success."""
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                self.lock(session)
                yield session
        except OperationalError as exc:
            raise self.connection_error(exc) from exc

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def ensure_schema(self, *, create: bool, actor: str) -> bool:
        """Create or upgrade the schema; returns whether the registry was created now."""
        head = head_revision()
        try:
            with self.engine.connect() as conn:
                rev = current_revision(conn)
            if rev == head:
                return False
            if rev is not None and not is_known_revision(rev):
                raise InputError(
                    f"The registry at {self.location} has schema revision {rev!r}, written by a "
                    "newer consilience. Upgrade consilience: pip install -U consilience."
                )
            if rev is None and not create:
                raise InputError(
                    f"{self.location} holds no consilience registry. Create one with "
                    "`consilience init --db ...`."
                )
            with self._writer.connect() as conn, conn.begin():
                self.lock(conn)
                before = current_revision(conn)
                if before != head:
                    upgrade(conn)
                    conn.execute(
                        insert(AuditEntry).values(
                            at=utcnow(),
                            actor=actor,
                            action="init" if before is None else "migrate",
                            target=None,
                            details={"from": before, "to": head},
                        )
                    )
                return before is None
        except (OperationalError, DatabaseError) as exc:
            raise self.connection_error(exc) from exc

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
