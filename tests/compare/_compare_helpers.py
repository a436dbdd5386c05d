"""Small runs tables for the compare tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def runs_from_arrays(arrays: dict[str, np.ndarray], *, metric: str = "accuracy", n_eval: float | None = None,
                     seeds: dict[str, list[int]] | None = None) -> pd.DataFrame:
    """Tidy runs table from {arm: (runs, tasks) matrix}; task names t00, t01, ..."""
    frames = []
    for arm, m in arrays.items():
        runs, tasks = m.shape
        seed_ids = np.asarray(seeds[arm]) if seeds and arm in seeds else np.arange(runs)
        frames.append(pd.DataFrame({
            "experiment": "exp",
            "arm": arm,
            "task": np.tile([f"t{t:02d}" for t in range(tasks)], runs),
            "seed": np.repeat(seed_ids, tasks),
            "metric": metric,
            "value": m.ravel(),
        }))
    out = pd.concat(frames, ignore_index=True)
    if n_eval is not None:
        out["n_eval"] = n_eval
    return out


def simulated(seed: int = 0, *, runs: int = 5, tasks: int = 8, gain: float = 0.02, noise: float = 0.01,
              spread: float = 0.0) -> dict[str, np.ndarray]:
    """Accuracies of a baseline 'A' and candidate 'B' sharing seeds (paired noise)."""
    rs = np.random.RandomState(seed)
    level = rs.uniform(0.6, 0.85, size=tasks)
    task_gain = gain + rs.normal(0.0, spread, size=tasks) if spread else np.full(tasks, gain)
    shared = rs.normal(0.0, noise, size=(runs, tasks))
    a = level + shared + rs.normal(0.0, noise / 2, size=(runs, tasks))
    b = level + task_gain + shared + rs.normal(0.0, noise / 2, size=(runs, tasks))
    return {"A": np.clip(a, 0, 1), "B": np.clip(b, 0, 1)}
