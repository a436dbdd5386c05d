"""Vectorised stratified bootstrap over (runs within tasks), as count matrices.

A bootstrap replicate that resamples the runs of every task with replacement is fully described
by how often each original run was drawn. For ``B`` replicates this is a ``(B, N)`` count matrix
``C`` (``N`` runs in total, rows summing to ``n_t`` within each task ``t``). Every aggregate rliable
uses is a cheap function of ``C``: means are matrix products, the interquartile mean a weighted
trimmed sum over the globally sorted scores. Replicates are processed in chunks so that memory
stays bounded; the random stream does not depend on the chunk size.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = ["ScoreSet", "arm_generator", "count_chunks", "iqm_from_counts", "percentile_ci", "score_sets"]

_CHUNK_CELLS = 1_000_000


@dataclass(frozen=True)
class ScoreSet:
    """The scores of one arm: flat values grouped by task, in task order then seed order."""

    scores: np.ndarray          # (N,)
    task_index: np.ndarray      # (N,) task position of each score
    n_per_task: np.ndarray      # (T,)
    tasks: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.scores.size)

    @property
    def balanced(self) -> bool:
        return bool(np.all(self.n_per_task == self.n_per_task[0]))

    def matrix(self) -> np.ndarray:
        """(runs, tasks) matrix as rliable expects it; NaN pads tasks with fewer runs."""
        rows = int(self.n_per_task.max())
        out = np.full((rows, len(self.tasks)), np.nan)
        slot = np.arange(self.n) - np.repeat(np.cumsum(self.n_per_task) - self.n_per_task, self.n_per_task)
        out[slot, self.task_index] = self.scores
        return out

    def task_mean_operator(self) -> sparse.csr_matrix:
        """Sparse (N, T) matrix A with counts @ A = per-task means of a replicate."""
        weights = self.scores / self.n_per_task[self.task_index]
        return sparse.csr_matrix((weights, (np.arange(self.n), self.task_index)), shape=(self.n, len(self.tasks)))


def score_sets(frame: pd.DataFrame, tasks: list[str]) -> dict[str, ScoreSet]:
    """Group a canonical runs frame (arm, task, seed, value) into one :class:`ScoreSet` per arm."""
    ordered = frame.assign(_t=pd.Categorical(frame["task"], categories=tasks)).sort_values(
        ["arm", "_t", "seed"], kind="stable")
    out: dict[str, ScoreSet] = {}
    for arm, g in ordered.groupby("arm", sort=True, observed=True):
        codes = g["_t"].cat.codes.to_numpy()
        present = np.unique(codes)
        remap = np.full(len(tasks), -1)
        remap[present] = np.arange(present.size)
        out[str(arm)] = ScoreSet(
            scores=g["value"].to_numpy(dtype=float), task_index=remap[codes],
            n_per_task=np.bincount(remap[codes], minlength=present.size),
            tasks=tuple(tasks[i] for i in present),
        )
    return out


def arm_generator(seed: int, arm: str) -> np.random.Generator:
    """A generator keyed by (seed, arm name): an arm's intervals do not change when arms are added."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(arm.encode())]))


def count_chunks(ss: ScoreSet, reps: int, rng: np.random.Generator, order: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """Yield (chunk, N) int32 count matrices of stratified bootstrap replicates.

    Column ``j`` counts draws of score ``order[j]`` (default: the ScoreSet's own order), so a
    caller can receive the counts already sorted by value.
    """
    n = ss.n
    offsets = np.cumsum(ss.n_per_task) - ss.n_per_task
    slot_size = ss.n_per_task[ss.task_index]
    slot_offset = offsets[ss.task_index]
    position = np.arange(n) if order is None else np.argsort(order)
    balanced, runs = ss.balanced, int(ss.n_per_task[0])
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    done = 0
    while done < reps:
        b = min(chunk, reps - done)
        if balanced:
            local = rng.integers(0, runs, size=(b, n))
        else:
            local = np.minimum((rng.random((b, n)) * slot_size).astype(np.int64), slot_size - 1)
        draws = position[local + slot_offset]
        draws += (np.arange(b, dtype=np.int64) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.int32)
        done += b


def iqm_from_counts(counts: np.ndarray, sorted_scores: np.ndarray) -> np.ndarray:
    """Interquartile mean (scipy ``trim_mean(.., 0.25)``) per replicate, counts sorted by value."""
    n = sorted_scores.size
    lo = int(0.25 * n)
    hi = n - lo
    end = np.cumsum(counts, axis=1, dtype=np.int32)
    start = end - counts
    np.minimum(end, hi, out=end)
    np.maximum(start, lo, out=start)
    end -= start
    np.maximum(end, 0, out=end)
    return np.asarray(end.astype(float) @ sorted_scores / (hi - lo))


def percentile_ci(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along axis 0 (numpy's linear interpolation, as arch and rliable)."""
    alpha = (1 - level) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return low, high


def bootstrap(ss: ScoreSet, reps: int, rng: np.random.Generator,
              stats: Callable[[np.ndarray], dict[str, np.ndarray]], order: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Evaluate ``stats`` (count chunk -> named replicate values) over all replicates."""
    parts: dict[str, list[np.ndarray]] = {}
    for counts in count_chunks(ss, reps, rng, order):
        for name, values in stats(counts).items():
            parts.setdefault(name, []).append(values)
    return {name: np.concatenate(v, axis=0) for name, v in parts.items()}
