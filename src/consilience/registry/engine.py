"""Where the registry lives and how we connect to it.

The registry is one database, named by a SQLAlchemy URL:

* by default an embedded SQLite file, ``consilience.db`` in the current working directory, so a
  project's registry lives with the project;
* otherwise the URL (or plain file path) in the environment variable ``CONSILIENCE_DB``;
* otherwise what the caller passes (``--db`` on the command line), which wins over both.

PostgreSQL is reached through the same kind of URL, ``postgresql+psycopg://user:pw@host/db``
(``postgresql://`` and ``postgres://`` are read as the psycopg 3 driver).

SQLite connections run in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE`` so that concurrent writers queue on the lock instead of failing with
"database is locked". On PostgreSQL, writes are serialised by a transaction-level advisory lock
taken by the registry (see :mod:`consilience.registry.store`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from consilience.errors import InputError
from consilience.registry._deps import require

__all__ = [
    "DEFAULT_DB_FILENAME",
    "ENV_VAR",
    "WRITE_OPTION",
    "describe_url",
    "make_engine",
    "resolve_url",
    "sqlite_path",
]

DEFAULT_DB_FILENAME = "consilience.db"
"""File name of the default registry, created in the current working directory."""

ENV_VAR = "CONSILIENCE_DB"
"""Environment variable holding the registry URL (or SQLite file path) when ``--db`` is absent."""

WRITE_OPTION = "consilience_write"
"""Execution option marking a connection whose transactions write (``BEGIN IMMEDIATE``)."""


def resolve_url(db: str | os.PathLike[str] | None = None) -> URL:
    """Turn ``--db`` / ``CONSILIENCE_DB`` / the default into a SQLAlchemy URL.

    Parameters
    ----------
    db : str or path-like, optional
        A SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://...``) or a plain path to a
        SQLite file. ``None`` reads ``CONSILIENCE_DB`` and falls back to ``./consilience.db``.

    Returns
    -------
    sqlalchemy.engine.URL
        SQLite URLs carry an absolute path, so the registry does not move if the process changes
        directory.
    """
    raw: str
    if db is None or (isinstance(db, str) and not db.strip()):
        raw = os.environ.get(ENV_VAR, "").strip() or DEFAULT_DB_FILENAME
    else:
        raw = os.fspath(db).strip()
    if "://" not in raw:
        return URL.create("sqlite", database=str(Path(raw).expanduser().resolve()))
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise InputError(
            f"The registry URL {raw!r} is not a valid database URL ({exc}). Pass a path to a "
            "SQLite file or a URL such as postgresql+psycopg://user:password@host:5432/dbname."
        ) from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InputError(
                f"The registry URL {raw!r} names an in-memory SQLite database, which would vanish "
                "when the command ends. Pass a file path such as ./consilience.db."
            )
        return url.set(database=str(Path(url.database).expanduser().resolve()))
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    raise InputError(
        f"The registry URL {raw!r} uses the unsupported database '{backend}'. "
        "Use SQLite (a file path) or PostgreSQL (postgresql+psycopg://...)."
    )


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite registry, or ``None`` for a server database."""
    if url.get_backend_name() == "sqlite" and url.database:
        return Path(url.database)
    return None


def describe_url(url: URL) -> str:
    """A printable location: the file path for SQLite, the URL without password otherwise."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    return url.render_as_string(hide_password=True)


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return on_connect


def _sqlite_begin(conn: Any) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: URL, *, busy_timeout: float = 60.0) -> Engine:
    """Create the engine for a registry URL with the settings that make concurrent use safe.

    Parameters
    ----------
    url : sqlalchemy.engine.URL
        As returned by :func:`resolve_url`.
    busy_timeout : float
        Seconds a SQLite writer waits for the lock before giving up.

    Returns
    -------
    sqlalchemy.Engine
    """
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas(int(busy_timeout * 1000)))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    require("psycopg")
    return create_engine(url, pool_pre_ping=True)
