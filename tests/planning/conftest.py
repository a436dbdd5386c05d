"""Fixtures for the planning tests: the registry backends of tests/registry, and simulated runs.

``db_url`` runs a test on a real SQLite file and on a real PostgreSQL schema (skipped without
``CONSILIENCE_TEST_PG_URL``; start a server with ``eval "$(.ci/postgres.sh)"``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from consilience.registry import Registry
from tests.registry.conftest import PG_ENV, SKIP_PG, db_url, pg_url, sqlite_url  # noqa: F401


@pytest.fixture
def registry(db_url: str) -> Iterator[Registry]:  # noqa: F811
    reg = Registry(db_url, create=True, actor="tester")
    try:
        yield reg
    finally:
        reg.close()


@contextmanager
def _pg_schema() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the PostgreSQL registry: {SKIP_PG}")
        pytest.skip(SKIP_PG)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def example_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example registry in a SQLite file, built once (copy it before writing)."""
    from consilience.registry.example import build_example_registry

    path = tmp_path_factory.mktemp("example") / "example.db"
    build_example_registry(path).close()
    return path


@pytest.fixture(scope="session")
def example_postgres() -> Iterator[str]:
    """The bundled example registry in a PostgreSQL schema, built once (read it only)."""
    from consilience.registry.example import build_example_registry

    with _pg_schema() as url:
        build_example_registry(url).close()
        yield url


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def example_url(request: pytest.FixtureRequest) -> str:
    """The example registry on each backend, shared by the tests: only read it."""
    if request.param == "sqlite":
        return f"sqlite:///{request.getfixturevalue('example_sqlite')}"
    return str(request.getfixturevalue("example_postgres"))


@pytest.fixture
def example_copy(example_sqlite: Path, tmp_path: Path) -> Path:
    """A private copy of the SQLite example registry, free to change."""
    target = tmp_path / "example.db"
    shutil.copyfile(example_sqlite, target)
    return target


def simulate_runs(
    experiment: str,
    *,
    k: int,
    seeds: int,
    sd: float,
    tau2: float,
    mu: float,
    rng_seed: int,
    rho: float = 0.0,
    n_eval: int | None = None,
) -> pd.DataFrame:
    """Accuracy runs of arms ``baseline`` and ``candidate``: k tasks x seeds, known variances."""
    rng = np.random.default_rng(rng_seed)
    level = rng.normal(0.8, 0.03, k)
    gain = mu + rng.normal(0.0, np.sqrt(tau2), k)
    shared = rng.normal(0.0, sd * np.sqrt(rho), (k, seeds))
    noise = rng.normal(0.0, sd * np.sqrt(1 - rho), (2, k, seeds))
    base = level[:, None] + shared + noise[0]
    cand = level[:, None] + gain[:, None] + shared + noise[1]
    values = np.stack([base, cand])  # arm, task, seed
    arm, task, seed = np.meshgrid(np.arange(2), np.arange(k), np.arange(seeds), indexing="ij")
    runs = pd.DataFrame({
        "experiment": experiment,
        "arm": np.where(arm.ravel() == 0, "baseline", "candidate"),
        "task": [f"task{t:03d}" for t in task.ravel()],
        "seed": seed.ravel(),
        "metric": "accuracy",
        "value": np.clip(values.ravel(), 0.01, 0.99),
    })
    return runs if n_eval is None else runs.assign(n_eval=n_eval)


def simulate_items(
    experiment: str, *, k: int, seeds: int, n_items: int, p01: float, p10: float, rng_seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-item correctness runs; returns the runs and the array (arm, task, seed, item)."""
    rng = np.random.default_rng(rng_seed)
    p_base = rng.uniform(0.6, 0.8, k)[:, None, None]
    base = rng.random((k, seeds, n_items)) < p_base
    flip = rng.random((k, seeds, n_items))
    to_wrong = p10 / p_base  # P(candidate wrong | baseline right)
    to_right = p01 / (1 - p_base)  # P(candidate right | baseline wrong)
    cand = np.where(base, flip >= to_wrong, flip < to_right)
    correct = np.stack([base, cand]).astype(float)
    arm, task, seed, item = np.meshgrid(np.arange(2), np.arange(k), np.arange(seeds),
                                        np.arange(n_items), indexing="ij")
    runs = pd.DataFrame({
        "experiment": experiment,
        "arm": np.where(arm.ravel() == 0, "baseline", "candidate"),
        "task": [f"task{t:02d}" for t in task.ravel()],
        "seed": seed.ravel(),
        "metric": "accuracy",
        "value": correct.ravel(),
        "item": [f"q{i:04d}" for i in item.ravel()],
    })
    return runs, correct


def add_root_and(reg: Registry, name: str, **options: Any) -> None:
    """A root experiment ``base`` and ``name`` measured against it."""
    reg.add_experiment("base", change="reference model", no_baseline=True, status="complete")
    reg.add_experiment(name, change="the change", baseline="base", **options)
