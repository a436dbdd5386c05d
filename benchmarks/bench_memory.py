"""Memory benchmark: peak memory of one very large REML fit and of a very large batch.

Run from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/bench_memory.py [--studies 1000000] [--analyses 100000] [--k 20]

Each case runs in a fresh Python process, which reports: its resident set size after the data are
made and before the fit (imports and data), the peak resident set size (``ru_maxrss``) after the
fit, and the peak of memory allocated during the fit as ``tracemalloc`` sees it (numpy reports
its arrays to it), so the last number is what the fit itself needs.

* ``single``: ``meta_analyze(yi, vi, method="REML")`` on one analysis of ``--studies`` studies
  (full result with the Q-profile interval);
* ``batch``: ``meta_analyze_many`` (REML, with Q-profile intervals) on ``--analyses`` analyses of
  ``--k`` studies.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import json, resource, sys, time, tracemalloc, warnings
sys.path.insert(0, {here!r})
from bench_pooling import simulate
from consilience import meta_analyze, meta_analyze_many
warnings.simplefilter("ignore")
case, n, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if case == "single":
    frame = simulate(1, n, seed=1)
    y, v = frame["yi"].to_numpy(), frame["vi"].to_numpy()
    del frame
    fit = lambda: meta_analyze(y, v, method="REML")
else:
    frame = simulate(n, k)
    fit = lambda: meta_analyze_many(frame, by="analysis")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
t0 = time.perf_counter()
fit()
seconds = time.perf_counter() - t0
traced = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"before_mib": before / 1024, "peak_mib": peak / 1024,
                  "traced_peak_mib": traced / 2**20, "seconds": seconds}}))
"""


def run(case: str, n: int, k: int) -> dict[str, float]:
    res = subprocess.run([sys.executable, "-c", CHILD.format(here=str(HERE)), case, str(n), str(k)],
                         capture_output=True, text=True, check=True)
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=1_000_000)
    parser.add_argument("--analyses", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=20)
    args = parser.parse_args()
    for case, n, what in (("single", args.studies, f"one REML fit, k = {args.studies:,}"),
                          ("batch", args.analyses,
                           f"meta_analyze_many, {args.analyses:,} analyses x k = {args.k}")):
        r = run(case, n, args.k)
        print(f"{what}: peak RSS {r['peak_mib']:.0f} MiB (process with data before the fit "
              f"{r['before_mib']:.0f} MiB); allocated by the fit at its peak "
              f"{r['traced_peak_mib']:.0f} MiB; {r['seconds']:.2f} s (under tracemalloc)")


if __name__ == "__main__":
    main()
