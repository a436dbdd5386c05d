"""Reference numbers from rliable for consilience.compare.aggregates / profiles.

Environment used: rliable 1.2.0 with arch 7.2.0, pandas 2.3.3, numpy 2.4.6, scipy 1.17.1 (rliable
1.2.0 does not run with arch 8 or pandas 3, so the numbers come from a separate environment):

    pip install "rliable==1.2.0" "arch==7.2.0" "pandas<3"
    python tests/reference/rliable/make_reference.py

rliable's StratifiedBootstrap draws its indices from numpy's global RandomState, so the script
seeds it with ``np.random.seed``. Writes ``reference.json`` next to this file: the input score
matrices (runs x tasks), point estimates (compared exactly) and 95% percentile intervals
(compared within Monte-Carlo error), plus rliable's wall time for the interval estimates.
"""

from __future__ import annotations

import json
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from rliable import library as rly
from rliable import metrics

OUT = Path(__file__).with_name("reference.json")
REPS = 50_000
REPS_SMALL = 2_000


def scores() -> dict[str, np.ndarray]:
    rs = np.random.RandomState(20240601)
    runs, tasks = 10, 12
    difficulty = rs.uniform(0.2, 0.9, size=tasks)
    a = np.clip(difficulty + rs.normal(0.0, 0.08, size=(runs, tasks)), 0, 1.2)
    b = np.clip(difficulty + 0.05 + rs.normal(0.0, 0.12, size=(runs, tasks)), 0, 1.2)
    # Discrete scores (many ties) exercise tie handling in the probability of improvement.
    c = np.round(difficulty + rs.normal(0.0, 0.1, size=(runs, tasks)), 1)
    return {"A": a, "B": b, "C": c}


def aggregate_func(x: np.ndarray) -> np.ndarray:
    return np.array([metrics.aggregate_mean(x), metrics.aggregate_median(x), metrics.aggregate_iqm(x),
                     metrics.aggregate_optimality_gap(x)])


def main() -> None:
    data = scores()
    names = ["mean", "median", "iqm", "optimality_gap"]
    np.random.seed(0)
    start = time.perf_counter()
    point, interval = rly.get_interval_estimates(data, aggregate_func, reps=REPS)
    seconds = time.perf_counter() - start
    aggregates = {arm: {name: {"estimate": float(point[arm][i]), "ci_low": float(interval[arm][0, i]),
                               "ci_high": float(interval[arm][1, i])} for i, name in enumerate(names)}
                  for arm in data}

    pairs = {"B>A": ("B", "A"), "C>A": ("C", "A")}
    np.random.seed(1)
    poi_point, poi_interval = rly.get_interval_estimates(
        {key: [data[x], data[y]] for key, (x, y) in pairs.items()},
        metrics.probability_of_improvement, reps=REPS_SMALL)
    poi = {key: {"x": x, "y": y, "estimate": float(poi_point[key]), "ci_low": float(np.ravel(poi_interval[key])[0]),
                 "ci_high": float(np.ravel(poi_interval[key])[1])} for key, (x, y) in pairs.items()}

    taus = np.linspace(0.1, 1.1, 21)
    profiles = {}
    for kind, use_runs in (("runs", True), ("tasks", False)):
        np.random.seed(2)
        prof, prof_ci = rly.create_performance_profile(data, taus, use_score_distribution=use_runs, reps=REPS_SMALL)
        profiles[kind] = {arm: {"estimate": prof[arm].tolist(), "ci_low": prof_ci[arm][0].tolist(),
                                "ci_high": prof_ci[arm][1].tolist()} for arm in data}

    out = {
        "source": f"rliable {version('rliable')} (arch {version('arch')}, numpy {np.__version__})",
        "calls": {
            "aggregates": "library.get_interval_estimates(data, [aggregate_mean, aggregate_median, aggregate_iqm, "
                          "aggregate_optimality_gap], reps=50000), np.random.seed(0)",
            "probability_of_improvement": "get_interval_estimates({k: [x, y]}, probability_of_improvement, "
                                          "reps=2000), np.random.seed(1)",
            "profiles": "create_performance_profile(data, taus, use_score_distribution=kind == 'runs', reps=2000), "
                        "np.random.seed(2)",
        },
        "reps": REPS,
        "reps_small": REPS_SMALL,
        "rliable_interval_seconds": seconds,
        "scores": {arm: m.tolist() for arm, m in data.items()},
        "aggregates": aggregates,
        "probability_of_improvement": poi,
        "taus": taus.tolist(),
        "profiles": profiles,
    }
    OUT.write_text(json.dumps(out, indent=1))
    print(f"wrote {OUT} (rliable intervals: {seconds:.2f} s)")


if __name__ == "__main__":
    main()
