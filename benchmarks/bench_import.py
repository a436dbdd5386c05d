"""Registry import benchmark: 1,000,000 runs from a CSV file into a SQLite registry.

Run from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/bench_import.py [--rows 1000000] [--reimport]

Generates a runs table (10 experiments x 2 arms x 500 tasks x 10 seeds x 10 metrics by default),
writes it as CSV, creates a fresh SQLite registry, registers the experiments and times reading the
CSV and ``Registry.import_runs`` (one transaction). ``--reimport`` also times importing the same
file again (every row unchanged). The goal is under a minute for a million runs.
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy

import consilience
from consilience.registry import Registry


def make_runs(rows: int, seed: int = 0) -> pd.DataFrame:
    """A tidy runs table of about ``rows`` rows (a full grid of experiments, arms, tasks, seeds)."""
    experiments, arms, seeds, metrics = 10, 2, 10, 10
    tasks = max(1, rows // (experiments * arms * seeds * metrics))
    rng = np.random.default_rng(seed)
    e, a, t, s, m = np.meshgrid(np.arange(experiments), np.arange(arms), np.arange(tasks),
                                np.arange(seeds), np.arange(metrics), indexing="ij")
    n = e.size
    return pd.DataFrame({
        "experiment": np.char.add("exp", e.ravel().astype(str)),
        "arm": np.where(a.ravel() == 0, "baseline", "candidate"),
        "task": np.char.add("task", t.ravel().astype(str)),
        "seed": s.ravel(),
        "metric": np.char.add("metric", m.ravel().astype(str)),
        "value": rng.uniform(0.5, 0.9, n).round(6),
        "n_eval": 10_000,
        "status": "complete",
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reimport", action="store_true", help="also time a second import")
    args = parser.parse_args()
    print(f"consilience {consilience.__version__}, pandas {pd.__version__}, SQLAlchemy "
          f"{sqlalchemy.__version__}, SQLite {__import__('sqlite3').sqlite_version}, Python "
          f"{platform.python_version()}, {platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "runs.csv"
        frame = make_runs(args.rows)
        frame.to_csv(csv, index=False)
        print(f"{len(frame):,} runs, CSV {csv.stat().st_size / 2**20:.0f} MiB")
        del frame
        reg = Registry(f"sqlite:///{tmp}/registry.db", create=True, actor="bench")
        t0 = time.perf_counter()
        table = pd.read_csv(csv)
        t_read = time.perf_counter() - t0
        for i, name in enumerate(sorted(table["experiment"].unique())):
            reg.add_experiment(name, hypothesis="benchmark", change="benchmark",
                               no_baseline=i == 0)
        t0 = time.perf_counter()
        report = reg.import_runs(table, origin=str(csv.name))
        t_import = time.perf_counter() - t0
        print(f"read CSV {t_read:.1f} s; import_runs {t_import:.1f} s; "
              f"total {t_read + t_import:.1f} s ({report})")
        if args.reimport:
            t0 = time.perf_counter()
            again = reg.import_runs(pd.read_csv(csv), origin=str(csv.name))
            print(f"re-import of the same file: {time.perf_counter() - t0:.1f} s ({again})")
        reg.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
