"""Opening, creating and migrating registries; where the default registry lives."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from consilience.errors import InputError
from consilience.registry import DEFAULT_DB_FILENAME, ENV_VAR, Registry, resolve_url
from consilience.registry.migrate import head_revision
from consilience.registry.models import Base


def test_default_registry_is_consilience_db_in_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_VAR, raising=False)
    url = resolve_url(None)
    assert url.get_backend_name() == "sqlite"
    assert Path(url.database or "") == tmp_path / DEFAULT_DB_FILENAME
    with Registry(create=True) as reg:
        assert reg.path == tmp_path / "consilience.db"
        assert reg.created
    assert (tmp_path / "consilience.db").is_file()


def test_env_var_and_explicit_db_override_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "from_env.db"))
    assert Path(resolve_url(None).database or "").name == "from_env.db"
    assert Path(resolve_url("explicit.db").database or "") == tmp_path / "explicit.db"
    pg = resolve_url("postgresql://u:p@localhost:5432/x")
    assert pg.drivername == "postgresql+psycopg"


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("sqlite://", "in-memory"),
        ("mysql://u@h/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg://u@h:notaport/db", "not a valid database URL"),
    ],
)
def test_bad_urls_are_refused_with_the_fix(bad: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        resolve_url(bad)


def test_opening_a_missing_registry_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="consilience init"):
        Registry(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


def test_a_file_that_is_not_a_database_is_an_input_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not sqlite " * 100)
    with pytest.raises(InputError, match="Cannot use the registry"):
        Registry(bogus)


def test_an_empty_database_is_not_a_registry_unless_created(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(InputError, match="holds no consilience registry"):
        Registry(path)
    with Registry(path, create=True) as reg:
        assert reg.created


def test_sqlite_registry_uses_wal_and_a_busy_timeout(sqlite_registry: Registry) -> None:
    with sqlite_registry.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 60000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_migrated_schema_matches_the_models(db_url: str) -> None:
    Registry(db_url, create=True).close()
    engine = create_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert context.get_current_revision() == head_revision()
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diffs == []


def test_reopening_is_idempotent_and_logs_init_once(db_url: str) -> None:
    with Registry(db_url, create=True) as reg:
        assert reg.created
    with Registry(db_url, create=True) as again:
        assert not again.created
        actions = list(again.audit_log()["action"])
    assert actions.count("init") == 1


def test_a_registry_from_a_newer_version_is_refused(sqlite_url: str) -> None:
    Registry(sqlite_url, create=True).close()
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(InputError, match="newer consilience"):
        Registry(sqlite_url)


def test_postgres_connection_failure_is_an_input_error() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(InputError, match="Cannot use the registry"):
        Registry("postgresql+psycopg://nobody:pw@127.0.0.1:1/none?connect_timeout=2")


def test_repr_hides_the_password(pg_url: str) -> None:
    with Registry(pg_url, create=True) as reg:
        assert "***" in repr(reg)
        assert "postgresql" in repr(reg)


def test_sqlite_writers_queue_on_the_lock_and_readers_are_not_blocked(sqlite_url: str) -> None:
    Registry(sqlite_url, create=True).close()
    path = sqlite_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        with Registry(sqlite_url, busy_timeout=0.2) as reg:
            assert reg.experiments().empty  # WAL: reading while another writes
            started = time.monotonic()
            with pytest.raises(InputError, match="stayed locked by another writer"):
                reg.add_experiment("x")
            assert time.monotonic() - started >= 0.2
        release = threading.Timer(0.3, holder.execute, args=("COMMIT",))
        release.start()
        with Registry(sqlite_url, busy_timeout=10) as reg:
            reg.add_experiment("y")  # waits for the other writer instead of failing
            assert list(reg.experiments()["name"]) == ["y"]
        release.join()
    finally:
        holder.close()
