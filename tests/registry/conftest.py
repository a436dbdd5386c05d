"""Fixtures for the registry tests: a real SQLite file and, when configured, a real PostgreSQL.

PostgreSQL tests read the server URL from ``CONSILIENCE_TEST_PG_URL`` (start one with
``eval "$(.ci/postgres.sh)"``); each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from consilience.registry import Registry

PG_ENV = "CONSILIENCE_TEST_PG_URL"
SKIP_PG = (
    f'{PG_ENV} is not set; start a server with: eval "$(.ci/postgres.sh)" '
    "(installs PostgreSQL from Debian packages if needed)"
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the PostgreSQL registry: {SKIP_PG}")
        pytest.skip(SKIP_PG)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The registry URL of each backend: a SQLite file and a PostgreSQL schema."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def registry(db_url: str) -> Iterator[Registry]:
    reg = Registry(db_url, create=True, actor="tester")
    try:
        yield reg
    finally:
        reg.close()


@pytest.fixture
def sqlite_registry(sqlite_url: str) -> Iterator[Registry]:
    reg = Registry(sqlite_url, create=True, actor="tester")
    try:
        yield reg
    finally:
        reg.close()


def runs_frame(
    experiment: str = "cand",
    *,
    tasks: int = 3,
    seeds: int = 2,
    arms: tuple[str, ...] = ("baseline", "candidate"),
    metric: str = "accuracy",
    offset: float = 0.0,
) -> pd.DataFrame:
    """A small long-format runs table with deterministic values."""
    rows: list[dict[str, Any]] = []
    for t in range(tasks):
        for a, arm in enumerate(arms):
            for s in range(seeds):
                rows.append(
                    {
                        "experiment": experiment,
                        "arm": arm,
                        "task": f"task{t}",
                        "seed": s,
                        "metric": metric,
                        "value": 0.5 + 0.1 * t + 0.01 * a + 0.001 * s + offset,
                        "n_eval": 1000,
                        "cost_gpu_hours": 1.5,
                        "cost_usd": 3.0,
                    }
                )
    return pd.DataFrame(rows)


def add_pair(reg: Registry, candidate: str = "cand") -> None:
    """A root baseline and one candidate measured against it."""
    reg.add_experiment("base", change="reference model", no_baseline=True, status="complete")
    reg.add_experiment(
        candidate,
        hypothesis="warm-up helps",
        change="linear warm-up",
        moderators={"model_family": "vit", "data_domain": "vision"},
    )
