"""consilience against other meta-analysis tools, on the same simulated data, in one run.

Run from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/bench_tools.py [--analyses 10000] [--k 20] [--metafor 10000]
        [--statsmodels 2000] [--repeats 15]

Data: ``--analyses`` meta-analyses of ``--k`` studies each (``bench_pooling.simulate``, seed 0).
Tools and what is compared:

* consilience ``meta_analyze_many`` (REML, DL, PM): one vectorised call, best and median of
  ``--repeats`` calls (ratios are given against both);
* R metafor ``rma()`` in a loop over the first ``--metafor`` analyses (via ``Rscript``; the time
  is measured inside R around the loop), REML: estimate, se, tau² and convergence read back;
* statsmodels ``combine_effects`` in a loop over the first ``--statsmodels`` analyses, with
  ``method_re="dl"`` (compared with consilience DL) and ``"iterated"`` (Paule-Mandel, compared
  with consilience PM);
* PyMARE ``DerSimonianLaird`` and ``VarianceBasedLikelihoodEstimator(method="REML")``, which fit
  all analyses in one call (studies x analyses arrays);
* pimeta (R): used when the R package is installed, otherwise reported as unavailable.

Agreement: the largest relative difference of estimates (and standard errors) and the largest
absolute difference of tau² over the analyses both tools fitted.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pooling import best_of, simulate, timings

import consilience
from consilience import meta_analyze_many

ROWS: list[dict[str, Any]] = []


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return float("nan")
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-8)))


def abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.max(np.abs(a[ok] - b[ok]))) if ok.any() else float("nan")


def agreement(est: np.ndarray, ref_est: np.ndarray, tau2: np.ndarray, ref_tau2: np.ndarray,
              se: np.ndarray | None = None, ref_se: np.ndarray | None = None) -> str:
    """Largest relative difference of estimates (and se), largest absolute one of tau²."""
    text = f"estimate rel. {rel_diff(est, ref_est):.1e}"
    if se is not None and ref_se is not None:
        text += f", se rel. {rel_diff(se, ref_se):.1e}"
    return text + f", tau2 abs. {abs_diff(tau2, ref_tau2):.1e}"


def record(tool: str, method: str, n: int, seconds: float, ours_per: float, diff: str,
           ours_per_median: float | None = None, median_seconds: float | None = None) -> None:
    """One table row; speed-ups against consilience's best and median time per analysis."""
    per = seconds / n
    ROWS.append({"tool": tool, "method": method, "analyses": n, "seconds": seconds,
                 "median_seconds": median_seconds if median_seconds is not None else np.nan,
                 "per_analysis_us": per * 1e6, "consilience_speedup": per / ours_per,
                 "speedup_vs_median": per / ours_per_median if ours_per_median else np.nan,
                 "agreement": diff})


def ours(frame: pd.DataFrame, method: Any, repeats: int,
         tau2_ci: bool = False) -> tuple[tuple[float, float], pd.DataFrame]:
    def fit() -> pd.DataFrame:
        return meta_analyze_many(frame, by="analysis", method=method, tau2_ci=tau2_ci)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return timings(fit, repeats), fit()


