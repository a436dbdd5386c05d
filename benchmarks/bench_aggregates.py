"""Aggregates with stratified-bootstrap intervals: consilience against rliable, side by side.

    python benchmarks/bench_aggregates.py [--reps 50000] [--repeat 3] [--no-rliable]

Both libraries get the same score matrices (3 arms x 10 runs x 12 tasks, the data of
``tests/reference/rliable``) and compute mean, median, IQM and optimality gap with 95% percentile
intervals from ``reps`` stratified bootstrap replicates. rliable 1.2.0 needs ``arch<8`` and
``pandas<3``, so it runs in its own virtual environment (``benchmarks/.venv-rliable``, created on
first use from the package index); its point estimates are checked equal to ours, and interval
ends within Monte-Carlo error. Prints one Markdown table row per library and the speed ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REF = HERE.parent / "tests" / "reference" / "rliable" / "reference.json"
RLIABLE_ENV = HERE / ".venv-rliable"
NAMES = ["mean", "median", "iqm", "optimality_gap"]

RLIABLE_SNIPPET = """
import json, sys, time
import numpy as np
from rliable import library as rly, metrics
data = {k: np.asarray(v) for k, v in json.load(sys.stdin)["scores"].items()}
reps, repeat = int(sys.argv[1]), int(sys.argv[2])
f = lambda x: np.array([metrics.aggregate_mean(x), metrics.aggregate_median(x),
                        metrics.aggregate_iqm(x), metrics.aggregate_optimality_gap(x)])
times = []
for r in range(repeat):
    np.random.seed(r)
    t = time.perf_counter()
    point, interval = rly.get_interval_estimates(data, f, reps=reps)
    times.append(time.perf_counter() - t)
print(json.dumps({"seconds": times, "point": {k: v.tolist() for k, v in point.items()},
                  "interval": {k: v.tolist() for k, v in interval.items()}}))
"""


def long_table(scores: dict[str, list[list[float]]]) -> pd.DataFrame:
    frames = []
    for arm, matrix in scores.items():
        m = np.asarray(matrix)
        runs, tasks = np.meshgrid(np.arange(m.shape[0]), np.arange(m.shape[1]), indexing="ij")
        frames.append(pd.DataFrame({"arm": arm, "task": tasks.ravel().astype(str),
                                    "seed": runs.ravel(), "metric": "score", "value": m.ravel()}))
    return pd.concat(frames, ignore_index=True)


def rliable_python() -> Path:
    python = RLIABLE_ENV / "bin" / "python"
    if not python.exists():
        print("creating benchmarks/.venv-rliable (rliable 1.2.0, arch 7.2.0, pandas<3)",
              file=sys.stderr)
        venv.create(RLIABLE_ENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "rliable==1.2.0",
                        "arch==7.2.0", "pandas<3"], check=True)
    return python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-rliable", action="store_true")
    args = parser.parse_args()

    from consilience.compare import aggregate
    from consilience.compare.metrics import MetricSpec

    ref = json.loads(REF.read_text())
    runs = long_table(ref["scores"])
    spec = {"score": MetricSpec(direction="higher", kind="continuous")}
    aggregate(runs, metrics=spec, reps=200)  # warm-up (imports, first-call costs)
    ours = []
    for r in range(args.repeat):
        t = time.perf_counter()
        res = aggregate(runs, metrics=spec, reps=args.reps, seed=r)
        ours.append(time.perf_counter() - t)
    table = res.to_frame()
    print(f"| library | reps | best of {args.repeat} (s) |")
    print("|---|---|---|")
    print(f"| consilience | {args.reps} | {min(ours):.3f} |")
    if args.no_rliable:
        return
    python = rliable_python()
    proc = subprocess.run([str(python), "-c", RLIABLE_SNIPPET, str(args.reps), str(args.repeat)],
                          input=json.dumps({"scores": ref["scores"]}), capture_output=True,
                          text=True, check=True)
    theirs = json.loads(proc.stdout)
    print(f"| rliable 1.2.0 | {args.reps} | {min(theirs['seconds']):.3f} |")
    print(f"\nconsilience is {min(theirs['seconds']) / min(ours):.1f}x faster")
    worst_point, worst_end = 0.0, 0.0
    for arm, point in theirs["point"].items():
        for i, name in enumerate(NAMES):
            row = table[(table["arm"] == arm) & (table["statistic"] == name)].iloc[0]
            worst_point = max(worst_point, abs(row["estimate"] - point[i]))
            lo, hi = theirs["interval"][arm][0][i], theirs["interval"][arm][1][i]
            worst_end = max(worst_end, abs(row["ci_low"] - lo), abs(row["ci_high"] - hi))
    print(f"largest point-estimate difference {worst_point:.2e}; "
          f"largest interval-end difference {worst_end:.2e} (Monte-Carlo error)")


if __name__ == "__main__":
    main()
