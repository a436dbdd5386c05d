"""Reliability: concurrent importers lose nothing, a killed import leaves no trace.

Real processes (forked, so they start without re-importing the scientific stack) against a real
SQLite file and a real PostgreSQL server.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
import warnings
from multiprocessing.process import BaseProcess
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from consilience.registry import Registry

from ._import_worker import import_worker
from .conftest import add_pair, runs_frame

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (POSIX)")


def _start(
    url: str, runs_file: Path, go: Path, out: Path, marker: Path | None = None
) -> BaseProcess:
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(
        target=import_worker,
        args=(url, str(runs_file), str(go), str(marker) if marker else None, str(out)),
    )
    with warnings.catch_warnings():
        # Python >= 3.12 warns when forking a process that has threads (numpy's BLAS pool);
        # the workers only open their own database connections, which is fork-safe.
        warnings.filterwarnings(
            "ignore",
            message=r".*use of fork\(\) may lead to deadlocks",
            category=DeprecationWarning,
        )
        proc.start()
    return proc


def test_eight_processes_importing_at_once_lose_no_rows(db_url: str, tmp_path: Path) -> None:
    with Registry(db_url, create=True) as reg:
        add_pair(reg)
    shared = runs_frame("cand", tasks=5, seeds=5)  # 50 rows every worker imports
    files = []
    for i in range(8):
        own = runs_frame("cand", tasks=25, seeds=5, arms=(f"arm{i}",))  # 125 rows of its own
        path = tmp_path / f"runs{i}.csv"
        pd.concat([own, shared]).sample(frac=1.0, random_state=i).to_csv(path, index=False)
        files.append(path)
    go = tmp_path / "go"
    outs = [tmp_path / f"out{i}.json" for i in range(8)]
    procs = [_start(db_url, f, go, o) for f, o in zip(files, outs)]
    time.sleep(0.2)
    go.touch()
    for proc in procs:
        proc.join(timeout=120)
    reports = [json.loads(o.read_text()) for o in outs]
    for proc, report in zip(procs, reports):
        assert "error" not in report, report.get("error")
        assert proc.exitcode == 0
    assert sum(r["inserted"] for r in reports) == 8 * 125 + 50
    assert sum(r["unchanged"] for r in reports) == 7 * 50
    with Registry(db_url) as reg:
        runs = reg.runs()
        assert len(runs) == 8 * 125 + 50
        assert not runs.duplicated(["source", "external_id"]).any()
        assert (reg.audit_log()["action"] == "import").sum() == 8


def test_a_killed_import_leaves_the_registry_as_before(db_url: str, tmp_path: Path) -> None:
    with Registry(db_url, create=True) as reg:
        add_pair(reg)
        reg.import_runs(runs_frame("base", tasks=4))
        before = reg.runs()
        audit_before = len(reg.audit_log())
    big = tmp_path / "big.csv"
    runs_frame("cand", tasks=60, seeds=25).to_csv(big, index=False)  # 3000 rows, 3 batches
    go, marker, out = tmp_path / "go", tmp_path / "first-batch-written", tmp_path / "out.json"
    go.touch()
    proc = _start(db_url, big, go, out, marker)
    deadline = time.monotonic() + 60
    # write_text creates the file before it writes: wait for the content, not the name.
    while not (marker.exists() and marker.read_text()):
        assert proc.is_alive(), out.read_text() if out.exists() else "worker died"
        assert time.monotonic() < deadline, "the worker never wrote its first batch"
        time.sleep(0.01)
    assert marker.read_text() == "1000/3000"
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    assert proc.exitcode == -signal.SIGKILL

    with Registry(db_url) as reg:
        pd.testing.assert_frame_equal(reg.runs(), before)
        assert len(reg.audit_log()) == audit_before
        # the lock died with the process: the same import now goes through
        report = reg.import_runs(pd.read_csv(big, dtype={"task": str}))
        assert report.inserted == 3000
    if db_url.startswith("sqlite"):
        engine = create_engine(db_url)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        engine.dispose()
