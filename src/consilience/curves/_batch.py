"""Fitting many learning curves at once: each family over all curves in a few solver calls.

:class:`~consilience.curves.LearningCurve` fits every family twice per curve (to the earlier
anchors, to score it on the held-back ones, and to all anchors) and refits the chosen families
to every bootstrap replicate. Here each of those steps runs over all curves together, one family
at a time, in chunks that bound the memory of the vectorised solver.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from consilience.curves._data import CurveData, resample
from consilience.curves.families import FAMILIES, FloatArray
from consilience.curves.fitting import (
    FamilyFit,
    Loss,
    fit_family_batch,
    refit_rows,
    replicate_bounds,
)

__all__ = ["FamilyStage", "bootstrap_many", "fit_families_many"]

_CURVES_PER_CALL = 1024
_ROWS_PER_CALL = 16384
_BOOT_ITER = 300


@dataclass(frozen=True)
class FamilyStage:
    """Every family fitted to one curve: held-back scores and the fits to all anchors."""

    holdout_rmse: dict[str, float]
    holdout_reason: dict[str, str | None]
    fits: tuple[FamilyFit, ...]


def fit_families_many(
    curves: Sequence[tuple[FloatArray, FloatArray]],
    n_holdout: Sequence[int],
    families: Sequence[str],
    *,
    loss: Loss,
    f_scale: float,
    max_error: float,
) -> list[FamilyStage]:
    """Fit every family to the earlier anchors and to all anchors of every curve.

    ``curves`` holds ``(sizes, error)`` per curve; the held-back RMSE of a family is that of its
    predictions, clipped to ``[0, max_error]``, on the last ``n_holdout`` anchors.
    """
    n = len(curves)
    rmse: list[dict[str, float]] = [{} for _ in range(n)]
    reason: list[dict[str, str | None]] = [{} for _ in range(n)]
    fits: list[list[FamilyFit]] = [[] for _ in range(n)]
    for name in families:
        fam = FAMILIES[name]
        for lo in range(0, n, _CURVES_PER_CALL):
            part = range(lo, min(n, lo + _CURVES_PER_CALL))
            heads = [curves[i][0].size - n_holdout[i] for i in part]
            sizes = [curves[i][0][:h] for i, h in zip(part, heads)] + [curves[i][0] for i in part]
            errors = [curves[i][1][:h] for i, h in zip(part, heads)] + [curves[i][1] for i in part]
            scale = np.array([curves[i][0][-1] for i in part] * 2)
            batch = fit_family_batch(fam, sizes, errors, scale=scale, loss=loss, f_scale=f_scale)
            for k, (i, h) in enumerate(zip(part, heads)):
                head = batch[k]
                fits[i].append(batch[len(part) + k])
                if not head.ok:
                    rmse[i][name] = math.nan
                    reason[i][name] = f"fit to the earlier anchors failed: {head.reason}"
                    continue
                x, e = curves[i][0], curves[i][1]
                pred = np.clip(fam.evaluate(x[h:], np.asarray(head.params), float(x[-1])), 0.0, max_error)
                rmse[i][name] = float(np.sqrt(np.mean((pred - e[h:]) ** 2)))
                reason[i][name] = (None if np.isfinite(rmse[i][name])
                                   else "non-finite prediction at the held-back anchors")
    return [FamilyStage(rmse[i], reason[i], tuple(fits[i])) for i in range(n)]


def bootstrap_many(
    data: Sequence[CurveData],
    fits: Sequence[tuple[FamilyFit, ...]],
    chosen: Sequence[Sequence[str]],
    weights: Sequence[tuple[float, ...]],
    *,
    n_boot: int,
    seed: int,
    loss: Loss,
    f_scale: float,
    max_error: float,
) -> list[dict[str, FloatArray]]:
    """Bootstrap parameters of each curve's chosen families, ``(n_ok, n_params)`` per family.

    Each curve draws its replicates from its own ``numpy.random.default_rng(seed)``, so a curve
    gets the same replicates whether it is fitted alone or with others. Replicates in which some
    chosen family could not be refitted are dropped from all of that curve's families.
    """
    n = len(data)
    if n_boot == 0:
        return [{} for _ in range(n)]
    by_name = [{f.family: f for f in fs} for fs in fits]
    reps: list[FloatArray] = []
    for i, d in enumerate(data):
        fitted = sum(w * np.clip(FAMILIES[c].evaluate(d.sizes, np.asarray(by_name[i][c].params),
                                                      float(d.sizes[-1])), 0.0, max_error)
                     for c, w in zip(chosen[i], weights[i]))
        reps.append(resample(d, np.asarray(fitted, dtype=float), n_boot, np.random.default_rng(seed)))
    params: list[dict[str, FloatArray]] = [{} for _ in range(n)]
    for name in FAMILIES:
        owners = [i for i in range(n) if name in chosen[i]]
        fam = FAMILIES[name]
        if not fam.fitted:
            for i in owners:
                params[i][name] = reps[i][:, -1][:, None].copy()
            continue
        per_call = max(1, _ROWS_PER_CALL // n_boot)
        for lo in range(0, len(owners), per_call):
            part = owners[lo: lo + per_call]
            width = max(data[i].sizes.size for i in part)
            x = np.full((len(part) * n_boot, width), np.nan)
            y = np.full_like(x, np.nan)
            start = np.empty((len(part) * n_boot, fam.n_params))
            lower, upper = np.empty_like(start), np.empty_like(start)
            scale = np.empty(len(part) * n_boot)
            for k, i in enumerate(part):
                rows = slice(k * n_boot, (k + 1) * n_boot)
                m = data[i].sizes.size
                x[rows, :m], y[rows, :m] = data[i].sizes, reps[i]
                lower[rows], upper[rows] = replicate_bounds(fam, reps[i])
                start[rows] = by_name[i][name].params
                scale[rows] = data[i].sizes[-1]
            theta = refit_rows(fam, x, y, start, lower, upper, scale=scale, loss=loss, f_scale=f_scale,
                               max_iter=_BOOT_ITER)
            for k, i in enumerate(part):
                params[i][name] = theta[k * n_boot: (k + 1) * n_boot]
    out = []
    for i, p in enumerate(params):
        ok = np.all([np.all(np.isfinite(v), axis=1) for v in p.values()], axis=0)
        out.append({c: p[c][ok] for c in chosen[i]})
    return out
