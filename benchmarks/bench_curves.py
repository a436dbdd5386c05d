"""Extrapolation benchmark on real learning curves from the Learning Curve Database (LCDB 1.0).

The PyPI package ``lcdb`` (0.1.0) ships ``database-accuracy.csv``: about 1.95 million accuracy
measurements of 20 scikit-learn learners on 248 OpenML data sets, over 5 outer x 5 (or more)
inner seeds, at training sizes 16, 23, 32, ... (powers of sqrt 2) plus the full training size.
A curve here is one (data set, learner) pair, its error at each anchor averaged over all seeds.

Protocol, per curve: fit on the anchors up to ``final_size / ratio`` and predict the error at

* the next anchor after the cut-off (a small extrapolation, about x1.4), and
* the final anchor (a large one, at least x``ratio``).

Curves with fewer than ``--min-anchors`` anchors before the cut-off are left out (counted in the
output). The data sets are split in two halves by a permutation of their OpenML ids drawn with
``numpy.random.default_rng(0)``: the ensemble's settings (five families, inverse-RMSE weights, a
quarter of the anchors held back) and the band calibration (``scripts/calibrate_curve_bands.py``)
were chosen on the ``dev`` half; the ``test`` half checks them. Every curve of each half is
fitted (no sampling), all curves of a half in one ``LearningCurve.fit_many`` call. Every family
is scored, and the two ways of choosing (holdout selection and the weighted ensemble). Errors
are absolute differences in error rate (= accuracy). The same fits, bootstrapped over seeds,
give the coverage of the 95% bands at both distances, with the plain bootstrap percentiles and
with the calibrated band.

Usage::

    pip install --no-deps lcdb   # the data files only; the package's own imports are not used
    python benchmarks/bench_curves.py --out benchmarks/curves_report.md

The data file is located inside the installed ``lcdb`` package without importing it (its import
pulls in scikit-learn); pass ``--data path/to/database-accuracy.csv`` to use another copy.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import platform
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from consilience.curves import FAMILIES, FAMILY_NAMES, CurveFit, LearningCurve, choose_families
from consilience.errors import ConsilienceWarning

SPLIT_SEED = 0


def locate_data(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    spec = importlib.util.find_spec("lcdb")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("lcdb is not installed: pip install --no-deps lcdb, or pass --data")
    return Path(next(iter(spec.submodule_search_locations))) / "database-accuracy.csv"


def load_curves(path: Path, score: str) -> pd.DataFrame:
    cols = ["openmlid", "learner", "size_train", "outer_seed", "inner_seed", score]
    frame = pd.read_csv(path, usecols=cols)
    frame["seed"] = frame["outer_seed"].astype(str) + "-" + frame["inner_seed"].astype(str)
    return frame.rename(columns={score: "score"})


def split_ids(data: pd.DataFrame, split: str) -> set[Any]:
    """OpenML ids of the ``dev`` or ``test`` half (or all of them)."""
    ids = np.random.default_rng(SPLIT_SEED).permutation(np.sort(data["openmlid"].unique()))
    if split == "all":
        return set(ids)
    return set(ids[: ids.size // 2]) if split == "dev" else set(ids[ids.size // 2:])


def curves_of(data: pd.DataFrame, ids: set[Any]) -> Iterator[tuple[tuple[Any, Any], pd.DataFrame]]:
    """Every (data set, learner) curve of the given data sets, in a fixed order."""
    part = data[data["openmlid"].isin(ids)]
    yield from part.groupby(["openmlid", "learner"], sort=True)


def mean_curve(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    mean = rows.groupby("size_train")["score"].mean().sort_index()
    return mean.index.to_numpy(dtype=float), mean.to_numpy(dtype=float)


def clip_error(err: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(err, 0.0, 1.0), dtype=float)


def evaluate(fit: CurveFit, sizes: np.ndarray, score: np.ndarray, n_fit: int,
             variants: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """Absolute errors of every family and method, and band coverage, at the two targets."""
    targets = np.array([n_fit, sizes.size - 1])
    x, error = sizes[targets], 1.0 - score[targets]
    out: dict[str, Any] = {"n_fit": n_fit, "ratio_final": sizes[-1] / sizes[n_fit - 1],
                           "flagged": float(bool(fit.flags))}
    preds: dict[str, np.ndarray] = {}
    for f in fit.fits:
        preds[f.family] = (clip_error(FAMILIES[f.family].evaluate(x, np.asarray(f.params), fit.scale))
                           if f.ok else np.full(2, np.nan))
        out[f"failed_{f.family}"] = float(not f.ok)
    usable = {f.family for f in fit.fits if f.ok}
    for label, (method, k) in variants.items():
        chosen, weights = choose_families(fit.holdout_rmse, usable, method=method,  # type: ignore[arg-type]
                                          ensemble_size=k)
        preds[label] = np.sum([w * preds[n] for n, w in zip(chosen, weights)], axis=0)
    for name, p in preds.items():
        for j, t in enumerate(("next", "final")):
            out[f"{t}:{name}"] = abs(float(p[j]) - error[j])
    if fit.n_boot_ok:
        alpha = (1.0 - fit.level) / 2.0
        for band, calibrated in (("bootstrap", False), ("calibrated", True)):
            lo, hi = np.quantile(fit.draws(x, calibrated=calibrated), [alpha, 1.0 - alpha], axis=0)
            for j, t in enumerate(("next", "final")):
                out[f"cover_{band}_{t}"] = float(lo[j] <= score[targets[j]] <= hi[j])
                out[f"width_{band}_{t}"] = float(hi[j] - lo[j])
    return out


def summarise(results: pd.DataFrame, names: list[str], target: str) -> pd.DataFrame:
    rows = []
    errs = results[[f"{target}:{n}" for n in names]].to_numpy()
    common = np.all(np.isfinite(errs), axis=1)
    ranks = pd.DataFrame(errs[common]).rank(axis=1).mean().to_numpy()
    for j, name in enumerate(names):
        e = errs[common, j]
        fails = results[f"failed_{name}"].mean() if f"failed_{name}" in results else 0.0
        rows.append({"method": name, "mean_abs_error": e.mean(), "median_abs_error": np.median(e),
                     "p90_abs_error": np.quantile(e, 0.9), "rmse": np.sqrt(np.mean(e**2)),
                     "mean_rank": ranks[j], "fit_failures_pct": 100 * fails})
    return pd.DataFrame(rows).sort_values("mean_abs_error").reset_index(drop=True)


def to_markdown(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    body = ""
    for row in frame.itertuples(index=False):
        cells = [f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
        body += "| " + " | ".join(cells) + " |\n"
    return head + body


def run_split(data: pd.DataFrame, split: str, args: argparse.Namespace,
              variants: dict[str, tuple[str, int]]) -> tuple[list[str], dict[str, float]]:
    """Fit every curve of one half and return its report lines and timings."""
    estimator = LearningCurve(n_boot=args.n_boot, worst_score=0.0, seed=args.seed)
    keys, parts, full, skipped, n_curves = [], [], [], 0, 0
    for key, rows in curves_of(data, split_ids(data, split)):
        n_curves += 1
        sizes, score = mean_curve(rows)
        n_fit = int(np.sum(sizes <= sizes[-1] / args.ratio))
        if n_fit < args.min_anchors or n_fit >= sizes.size:
            skipped += 1
            continue
        part = rows[rows["size_train"] <= sizes[-1] / args.ratio]
        keys.append(key)
        parts.append(part)
        full.append((sizes, score, n_fit))
    t0 = time.perf_counter()
    fits = estimator.fit_many([p["size_train"].to_numpy() for p in parts],
                              [p["score"].to_numpy() for p in parts],
                              [p["seed"].to_numpy() for p in parts])
    t_fit = time.perf_counter() - t0
    table = pd.DataFrame([evaluate(f, *c, variants) for f, c in zip(fits, full)])
    names = list(FAMILY_NAMES) + list(variants)
    singles = list(FAMILY_NAMES)
    described = (f"{n_curves:,} curves (data set x learner); {skipped} had fewer than {args.min_anchors} anchors "
                 f"up to final size / {args.ratio:g} and were left out, leaving {len(table):,}, all fitted. Median "
                 f"anchors fitted: {table['n_fit'].median():.0f}; median extrapolation to the final anchor: "
                 f"x{table['ratio_final'].median():.1f}. {100 * table['flagged'].mean():.0f}% of curves carry a "
                 f"shape flag. Fitting and bootstrapping them took {t_fit:.0f} s "
                 f"({t_fit / max(len(table), 1):.3f} s per curve).")
    lines = [f"## Split `{split}`", "", described, ""]
    for t, title in (("next", "Next anchor after the cut-off (small extrapolation, x1.4)"),
                     ("final", f"Final anchor (large extrapolation, >= x{args.ratio:g})")):
        summary = summarise(table, names, t)
        best_single = summary[summary["method"].isin(singles)].iloc[0]
        ens = summary[summary["method"] == "ensemble"].iloc[0]
        verdict = "lower" if ens["mean_abs_error"] < best_single["mean_abs_error"] else "NOT lower"
        conclusion = (f"Ensemble mean absolute error {ens['mean_abs_error']:.4f}: {verdict} than every single "
                      f"family (best: {best_single['method']}, {best_single['mean_abs_error']:.4f}).")
        lines += [f"### {title}", "",
                  "Absolute error in accuracy over curves where every family could be fitted.", "",
                  to_markdown(summary), "", conclusion, ""]
    if args.n_boot:
        cov = table.filter(like="cover_").mean()
        width = table.filter(like="width_").mean()
        heading = (f"### Coverage of the {100 * estimator.level:g}% bands ({args.n_boot} bootstrap replicates "
                   f"over seeds, {int(table['cover_bootstrap_next'].notna().sum()):,} curves)")
        lines += [heading, "",
                  "| band | coverage next | coverage final | mean width next | mean width final |",
                  "|---|---|---|---|---|"]
        for band in ("bootstrap", "calibrated"):
            lines.append(f"| {band} | {cov[f'cover_{band}_next']:.3f} | {cov[f'cover_{band}_final']:.3f} | "
                         f"{width[f'width_{band}_next']:.4f} | {width[f'width_{band}_final']:.4f} |")
        lines.append("")
    return lines, {"fit": t_fit, "curves": float(len(table))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--score", default="score_test", choices=["score_test", "score_valid"])
    parser.add_argument("--ratio", type=float, default=4.0)
    parser.add_argument("--min-anchors", type=int, default=6)
    parser.add_argument("--splits", default="dev,test", help="comma-separated halves to run: dev, test or all")
    parser.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates (0: no coverage)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the bootstrap")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.simplefilter("error", ConsilienceWarning)

    t0 = time.perf_counter()
    data = load_curves(locate_data(args.data), args.score)
    t_load = time.perf_counter() - t0
    variants = {"select": ("select", 1), "ensemble": ("ensemble", LearningCurve().ensemble_size)}
    body: list[str] = []
    t_fit, n_fitted = 0.0, 0.0
    for split in args.splits.split(","):
        lines, times = run_split(data, split, args, variants)
        body += lines
        t_fit += times["fit"]
        n_fitted += times["curves"]
    total = time.perf_counter() - t0
    lcdb_version = importlib.metadata.version("lcdb") if importlib.util.find_spec("lcdb") else "n/a"
    machine = (f"Machine: {platform.machine()}, {platform.system()}, {os.cpu_count()} cores (shared), Python "
               f"{platform.python_version()}, one process. Versions: consilience "
               f"{importlib.metadata.version('consilience')}, numpy {np.__version__}, scipy "
               f"{importlib.metadata.version('scipy')}, pandas {pd.__version__}, lcdb {lcdb_version}.")
    timing = (f"Runtime: {total / 60:.1f} min in all: load {t_load:.0f} s; fitting {n_fitted:,.0f} curves "
              f"(every family twice per curve, to the earlier anchors for the choice and to all, then the "
              f"chosen families refitted to {args.n_boot} bootstrap replicates) {t_fit:.0f} s, "
              f"{t_fit / max(n_fitted, 1):.3f} s per curve.")
    head = ["# Learning-curve extrapolation on LCDB", "",
            f"Command: `python benchmarks/bench_curves.py {' '.join(sys.argv[1:])}`", "", machine, "",
            f"Data: `database-accuracy.csv` from lcdb, column `{args.score}`, {len(data):,} rows.", "", timing, ""]
    report = "\n".join(head + body)
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
