"""Tables for the scale tests: effect sizes in ragged groups, and runs of several experiments."""

from __future__ import annotations

import numpy as np
import pandas as pd


def effects_table(groups: int = 60, seed: int = 0) -> pd.DataFrame:
    """Effect sizes in ``groups`` groups of 1 to 14 studies, keyed by a text and an integer column.

    Rows come shuffled, a few ``yi`` are missing, and group sizes vary so that groups of different
    sizes share partitions.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 15, size=groups)
    sizes[:3] = (1, 2, 14)
    gid = np.repeat(np.arange(groups), sizes)
    v = rng.uniform(0.005, 0.08, gid.size)
    theta = rng.normal(0.2, 0.1, groups)[gid] + rng.normal(0.0, 0.08, gid.size)
    frame = pd.DataFrame({
        "family": np.where(gid % 3 == 0, "cnn", np.where(gid % 3 == 1, "vit", "mlp")),
        "task_id": gid,
        "yi": rng.normal(theta, np.sqrt(v)),
        "vi": v,
    })
    frame.loc[[2, 10], "yi"] = np.nan
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def runs_table(experiments: int = 4, tasks: int = 6, seeds: int = 4, seed: int = 0) -> pd.DataFrame:
    """Accuracies of arms 'base' and 'new' on shared seeds, for several experiments."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(experiments):
        level = rng.uniform(0.6, 0.85, tasks)
        gain = rng.normal(0.01 * e, 0.01, tasks)
        for s in range(seeds):
            shared = rng.normal(0.0, 0.01, tasks)
            for t in range(tasks):
                for arm, g in (("base", 0.0), ("new", gain[t])):
                    rows.append({"experiment": f"exp{e}", "arm": arm, "task": f"t{t}", "seed": s,
                                 "metric": "accuracy",
                                 "value": float(np.clip(level[t] + g + shared[t]
                                                        + rng.normal(0.0, 0.004), 0.0, 1.0))})
    return pd.DataFrame(rows)
