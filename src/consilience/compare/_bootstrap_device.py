"""The bootstrap statistics of :func:`consilience.compare.aggregate` through the array API.

The replicates are the numpy path's own: the count matrices come from the same seeded numpy
generator on the host (:func:`consilience.compare._bootstrap.count_chunks`), so a replicate
draws the same runs on every backend. What moves to the device (a GPU with PyTorch or CuPy) is
the arithmetic on each chunk of replicates: the per-task means as one dense matrix product, their
median by sorting, the interquartile mean from cumulative counts, and the optimality gap.
Results equal the numpy path's to floating-point tolerance (the sums run in another order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from consilience._backend import Backend
from consilience.compare._bootstrap import ScoreSet

__all__ = ["replicate_fn"]


def replicate_fn(ss: ScoreSet, wanted: Sequence[str], gamma: float, sign: float,
                 backend: Backend) -> tuple[Callable[[np.ndarray], dict[str, np.ndarray]], np.ndarray]:
    """Like ``aggregates._replicate_fn``: a function of a count chunk (columns sorted by score)
    returning every wanted statistic per replicate, computed on ``backend``; and the sort order.

    Validated against: the numpy path of ``aggregate`` (same replicates) with the numpy and
    array-api-strict namespaces, to 1e-12.
    """
    xp = backend.xp
    order = np.argsort(ss.scores, kind="stable")
    s = ss.scores[order]
    t = ss.task_index[order]
    n, n_tasks = ss.n, len(ss.tasks)
    means_np = np.zeros((n, n_tasks))
    means_np[np.arange(n), t] = s / ss.n_per_task[t]
    means_op = backend.asarray(means_np)  # (N, T): counts @ means_op = per-task means
    scores = backend.asarray(s)
    clipped = backend.asarray(np.minimum(s, gamma) if sign > 0 else np.maximum(s, gamma))
    lo = int(0.25 * n)
    hi = n - lo
    mid = n_tasks // 2

    def fn(counts: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, Any] = {}
        c_int = backend.asarray(np.ascontiguousarray(counts, dtype=np.int64))
        c = xp.astype(c_int, xp.float64)
        if "mean" in wanted or "median" in wanted:
            task_means = xp.matmul(c, means_op)
            if "mean" in wanted:
                out["mean"] = xp.mean(task_means, axis=1)
            if "median" in wanted:
                ranked = xp.sort(task_means, axis=1)
                out["median"] = (ranked[:, mid] if n_tasks % 2 else
                                 (ranked[:, mid - 1] + ranked[:, mid]) / 2.0)
        if "iqm" in wanted:
            end = xp.cumulative_sum(c_int, axis=1)
            lo_, hi_, zero = (xp.asarray(x, dtype=c_int.dtype, device=c_int.device) for x in (lo, hi, 0))
            start = xp.maximum(end - c_int, lo_)
            kept = xp.maximum(xp.minimum(end, hi_) - start, zero)
            out["iqm"] = xp.matmul(xp.astype(kept, xp.float64), scores) / (hi - lo)
        if "optimality_gap" in wanted:
            total = xp.matmul(c, clipped) / n
            out["optimality_gap"] = gamma - total if sign > 0 else total - gamma
        return {name: backend.to_numpy(values) for name, values in out.items()}

    return fn, order
