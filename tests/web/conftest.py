"""Fixtures for the dashboard tests: the example registry (built once, copied per test), a write
token, a TestClient, and PostgreSQL when configured."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from consilience.registry import Registry
from consilience.registry.example import build_example_registry

PG_ENV = "CONSILIENCE_TEST_PG_URL"


@pytest.fixture(scope="session")
def example_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The example registry written once, with a write token: (file, token)."""
    path = tmp_path_factory.mktemp("example") / "example.db"
    reg = build_example_registry(path)
    try:
        token = reg.create_token("tests")
    finally:
        reg.close()
    return path, token


@pytest.fixture
def example_copy(example_db: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A private copy of the example registry (tests may change it): (file, token)."""
    target = tmp_path / "registry.db"
    shutil.copyfile(example_db[0], target)
    return target, example_db[1]


@pytest.fixture
def client(example_copy: tuple[Path, str]) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from consilience.web import create_app

    with TestClient(create_app(example_copy[0])) as c:
        yield c


@pytest.fixture
def token(example_copy: tuple[Path, str]) -> str:
    return example_copy[1]


def small_runs(experiment: str, *, tasks: int = 4, seeds: int = 3, gain: float = 0.02,
               metric: str = "accuracy") -> pd.DataFrame:
    """A deterministic two-arm runs table."""
    rows = []
    for t in range(tasks):
        for a, arm in enumerate(("baseline", "candidate")):
            for s in range(seeds):
                rows.append({"experiment": experiment, "arm": arm, "task": f"task{t}",
                             "seed": s, "metric": metric,
                             "value": 0.6 + 0.05 * t + a * (gain + 0.01 * (t % 2))
                             + 0.003 * ((s * 7 + t) % 3), "n_eval": 1000})
    return pd.DataFrame(rows)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema."""
    url = os.environ.get(PG_ENV)
    if not url:
        hint = f'{PG_ENV} is not set; start a server with: eval "$(.ci/postgres.sh)"'
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the dashboard on PostgreSQL: {hint}")
        pytest.skip(hint)
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"w_{uuid.uuid4().hex[:12]}"
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


def seed_small_registry(url: str, names: tuple[str, ...] = ("cand",)) -> str:
    """A root baseline and candidates with runs; returns a write token."""
    reg = Registry(url, create=True, actor="tester")
    try:
        reg.add_experiment("base", change="reference model", no_baseline=True,
                           status="complete")
        for i, name in enumerate(names):
            reg.add_experiment(name, hypothesis="it helps", change=f"change {i}",
                               baseline="base", status="running", min_effect=0.01,
                               moderators={"model_family": "vit" if i % 2 == 0 else "cnn"},
                               planned_seeds=3)
            reg.import_runs(small_runs(name, gain=0.02 + 0.01 * i), origin=f"test {name}")
        return reg.create_token("tests")
    finally:
        reg.close()
