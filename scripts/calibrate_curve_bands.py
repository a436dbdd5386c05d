"""Regenerate ``src/consilience/curves/data/band_calibration.json`` from the dev half of LCDB.

The bootstrap bands of ``consilience.curves.LearningCurve`` undercover extrapolations. This
script learns split-conformal inflation factors for them (``consilience.curves.calibration``)
on the development half of the Learning Curve Database (LCDB 1.0; PyPI package ``lcdb`` 0.1.0,
``database-accuracy.csv``, MIT licence), the same half on which the ensemble's settings were
chosen; ``benchmarks/bench_curves.py`` checks the factors on the other half.

Protocol: for every (data set, learner) curve of the dev half and every cut-off
``c`` in ``--cuts``, fit ``LearningCurve(n_boot=200, worst_score=0.0, seed=2, band="bootstrap")``
to the seed-level scores at the anchors up to ``final size / c`` (curves with fewer than
``--min-anchors`` such anchors are left out for that cut-off), and score every later anchor's
mean accuracy (over all seeds) against the fit's bootstrap band at each level of the table
(``band_scores``: distance from the median of the draws in units of the band's half-width plus
``0.05 x error at the largest anchor x log2(extrapolation ratio)``). ``calibrate_bands`` turns the
scores into the factor table (conformal quantiles by level, anchors fitted and ratio).

Usage::

    pip install --no-deps lcdb
    python scripts/calibrate_curve_bands.py                  # writes the package data file
    python scripts/calibrate_curve_bands.py --out factors.json --scores scores.csv
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.bench_curves import curves_of, load_curves, locate_data, mean_curve, split_ids

from consilience.curves import LearningCurve, band_scores, calibrate_bands
from consilience.curves.calibration import DISTANCE_TERM
from consilience.errors import ConsilienceWarning

DEFAULT_OUT = REPO_ROOT / "src" / "consilience" / "curves" / "data" / "band_calibration.json"
LEVELS = (0.5, 0.8, 0.9, 0.95, 0.99)
ANCHOR_EDGES = (3, 7, 10, 13, 16)
RATIOS = tuple(float(2 ** (k / 2)) for k in range(9))  # 1, 1.41, 2, ..., 16


def collect_scores(data: pd.DataFrame, cut: float, min_anchors: int, n_boot: int, seed: int) -> pd.DataFrame:
    """Conformity scores of every later anchor of every dev curve cut at ``final / cut``."""
    parts, later = [], []
    for _, rows in curves_of(data, split_ids(data, "dev")):
        sizes, score = mean_curve(rows)
        n_fit = int(np.sum(sizes <= sizes[-1] / cut))
        if n_fit < min_anchors or n_fit >= sizes.size:
            continue
        parts.append(rows[rows["size_train"] <= sizes[-1] / cut])
        later.append((sizes[n_fit:], score[n_fit:]))
    estimator = LearningCurve(n_boot=n_boot, worst_score=0.0, seed=seed, band="bootstrap")
    fits = estimator.fit_many([p["size_train"].to_numpy() for p in parts], [p["score"].to_numpy() for p in parts],
                              [p["seed"].to_numpy() for p in parts])
    frames = [band_scores(fit, x, y, LEVELS, distance_term=DISTANCE_TERM).assign(curve=i, cut=cut)
              for i, (fit, (x, y)) in enumerate(zip(fits, later))]
    return pd.concat(frames, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="path to database-accuracy.csv (default: from lcdb)")
    parser.add_argument("--cuts", default="2,4,8,16", help="cut-offs: fit up to final size / cut")
    parser.add_argument("--min-anchors", type=int, default=4)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--scores", type=Path, default=None, help="also write the scores to this CSV")
    args = parser.parse_args(argv)
    warnings.simplefilter("error", ConsilienceWarning)
    t0 = time.perf_counter()
    data = load_curves(locate_data(args.data), "score_test")
    scores = pd.concat([collect_scores(data, float(c), args.min_anchors, args.n_boot, args.seed)
                        for c in args.cuts.split(",")], ignore_index=True)
    n_curves = scores.groupby("cut")["curve"].nunique().sum()
    source = (f"LCDB {importlib.metadata.version('lcdb')} database-accuracy.csv, score_test, dev half of the data "
              f"sets (numpy default_rng(0) permutation of the OpenML ids); {n_curves} (curve, cut-off) fits, "
              f"cut-offs final/{args.cuts.replace(',', ', final/')}, at least {args.min_anchors} anchors fitted, "
              f"LearningCurve(n_boot={args.n_boot}, worst_score=0.0, seed={args.seed}); every later anchor scored; "
              f"scripts/calibrate_curve_bands.py")
    table = calibrate_bands(scores, levels=LEVELS, anchor_edges=ANCHOR_EDGES, ratios=RATIOS,
                            distance_term=DISTANCE_TERM, source=source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(table.to_dict(), indent=1) + "\n")
    if args.scores is not None:
        scores.to_csv(args.scores, index=False)
    frame = table.to_frame()
    print(frame[frame["level"] == 0.95].pivot(index="ratio", columns="anchors_min", values="factor").round(2))
    print(f"wrote {args.out} from {len(scores) // len(LEVELS):,} scored anchors in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
