"""Dashboard page latency with 100,000 runs in the registry.

    python benchmarks/bench_dashboard.py [--runs 100000] [--requests 40]

Builds the example registry (31,346 LCDB runs) in a temporary SQLite file and adds synthetic
experiments against the current baseline until it holds ``--runs`` runs, starts the real
server (``consilience serve``) on a free localhost port, and requests every page over HTTP:
once cold (the first request after start: the analyses behind the page are computed, in the
order of the table, so later pages may reuse analyses of earlier ones) and ``--requests``
times warm (the analyses are cached until the registry changes). Prints the median and 95th
percentile per page as a Markdown table.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

PAGES = ["/", "/leaderboard", "/progress", "/alerts", "/curves",
         "/experiments/random-forest", "/experiments/synthetic-000", "/api/experiments",
         "/api/leaderboard"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build(path: Path, total: int) -> int:
    from consilience.registry.example import build_example_registry

    reg = build_example_registry(path)
    try:
        have = len(reg.runs())
        rng = np.random.default_rng(7)
        i = 0
        while have < total:
            name = f"synthetic-{i:03d}"
            reg.add_experiment(name, change=f"synthetic change {i}", baseline="random-forest",
                               status="complete", min_effect=0.01,
                               moderators={"model_family": "synthetic"})
            tasks, seeds = 100, 5
            n = min(tasks * seeds * 2, total - have)
            task = np.repeat(np.arange(tasks), seeds * 2)[:n]
            arm = np.tile(np.repeat(["baseline", "candidate"], seeds), tasks)[:n]
            seed = np.tile(np.arange(seeds), tasks * 2)[:n]
            level = rng.uniform(0.6, 0.95, tasks)[task]
            gain = np.where(arm == "candidate", rng.normal(0.005, 0.01, tasks)[task], 0.0)
            frame = pd.DataFrame({"experiment": name, "arm": arm, "task": [f"t{t}" for t in task],
                                  "seed": seed, "metric": "accuracy",
                                  "value": np.clip(level + gain + rng.normal(0, 0.01, n), 0, 1),
                                  "n_eval": 2000})
            reg.import_runs(frame, source="synthetic")
            have += n
            i += 1
        return have
    finally:
        reg.close()


def fetch(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as resp:
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t = time.perf_counter()
        n = build(db, args.runs)
        print(f"registry with {n:,} runs built in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "consilience.cli.main", "serve", "--db", str(db), "--port",
             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    fetch(base + "/openapi.json")  # computes no analysis
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            print("| page | cold (s) | warm median (ms) | warm p95 (ms) |")
            print("|---|---|---|---|")
            for page in PAGES:
                cold = fetch(base + page)
                warm = np.array([fetch(base + page) for _ in range(args.requests)]) * 1000
                print(f"| `{page}` | {cold:.2f} | {np.median(warm):.0f} | "
                      f"{np.percentile(warm, 95):.0f} |")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
