"""Checking and shaping learning-curve input: one row per (size, seed) score, to errors per anchor."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from consilience._validation import as_float_vector, describe_rows
from consilience.curves.families import FloatArray
from consilience.errors import DataDroppedWarning, InputError

__all__ = ["CurveData", "prepare_curve", "resample", "to_error", "to_score"]

Direction = Literal["higher", "lower"]
Scheme = Literal["seeds", "rows", "residuals"]


def to_error(score: Any, direction: Direction, perfect: float) -> FloatArray:
    """Distance of ``score`` from a perfect score (0 = perfect)."""
    s = np.asarray(score, dtype=float)
    return np.asarray(perfect - s if direction == "higher" else s - perfect, dtype=float)


def to_score(error: Any, direction: Direction, perfect: float) -> FloatArray:
    """Inverse of :func:`to_error`."""
    e = np.asarray(error, dtype=float)
    return np.asarray(perfect - e if direction == "higher" else perfect + e, dtype=float)


@dataclass(frozen=True, eq=False)
class CurveData:
    """A validated curve: anchors, the mean error at each, and the replicates behind it.

    ``replicates`` is ``(n_seeds, n_anchors)`` with NaN where a seed lacks an anchor when seeds were
    given; otherwise one row per measurement position within an anchor (``scheme="rows"``) or a
    single row (``scheme="residuals"``).
    """

    sizes: FloatArray
    error: FloatArray
    error_se: FloatArray
    replicates: FloatArray
    scheme: Scheme
    n_seeds: int
    n_rows: int
    n_dropped: int
    dropped_reason: str | None


def prepare_curve(sizes: Any, scores: Any, seeds: Any | None, *, direction: Direction,
                  perfect: float) -> CurveData:
    """Validate one learning curve and aggregate it per anchor.

    Rows with a missing size or score are dropped with a :class:`DataDroppedWarning` that counts
    them; every other problem raises :class:`InputError` naming the input, the rule and the fix.
    """
    x = as_float_vector("sizes", sizes)
    s = as_float_vector("scores", scores)
    if x.size != s.size:
        raise InputError(f"'sizes' and 'scores' must have the same length; got {x.size} and {s.size}. "
                         f"Pass one training-set size per score.")
    seed_arr = None
    if seeds is not None:
        seed_arr = pd.Series(np.asarray(seeds, dtype=object)).reset_index(drop=True)
        if seed_arr.size != x.size:
            raise InputError(f"'seeds' must have one label per score; got {seed_arr.size} labels for "
                             f"{x.size} scores. Pass the seed (or split) of every row, or seeds=None.")
    missing = np.isnan(x) | np.isnan(s) | (seed_arr.isna().to_numpy() if seed_arr is not None else False)
    n_dropped = int(missing.sum())
    reason = None
    if n_dropped:
        reason = f"{n_dropped} row(s) with a missing size, score or seed"
        warnings.warn(f"{reason} omitted from the learning curve.", DataDroppedWarning, stacklevel=3)
    keep = ~missing
    x, s = x[keep], s[keep]
    bad = np.flatnonzero(x <= 1)
    if bad.size:
        raise InputError(f"'sizes' must be training-set sizes > 1 (numbers of labelled examples); got "
                         f"{x[bad[0]]:g} at {describe_rows(bad)} of the complete rows. "
                         f"Pass counts of examples, not fractions of the data set.")
    err = to_error(s, direction, perfect)
    beyond = np.flatnonzero(err < -1e-9)
    if beyond.size:
        word = "above" if direction == "higher" else "below"
        raise InputError(f"'scores' must not be {word} perfect_score={perfect:g}; got {s[beyond[0]]:g} at "
                         f"{describe_rows(beyond)} of the complete rows. Pass the metric's best possible "
                         f"value as perfect_score, or check direction='{direction}'.")
    err = np.maximum(err, 0.0)
    frame = pd.DataFrame({"size": x, "error": err})
    if seed_arr is not None:
        frame["seed"] = seed_arr[keep].astype(str).to_numpy()
    anchors = np.unique(x)
    if anchors.size < 3:
        raise InputError(f"a learning curve needs at least 3 distinct training-set sizes (anchors); got "
                         f"{anchors.size} ({', '.join(f'{a:g}' for a in anchors)}). Measure the learner at "
                         f"more sizes, e.g. a geometric grid 16, 32, 64, ...")
    if seed_arr is not None:
        wide = frame.pivot_table(index="seed", columns="size", values="error", aggfunc="mean")
        replicates = wide.reindex(columns=anchors).to_numpy(dtype=float)
        scheme: Scheme = "seeds" if replicates.shape[0] > 1 else "residuals"
    else:
        position = frame.groupby("size").cumcount()
        wide = frame.assign(pos=position).pivot_table(index="pos", columns="size", values="error")
        replicates = wide.reindex(columns=anchors).to_numpy(dtype=float)
        scheme = "rows" if replicates.shape[0] > 1 else "residuals"
    grouped = frame.groupby("size")["error"]
    if scheme == "seeds":
        mean = np.nanmean(replicates, axis=0)
        counts = np.sum(np.isfinite(replicates), axis=0)
        with warnings.catch_warnings():
            # An anchor measured by one seed only has no standard deviation (NaN, masked below).
            warnings.simplefilter("ignore", RuntimeWarning)
            sd = np.nanstd(replicates, axis=0, ddof=1)
    else:
        mean = grouped.mean().reindex(anchors).to_numpy(dtype=float)
        counts = grouped.count().reindex(anchors).to_numpy()
        sd = grouped.std(ddof=1).reindex(anchors).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.where(counts > 1, sd / np.sqrt(counts), np.nan)
    n_seeds = int(replicates.shape[0]) if seed_arr is not None else 1
    return CurveData(anchors, mean, se, replicates, scheme, n_seeds, int(x.size), n_dropped, reason)


def resample(data: CurveData, fitted: FloatArray, n_boot: int, rng: np.random.Generator) -> FloatArray:
    """Bootstrap replicates of the mean-error curve, shape ``(n_boot, n_anchors)``.

    ``seeds``: resample whole seed curves (cluster bootstrap); ``rows``: resample measurements
    within each anchor; ``residuals``: add resampled, centred residuals of ``fitted`` to it.
    """
    reps = data.replicates
    if data.scheme == "seeds":
        idx = rng.integers(0, reps.shape[0], size=(n_boot, reps.shape[0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(np.nanmean(reps[idx], axis=1), dtype=float)
    if data.scheme == "rows":
        out = np.empty((n_boot, reps.shape[1]))
        for j in range(reps.shape[1]):
            col = reps[:, j][np.isfinite(reps[:, j])]
            out[:, j] = col[rng.integers(0, col.size, size=(n_boot, col.size))].mean(axis=1)
        return out
    resid = data.error - fitted
    resid = resid - resid.mean()
    draws = resid[rng.integers(0, resid.size, size=(n_boot, resid.size))]
    return np.asarray(np.maximum(fitted + draws, 0.0), dtype=float)
