"""Extrapolation benchmark on real learning curves from the Learning Curve Database (LCDB 1.0).

The PyPI package ``lcdb`` (0.1.0) ships ``database-accuracy.csv``: about 1.95 million accuracy
measurements of 20 scikit-learn learners on 248 OpenML data sets, over 5 outer x 5 (or more)
inner seeds, at training sizes 16, 23, 32, ... (powers of sqrt 2) plus the full training size.
A curve here is one (data set, learner) pair, its error at each anchor averaged over all seeds.

Protocol, per curve: fit on the anchors up to ``final_size / ratio`` and predict the error at

* the next anchor after the cut-off (a small extrapolation, about x1.4), and
* the final anchor (a large one, at least x``ratio``).

Curves with fewer than ``--min-anchors`` anchors before the cut-off are left out (counted in the
output). The ensemble's settings (five families, inverse-RMSE weights, a quarter of the anchors
held back) were chosen on one half of the data sets (``--split dev``); the report uses the other
half (``--split test``): the data sets are split by a permutation of their OpenML ids drawn with
``numpy.random.default_rng(0)``. Every family is scored, and the chosen method (holdout selection or the weighted
ensemble). Errors are absolute differences in error rate (= accuracy). A second, smaller sample
is bootstrapped over seeds to check the coverage of the 95% intervals.

Usage::

    pip install --no-deps lcdb   # the data files only; the package's own imports are not used
    python benchmarks/bench_curves.py --split test --sample 600 --boot-sample 60 --out benchmarks/curves_RESULTS.md

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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from consilience.curves import FAMILIES, FAMILY_NAMES, LearningCurve, choose_families
from consilience.errors import ConsilienceWarning


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


def clip_error(err: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(err, 0.0, 1.0), dtype=float)


def evaluate_curve(rows: pd.DataFrame, ratio: float, min_anchors: int, estimator: LearningCurve,
                   variants: dict[str, tuple[str, int]]) -> dict[str, Any] | None:
    mean = rows.groupby("size_train")["score"].mean().sort_index()
    sizes = mean.index.to_numpy(dtype=float)
    error = 1.0 - mean.to_numpy()
    cut = sizes[-1] / ratio
    n_fit = int(np.sum(sizes <= cut))
    if n_fit < min_anchors or n_fit >= sizes.size:
        return None
    targets = {"next": n_fit, "final": sizes.size - 1}
    part = rows[rows["size_train"] <= cut]
    fit = estimator.fit(part["size_train"], part["score"], part["seed"])
    out: dict[str, Any] = {"n_fit": n_fit, "ratio_final": sizes[-1] / sizes[n_fit - 1]}
    preds: dict[str, np.ndarray] = {}
    for f in fit.fits:
        x = sizes[list(targets.values())]
        preds[f.family] = (clip_error(FAMILIES[f.family].evaluate(x, np.asarray(f.params), fit.scale))
                           if f.ok else np.full(2, np.nan))
        out[f"failed_{f.family}"] = float(not f.ok)
    usable = {f.family for f in fit.fits if f.ok}
    for label, (method, k) in variants.items():
        chosen, weights = choose_families(fit.holdout_rmse, usable, method=method,  # type: ignore[arg-type]
                                          ensemble_size=k)
        preds[label] = np.sum([w * preds[n] for n, w in zip(chosen, weights)], axis=0)
        if label == "ensemble":
            out["chosen_first"] = FAMILY_NAMES.index(chosen[0])
    for name, p in preds.items():
        for j, (tname, idx) in enumerate(targets.items()):
            out[f"{tname}:{name}"] = abs(float(p[j]) - error[idx])
    out["flagged"] = float(bool(fit.flags))
    return out


def coverage(rows_by_curve: list[pd.DataFrame], ratio: float, min_anchors: int, n_boot: int) -> dict[str, float]:
    est = LearningCurve(n_boot=n_boot, worst_score=0.0, seed=1)
    hits: dict[str, list[float]] = {"next": [], "final": []}
    widths: dict[str, list[float]] = {"next": [], "final": []}
    for rows in rows_by_curve:
        mean = rows.groupby("size_train")["score"].mean().sort_index()
        sizes = mean.index.to_numpy(dtype=float)
        cut = sizes[-1] / ratio
        n_fit = int(np.sum(sizes <= cut))
        part = rows[rows["size_train"] <= cut]
        fit = est.fit(part["size_train"], part["score"], part["seed"])
        band = fit.predict(sizes[[n_fit, sizes.size - 1]])
        for j, t in enumerate(("next", "final")):
            truth = float(mean.iloc[[n_fit, sizes.size - 1][j]])
            low, high = float(band["ci_low"].iloc[j]), float(band["ci_high"].iloc[j])
            hits[t].append(float(low <= truth <= high))
            widths[t].append(high - low)
    return {f"{k}_{t}": float(np.mean(v)) for k, d in (("coverage", hits), ("width", widths)) for t, v in d.items()}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=None)
    parser.add_argument("--score", default="score_test", choices=["score_test", "score_valid"])
    parser.add_argument("--ratio", type=float, default=4.0)
    parser.add_argument("--min-anchors", type=int, default=6)
    parser.add_argument("--split", default="test", choices=["all", "dev", "test"],
                        help="data sets to use: the half used to choose settings (dev) or the other (test)")
    parser.add_argument("--sample", type=int, default=600, help="curves to evaluate (0 = all)")
    parser.add_argument("--boot-sample", type=int, default=60)
    parser.add_argument("--n-boot", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.simplefilter("error", ConsilienceWarning)

    t0 = time.perf_counter()
    path = locate_data(args.data)
    data = load_curves(path, args.score)
    keys = data[["openmlid", "learner"]].drop_duplicates().reset_index(drop=True)
    if args.split != "all":
        ids = np.random.default_rng(0).permutation(np.sort(data["openmlid"].unique()))
        half = set(ids[: ids.size // 2]) if args.split == "dev" else set(ids[ids.size // 2:])
        keys = keys[keys["openmlid"].isin(half)].reset_index(drop=True)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(keys))
    chosen_keys = keys.iloc[order if args.sample == 0 else order[: args.sample]]
    groups = dict(tuple(data.groupby(["openmlid", "learner"])))
    t_load = time.perf_counter() - t0

    variants = {"select": ("select", 1), "ensemble": ("ensemble", LearningCurve().ensemble_size)}
    estimator = LearningCurve(n_boot=0, worst_score=0.0)
    results, skipped = [], 0
    t1 = time.perf_counter()
    for key in chosen_keys.itertuples(index=False):
        res = evaluate_curve(groups[(key.openmlid, key.learner)], args.ratio, args.min_anchors, estimator, variants)
        if res is None:
            skipped += 1
            continue
        res.update({"openmlid": key.openmlid, "learner": key.learner})
        results.append(res)
    t_fit = time.perf_counter() - t1
    table = pd.DataFrame(results)
    names = list(FAMILY_NAMES) + list(variants)
    summaries = {t: summarise(table, names, t) for t in ("next", "final")}

    boot_rows: list[pd.DataFrame] = []
    for key in chosen_keys.itertuples(index=False):
        rows = groups[(key.openmlid, key.learner)]
        sizes = np.sort(rows["size_train"].unique())
        if int(np.sum(sizes <= sizes[-1] / args.ratio)) >= args.min_anchors and len(boot_rows) < args.boot_sample:
            boot_rows.append(rows)
    t2 = time.perf_counter()
    cov = coverage(boot_rows, args.ratio, args.min_anchors, args.n_boot)
    t_boot = time.perf_counter() - t2

    lcdb_version = importlib.metadata.version("lcdb") if importlib.util.find_spec("lcdb") else "n/a"
    machine = (f"Machine: {platform.machine()}, {platform.system()}, {os.cpu_count()} cores (shared), Python "
               f"{platform.python_version()}, one process. Versions: consilience "
               f"{importlib.metadata.version('consilience')}, numpy {np.__version__}, scipy "
               f"{importlib.metadata.version('scipy')}, pandas {pd.__version__}, lcdb {lcdb_version}.")
    described = (f"Data: `database-accuracy.csv` from lcdb, column `{args.score}`, {len(data):,} rows; split "
                 f"`{args.split}`: {len(keys):,} curves (data set x learner). Random sample of {len(chosen_keys)} "
                 f"curves (numpy seed {args.seed}); {skipped} had fewer than {args.min_anchors} anchors up to final "
                 f"size / {args.ratio:g} and were left out, leaving {len(table)}. Median anchors fitted: "
                 f"{table['n_fit'].median():.0f}; median extrapolation to the final anchor: "
                 f"x{table['ratio_final'].median():.1f}. {100 * table['flagged'].mean():.0f}% of curves carry a "
                 f"shape flag.")
    timing = (f"Time: load {t_load:.0f} s, fitting {t_fit:.0f} s ({t_fit / max(len(table), 1):.2f} s per curve, "
              f"all 12 families fitted twice: to the earlier anchors for the choice and to all), bootstrap "
              f"{t_boot:.0f} s.")
    lines = ["# Learning-curve extrapolation on LCDB", "",
             f"Command: `python benchmarks/bench_curves.py {' '.join(sys.argv[1:])}`", "",
             machine, "", described, "", timing, ""]
    for t, title in (("next", "Next anchor after the cut-off (small extrapolation, x1.4)"),
                     ("final", f"Final anchor (large extrapolation, >= x{args.ratio:g})")):
        lines += [f"## {title}", "", "Absolute error in accuracy over curves where every family could be fitted.", "",
                  to_markdown(summaries[t]), ""]
    coverage_text = (f"Coverage at the next anchor {cov['coverage_next']:.2f} (mean width {cov['width_next']:.4f}); "
                     f"at the final anchor {cov['coverage_final']:.2f} (mean width {cov['width_final']:.4f}).")
    lines += [f"## Bootstrap intervals ({len(boot_rows)} curves, {args.n_boot} replicates over seeds, 95%)", "",
              coverage_text, ""]
    report = "\n".join(lines)
    print(report)
    if args.out:
        Path(args.out).write_text(report)


if __name__ == "__main__":
    main()
