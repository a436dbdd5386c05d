"""Pooling benchmarks: many small REML analyses in one call, and one very large REML fit.

Run from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/bench_pooling.py [--repeats 15] [--metafor N]

``--metafor N`` also times R metafor's ``rma()`` in a loop over the first N analyses (needs
``Rscript`` with metafor) and checks that the numbers agree.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import consilience
from consilience import meta_analyze, meta_analyze_many


def simulate(m: int, k: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.005, 0.1, (m, k))
    theta = rng.normal(0.2, 0.15, (m, 1)) + rng.normal(0, 0.1, (m, k))
    y = rng.normal(theta, np.sqrt(v))
    return pd.DataFrame({"analysis": np.repeat(np.arange(m), k), "yi": y.ravel(), "vi": v.ravel()})


def best_of(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    return timings(fn, repeats)[0]


def timings(fn, repeats: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best and median wall time of ``repeats`` calls."""
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # printing a warning is not part of the fit
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def time_metafor(frame: pd.DataFrame, n: int) -> tuple[float, pd.DataFrame]:
    sub = frame[frame["analysis"] < n]
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        sub.to_csv(src, index=False)
        script = (
            "suppressMessages(library(metafor)); d <- read.csv(commandArgs(TRUE)[1]);"
            "s <- split(d, d$analysis); t0 <- proc.time()[['elapsed']];"
            "r <- t(sapply(s, function(x) { f <- try(suppressWarnings(rma(x$yi, x$vi, method='REML')), silent=TRUE); if (inherits(f, 'try-error')) c(NA, NA, NA) else c(f$b[1], f$se, f$tau2) }));"
            "el <- proc.time()[['elapsed']] - t0; write.csv(data.frame(estimate=r[,1], se=r[,2], tau2=r[,3]), commandArgs(TRUE)[2], row.names=FALSE);"
            "cat(el)"
        )
        res = subprocess.run(["Rscript", "-e", script, str(src), str(out)], capture_output=True, text=True, check=True)
        return float(res.stdout.strip().split()[-1]), pd.read_csv(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--metafor", type=int, default=0, help="also time metafor on this many analyses")
    args = parser.parse_args()

    print(f"consilience {consilience.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}, {platform.processor() or 'cpu'}")
    frame = simulate(10_000, 20)
    t_batch, t_batch_med = timings(lambda: meta_analyze_many(frame, by="analysis", tau2_ci=False),
                                   args.repeats)
    t_batch_ci, t_batch_ci_med = timings(lambda: meta_analyze_many(frame, by="analysis"), args.repeats)
    print(f"meta_analyze_many, 10,000 analyses x k=20, REML: best {t_batch:.4f} s, median "
          f"{t_batch_med:.4f} s (with Q-profile CIs of tau² and I²: best {t_batch_ci:.4f} s, "
          f"median {t_batch_ci_med:.4f} s)")

    big = simulate(1, 1_000_000, seed=1)
    y, v = big["yi"].to_numpy(), big["vi"].to_numpy()
    t_big = best_of(lambda: meta_analyze(y, v, method="REML"), args.repeats)
    print(f"meta_analyze, one REML fit, k=1,000,000 (full result incl. Q-profile CI): {t_big:.3f} s")

    if args.metafor:
        t_r, ref = time_metafor(frame, args.metafor)
        ours = meta_analyze_many(frame[frame["analysis"] < args.metafor], by="analysis", tau2_ci=False)
        both = ref["estimate"].notna().to_numpy() & ours["converged"].to_numpy()
        err = max(float(np.max(np.abs(ours[c].to_numpy()[both] - ref[c].to_numpy()[both])
                               / np.maximum(np.abs(ref[c].to_numpy()[both]), 1e-12))) for c in ("estimate", "se", "tau2"))
        agree = int((ref["estimate"].isna().to_numpy() == ~ours["converged"].to_numpy()).sum())
        per_r = t_r / args.metafor
        per_us, per_med = t_batch / 10_000, t_batch_med / 10_000
        print(f"metafor rma() loop over {args.metafor} analyses: {t_r:.2f} s ({per_r * 1e3:.2f} ms each); "
              f"consilience {per_us * 1e6:.2f} us each (median {per_med * 1e6:.2f}); ratio "
              f"{per_r / per_us:.0f}x (against the median {per_r / per_med:.0f}x); max relative "
              f"difference {err:.1e}; convergence status agrees on {agree} of {args.metafor}")


if __name__ == "__main__":
    main()
