r"""Learning-curve extrapolation: pick families by how well they extrapolate the curve itself.

:class:`LearningCurve` is the configuration; ``fit`` fits every family to the earlier anchors,
scores each on the held-back largest anchors, chooses the best family (``method="select"``) or a
weighted ensemble of the best few (``method="ensemble"``), refits the chosen families to all
anchors and bootstraps them for a band around the extrapolated curve, calibrated for the
extrapolation distance. ``fit_many`` does the same for many curves at once, each family fitted to
all of them in a few calls of the vectorised solver.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from consilience._results import Provenance, input_hash
from consilience._validation import as_float_vector, check_choice, check_level, require_columns
from consilience.curves._batch import bootstrap_many, fit_families_many
from consilience.curves._data import CurveData, Direction, prepare_curve, to_error, to_score
from consilience.curves.calibration import default_calibration
from consilience.curves.families import FAMILY_NAMES, FloatArray, get_family
from consilience.curves.fitting import Loss
from consilience.curves.result import CurveFit
from consilience.curves.shape import shape_flags
from consilience.errors import InputError

__all__ = ["LearningCurve", "choose_families", "holdout_scores"]


def _positive_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"The '{name}' parameter must be an integer >= {minimum}. Got {value!r} instead.")
    if value < minimum:
        raise InputError(f"The '{name}' parameter must be >= {minimum}. Got {value!r} instead.")
    return int(value)


def holdout_scores(
    sizes: FloatArray,
    error: FloatArray,
    families: tuple[str, ...],
    *,
    n_holdout: int,
    loss: Loss = "linear",
    f_scale: float = 0.01,
    max_error: float = math.inf,
) -> tuple[dict[str, float], dict[str, str | None]]:
    r"""Each family's extrapolation error on the curve's own largest anchors.

    Fits each family to all but the last ``n_holdout`` anchors and returns, per family, the RMSE
    (error units) of its predictions (clipped to ``[0, max_error]``) on the held-back anchors,
    and the reason when the fit failed (RMSE NaN).

    Notes
    -----
    .. math:: \mathrm{RMSE}_f = \Big(\tfrac1h \sum_{j > m-h}
              (\mathrm{clip}(f(u_j;\hat\theta_f), 0, e_{max}) - e_j)^2\Big)^{1/2}

    with :math:`\hat\theta_f` fitted to anchors :math:`1..m-h` and ``u`` scaled by the largest
    anchor of the whole curve.

    Validated against: curves simulated from known parameters
    (``tests/curves/test_learning_curve.py``).
    """
    stage = fit_families_many([(np.asarray(sizes, dtype=float), np.asarray(error, dtype=float))],
                              [n_holdout], families, loss=loss, f_scale=f_scale, max_error=max_error)[0]
    return stage.holdout_rmse, stage.holdout_reason


def choose_families(
    holdout_rmse: Mapping[str, float],
    usable: Collection[str],
    *,
    method: Literal["ensemble", "select"] = "ensemble",
    ensemble_size: int = 5,
) -> tuple[list[str], tuple[float, ...]]:
    r"""Families to predict with, and their weights, from their held-back errors.

    Keeps the ``usable`` families with a finite held-back RMSE, sorted by it (ties keep registry
    order); ``select`` returns the best with weight 1, ``ensemble`` the ``ensemble_size`` best
    with :math:`w_f \propto 1 / (\mathrm{RMSE}_f + 10^{-4})` (the floor keeps one near-perfect
    interpolator from taking all the weight).

    Validated against: hand-computed weights (``tests/curves/test_learning_curve.py``).
    """
    ranked = sorted((n for n in holdout_rmse if n in usable and np.isfinite(holdout_rmse[n])),
                    key=lambda n: holdout_rmse[n])
    chosen = ranked[: (1 if method == "select" else ensemble_size)]
    inv = np.array([1.0 / (holdout_rmse[n] + 1e-4) for n in chosen])
    return chosen, tuple(float(w) for w in inv / inv.sum())


@dataclass(frozen=True, kw_only=True)
class LearningCurve:
    r"""Fit, choose and bootstrap parametric learning curves.

    Parameters
    ----------
    families : tuple of str
        Families to consider (default: all of :data:`FAMILY_NAMES`, ``last1`` included).
    method : {"ensemble", "select"}
        ``select`` predicts with the family of lowest held-back error; ``ensemble`` with the
        ``ensemble_size`` best, weighted by inverse held-back RMSE.
    ensemble_size : int
        Families in the ensemble.
    n_holdout : int or None
        Largest anchors held back for the choice; ``None`` means ``max(1, m // 4)`` of ``m``.
    loss : {"linear", "huber", "soft_l1"}
        Least-squares loss in the error scale; ``huber`` resists outlying anchors.
    f_scale : float
        Residual (error units) where the robust loss starts to bend.
    direction : {"higher", "lower"}
        Whether a higher score is better (accuracy) or a lower one (log-loss).
    perfect_score : float or None
        Score of a perfect model; ``None`` means 1 for ``higher`` and 0 for ``lower``.
    worst_score : float or None
        Worst possible score (0 for accuracy); predictions are clipped to lie between it and
        ``perfect_score``. ``None``: no bound on that side.
    n_boot : int
        Bootstrap replicates (0 for none).
    level : float
        Confidence level of bands and intervals (0.95 or 95).
    seed : int
        Seed of the ``numpy.random.Generator`` behind the bootstrap.
    band : {"calibrated", "bootstrap"}
        ``calibrated`` stretches the bootstrap band by the factor learned on held-out LCDB
        curves for the extrapolation distance and the number of anchors
        (:mod:`consilience.curves.calibration`); ``bootstrap`` keeps the plain percentiles.

    Returns
    -------
    CurveFit
        From :meth:`fit` (one per curve from :meth:`fit_many`); see its attributes.

    Notes
    -----
    The curve is modelled in the error scale :math:`e = s^* - s` (``higher``) or
    :math:`e = s - s^*` (``lower``), with :math:`s^*` the perfect score. Ensemble weights are

    .. math:: w_f \propto 1 / (\mathrm{RMSE}_f + 10^{-4})

    over the ``ensemble_size`` families with the lowest held-back RMSE; the ensemble's error is
    :math:`\sum_f w_f\,\mathrm{clip}(f(u), 0, e_{max})`. The defaults (five families, inverse-RMSE
    weights, the last quarter of the anchors held back) were chosen on half of the LCDB data sets
    and checked on the other half (``benchmarks/RESULTS.md``): the ensemble extrapolates
    better than every single family there. The bootstrap resamples whole seed curves when seeds are
    given (a cluster bootstrap), measurements within each anchor when there are repeats without
    seed labels, and centred residuals of the chosen fit otherwise; each chosen family is refitted
    to every replicate. All fits use the vectorised Levenberg-Marquardt solver of
    :func:`~consilience.curves.fit_family_batch`, over all curves at once in :meth:`fit_many`.
    The band is model-averaged: each replicate contributes the curve of one
    chosen family, the families in proportion to their weights, so it spans both sampling noise
    and the chosen families' disagreement. That alone undercovers extrapolations (on LCDB, 95%
    bands held the later mean curve in about 82% of curves one anchor ahead and 70% at four
    times the largest size), because all families can miss together; ``band="calibrated"``
    stretches the band about its median by split-conformal factors learned on the development
    half of LCDB, by extrapolation ratio and number of anchors. The factors were learned for
    seed-bootstrapped accuracy curves with ``n_boot=200``; for other metrics, schemes or much
    longer extrapolations than LCDB's (about x22) they are an informed default, not a guarantee.

    References
    ----------
    Mohr, F., Viering, T. J., Loog, M., & van Rijn, J. N. (2022). LCDB 1.0: An extensive learning
    curves database for classification tasks. ECML PKDD 2022.
    Viering, T., & Loog, M. (2022). The shape of learning curves: a review. IEEE TPAMI 45(6).

    Validated against: LCDB 0.1.0 ``database-accuracy.csv`` (``benchmarks/bench_curves.py``) and
    curves simulated from known parameters (``tests/curves``).
    """

    families: tuple[str, ...] = FAMILY_NAMES
    method: Literal["ensemble", "select"] = "ensemble"
    ensemble_size: int = 5
    n_holdout: int | None = None
    loss: Loss = "linear"
    f_scale: float = 0.01
    direction: Direction = "higher"
    perfect_score: float | None = None
    worst_score: float | None = None
    n_boot: int = 200
    level: float = 0.95
    seed: int = 0
    band: Literal["calibrated", "bootstrap"] = "calibrated"

    def __post_init__(self) -> None:
        if isinstance(self.families, str) or not self.families:
            raise InputError(f"The 'families' parameter must be a non-empty tuple of names from "
                             f"{list(FAMILY_NAMES)}. Got {self.families!r} instead.")
        object.__setattr__(self, "families", tuple(get_family(f).name for f in self.families))
        for name, options in (("method", ("ensemble", "select")), ("loss", ("linear", "huber", "soft_l1")),
                              ("direction", ("higher", "lower")), ("band", ("calibrated", "bootstrap"))):
            object.__setattr__(self, name, check_choice(name, getattr(self, name), options))
        _positive_int("ensemble_size", self.ensemble_size, 1)
        _positive_int("n_boot", self.n_boot, 0)
        _positive_int("seed", self.seed, 0)
        if self.n_holdout is not None:
            _positive_int("n_holdout", self.n_holdout, 1)
        if not (isinstance(self.f_scale, (int, float)) and math.isfinite(self.f_scale) and self.f_scale > 0):
            raise InputError(f"The 'f_scale' parameter must be a positive number (error units). "
                             f"Got {self.f_scale!r} instead.")
        object.__setattr__(self, "level", check_level(self.level))
        if self.perfect_score is not None and not math.isfinite(float(self.perfect_score)):
            raise InputError(f"The 'perfect_score' parameter must be finite. Got {self.perfect_score!r}.")
        if self.worst_score is not None and not (math.isfinite(float(self.worst_score))
                                                 and self.max_error > 0):
            raise InputError(f"The 'worst_score' parameter must be a finite score on the worse side of "
                             f"perfect_score={self.perfect:g} (direction='{self.direction}'). "
                             f"Got {self.worst_score!r} instead.")

    @property
    def perfect(self) -> float:
        if self.perfect_score is not None:
            return float(self.perfect_score)
        return 1.0 if self.direction == "higher" else 0.0

    @property
    def max_error(self) -> float:
        if self.worst_score is None:
            return math.inf
        return float(to_error(self.worst_score, self.direction, self.perfect))

    def fit_frame(self, frame: pd.DataFrame, *, size_col: str, score_col: str,
                  seed_col: str | None = None) -> CurveFit:
        """:meth:`fit` on the columns of a tidy table (one row per size, seed and score)."""
        require_columns(frame, [c for c in (size_col, score_col, seed_col) if c is not None], what="curve table")
        seeds = frame[seed_col] if seed_col is not None else None
        return self.fit(frame[size_col], frame[score_col], seeds)

    def fit(self, sizes: Any, scores: Any, seeds: Any | None = None) -> CurveFit:
        """Fit the curve ``scores`` (one per row) measured at training-set ``sizes``.

        ``seeds`` labels the seed or split of each row; rows sharing a label form one curve.
        """
        data = prepare_curve(sizes, scores, seeds, direction=self.direction, perfect=self.perfect)
        return self._fit_prepared([data], [(sizes, scores, seeds)], single=True)[0]

    def fit_many(self, sizes: Sequence[Any], scores: Sequence[Any],
                 seeds: Sequence[Any] | None = None) -> list[CurveFit]:
        """Fit many curves at once: ``sizes[i]``, ``scores[i]`` (and ``seeds[i]``) are curve ``i``.

        Gives the same results as :meth:`fit` on each curve, bit for bit, much faster, because
        each family is fitted to all curves together. Errors name the curve by its position.
        """
        if len(sizes) != len(scores) or (seeds is not None and len(seeds) != len(sizes)):
            raise InputError(f"fit_many needs one entry per curve in 'sizes', 'scores' and 'seeds'; got "
                             f"{len(sizes)}, {len(scores)} and {'None' if seeds is None else len(seeds)}.")
        data, inputs = [], []
        for i in range(len(sizes)):
            seed_i = None if seeds is None else seeds[i]
            try:
                data.append(prepare_curve(sizes[i], scores[i], seed_i, direction=self.direction,
                                          perfect=self.perfect))
            except InputError as exc:
                raise InputError(f"curve {i}: {exc}") from exc
            inputs.append((sizes[i], scores[i], seed_i))
        return self._fit_prepared(data, inputs, single=False)

    def _fit_prepared(self, data: list[CurveData], inputs: list[tuple[Any, Any, Any]],
                      *, single: bool) -> list[CurveFit]:
        n_holdout = []
        for i, d in enumerate(data):
            m = d.sizes.size
            h = self.n_holdout if self.n_holdout is not None else max(1, m // 4)
            if m - h < 2:
                where = "" if single else f"curve {i}: "
                raise InputError(f"{where}The 'n_holdout' parameter must leave at least 2 anchors to fit; "
                                 f"got n_holdout={h} with {m} anchors. Use n_holdout <= {m - 2}.")
            n_holdout.append(h)
        stages = fit_families_many([(d.sizes, d.error) for d in data], n_holdout, self.families,
                                   loss=self.loss, f_scale=self.f_scale, max_error=self.max_error)
        chosen, weights = [], []
        for i, stage in enumerate(stages):
            usable = {f.family for f in stage.fits if f.ok}
            if not any(np.isfinite(stage.holdout_rmse[n]) for n in usable):
                where = "" if single else f"curve {i}: "
                detail = "; ".join(f"{f.family}: {f.reason or stage.holdout_reason[f.family]}"
                                   for f in stage.fits)
                raise InputError(f"{where}no family could be fitted and scored on this curve ({detail}). "
                                 f"Include 'last1' in families, or add anchors.")
            c, w = choose_families(stage.holdout_rmse, usable, method=self.method,
                                   ensemble_size=self.ensemble_size)
            chosen.append(c)
            weights.append(w)
        boot = bootstrap_many(data, [s.fits for s in stages], chosen, weights, n_boot=self.n_boot,
                              seed=self.seed, loss=self.loss, f_scale=self.f_scale,
                              max_error=self.max_error)
        calibration = default_calibration() if self.band == "calibrated" else None
        return [self._result(d, inp, stage, c, w, b, h, calibration)
                for d, inp, stage, c, w, b, h in zip(data, inputs, stages, chosen, weights, boot, n_holdout)]

    def _result(self, data: CurveData, inputs: tuple[Any, Any, Any], stage: Any, chosen: list[str],
                weights: tuple[float, ...], boot: dict[str, FloatArray], n_holdout: int,
                calibration: Any) -> CurveFit:
        sizes, scores, seeds = inputs
        flags = shape_flags(data.sizes, data.error, data.error_se)
        provenance = Provenance(
            method=f"learning curve ({self.method})",
            k=data.sizes.size,
            n_dropped=data.n_dropped,
            dropped_reason=data.dropped_reason,
            warnings=tuple(f"{k}: {v}" for k, v in flags.items()),
            options={"families": list(self.families), "ensemble_size": self.ensemble_size,
                     "n_holdout": n_holdout, "loss": self.loss, "f_scale": self.f_scale,
                     "direction": self.direction, "perfect_score": self.perfect,
                     "worst_score": self.worst_score, "n_boot": self.n_boot,
                     "level": self.level, "seed": self.seed, "band": self.band},
            input_hash=input_hash(as_float_vector("sizes", sizes), as_float_vector("scores", scores),
                                  None if seeds is None else "|".join(map(str, np.asarray(seeds, dtype=object)))),
        )
        return CurveFit(
            method=self.method, chosen=tuple(chosen), weights=weights, fits=stage.fits,
            holdout_rmse=stage.holdout_rmse, holdout_reason=stage.holdout_reason, n_holdout=n_holdout,
            sizes=data.sizes, observed=to_score(data.error, self.direction, self.perfect),
            scale=float(data.sizes[-1]), direction=self.direction, perfect_score=self.perfect,
            max_error=self.max_error, level=self.level, scheme=data.scheme, n_seeds=data.n_seeds,
            boot_params=boot, flags=flags, provenance=provenance, band=self.band,
            calibration=calibration,
        )