def run_metafor(frame: pd.DataFrame, n: int) -> tuple[float, pd.DataFrame, str]:
    sub = frame[frame["analysis"] < n]
    script = (
        "suppressMessages(library(metafor)); d <- read.csv(commandArgs(TRUE)[1]);"
        "s <- split(d, d$analysis); t0 <- proc.time()[['elapsed']];"
        "r <- t(sapply(s, function(x) { f <- try(suppressWarnings(rma(x$yi, x$vi,"
        " method='REML')), silent=TRUE); if (inherits(f, 'try-error')) c(NA, NA, NA)"
        " else c(f$b[1], f$se, f$tau2) }));"
        "el <- proc.time()[['elapsed']] - t0;"
        "write.csv(data.frame(estimate=r[,1], se=r[,2], tau2=r[,3]), commandArgs(TRUE)[2],"
        " row.names=FALSE); cat(el, as.character(packageVersion('metafor')), R.version$major,"
        " R.version$minor)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "in.csv", Path(tmp) / "out.csv"
        sub.to_csv(src, index=False)
        res = subprocess.run(["Rscript", "-e", script, str(src), str(out)], capture_output=True,
                             text=True, check=True)
        parts = res.stdout.split()
        return float(parts[-4]), pd.read_csv(out), f"metafor {parts[-3]}, R {parts[-2]}.{parts[-1]}"


def pimeta_status() -> str:
    try:
        res = subprocess.run(["Rscript", "-e", "cat(requireNamespace('pimeta', quietly=TRUE))"],
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"not run (Rscript failed: {exc})"
    if res.stdout.strip().endswith("TRUE"):
        return "installed (not timed by this script)"
    apt = subprocess.run(["apt-cache", "policy", "r-cran-pimeta"], capture_output=True, text=True,
                         check=False)
    listed = "Candidate" in apt.stdout
    return ("not installed; r-cran-pimeta is " + ("listed by apt" if listed else
            "not in the configured apt repositories"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--analyses", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--metafor", type=int, default=10_000, help="0 to skip")
    parser.add_argument("--statsmodels", type=int, default=2_000, help="0 to skip")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    versions = {name: importlib.metadata.version(name) for name in
                ("numpy", "scipy", "pandas", "statsmodels", "PyMARE")}
    print(f"consilience {consilience.__version__}, Python {platform.python_version()}, "
          + ", ".join(f"{k} {v}" for k, v in versions.items()) + f", {platform.machine()}")
    frame = simulate(args.analyses, args.k)
    m = args.analyses
    t_reml, reml = ours(frame, "REML", args.repeats)
    t_reml_ci, _ = ours(frame, "REML", args.repeats, tau2_ci=True)
    t_dl, dl = ours(frame, "DL", args.repeats)
    t_pm, pm = ours(frame, "PM", args.repeats)
    for method, (t, t_med) in (("REML", t_reml), ("REML + Q-profile CIs", t_reml_ci),
                               ("DL", t_dl), ("PM", t_pm)):
        record(f"consilience {consilience.__version__}", method, m, t, t / m, "-",
               median_seconds=t_med)
    med_reml = t_reml[1] / m
    per_reml, per_dl, per_pm = t_reml[0] / m, t_dl[0] / m, t_pm[0] / m

    if args.metafor:
        n = min(args.metafor, m)
        t_r, ref, version = run_metafor(frame, n)
        part = reml.iloc[:n]
        both = ref["estimate"].notna().to_numpy() & part["converged"].to_numpy()
        diff = max(rel_diff(part[c].to_numpy()[both], ref[c].to_numpy()[both])
                   for c in ("estimate", "se", "tau2"))
        same = int((ref["estimate"].isna().to_numpy() == ~part["converged"].to_numpy()).sum())
        record(version, "REML (rma loop)", n, t_r, per_reml,
               f"estimate, se, tau2 rel. {diff:.1e}; convergence agrees {same}/{n}",
               ours_per_median=med_reml)

    if args.statsmodels:
        import statsmodels.stats.meta_analysis as smm

        n = min(args.statsmodels, m)
        y = frame["yi"].to_numpy().reshape(m, args.k)[:n]
        v = frame["vi"].to_numpy().reshape(m, args.k)[:n]
        for method_re, ref_frame, per, label in (("dl", dl, per_dl, "DL"),
                                                 ("iterated", pm, per_pm, "PM (iterated)")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # sqrt of a negative tau² in statsmodels
                t0 = time.perf_counter()
                res = [smm.combine_effects(y[j], v[j], method_re=method_re) for j in range(n)]
                t_sm = time.perf_counter() - t0
            tau2 = np.array([r.tau2 for r in res])
            est = np.array([r.mean_effect_re for r in res])
            se = np.array([r.sd_eff_w_re for r in res])
            ref_part = ref_frame.iloc[:n]
            keep = tau2 >= 0  # statsmodels does not truncate DL's tau² at 0
            note = agreement(est[keep], ref_part["estimate"].to_numpy()[keep], tau2[keep],
                             ref_part["tau2"].to_numpy()[keep], se[keep],
                             ref_part["se"].to_numpy()[keep])
            if (~keep).any():
                note += f" ({int((~keep).sum())} analyses with tau2 < 0 in statsmodels left out)"
            record(f"statsmodels {versions['statsmodels']}", f"{label}, combine_effects loop", n,
                   t_sm, per, note)

    from pymare.estimators import DerSimonianLaird, VarianceBasedLikelihoodEstimator

    Y = frame["yi"].to_numpy().reshape(m, args.k).T
    V = frame["vi"].to_numpy().reshape(m, args.k).T
    X = np.ones((args.k, 1))
    for est_cls, kwargs, ref_frame, per, label in (
            (DerSimonianLaird, {}, dl, per_dl, "DL"),
            (VarianceBasedLikelihoodEstimator, {"method": "REML"}, reml, per_reml, "REML")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = est_cls(**kwargs).fit(y=Y, v=V, X=X)
            t_pm_ = best_of(lambda est_cls=est_cls, kwargs=kwargs: est_cls(**kwargs).fit(
                y=Y, v=V, X=X), max(1, args.repeats // 2))
        tau2 = np.ravel(fitted.params_["tau2"])
        est = np.ravel(fitted.params_["fe_params"])
        ok = ref_frame["converged"].to_numpy()
        record(f"PyMARE {versions['PyMARE']}", f"{label}, one call", m, t_pm_, per,
               agreement(est[ok], ref_frame["estimate"].to_numpy()[ok], tau2[ok],
                         ref_frame["tau2"].to_numpy()[ok]))

    table = pd.DataFrame(ROWS)
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"pimeta: {pimeta_status()}")


if __name__ == "__main__":
    main()
