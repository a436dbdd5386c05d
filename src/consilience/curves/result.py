"""Results of learning-curve extrapolation: :class:`CurveFit` and :class:`IntervalEstimate`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, json_safe
from consilience._validation import as_float_vector
from consilience.curves._data import Direction, to_error, to_score
from consilience.curves.calibration import BandCalibration
from consilience.curves.families import FAMILIES, FloatArray
from consilience.curves.fitting import FamilyFit
from consilience.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["CurveFit", "IntervalEstimate"]


@dataclass(frozen=True)
class IntervalEstimate:
    """One quantity with its bootstrap interval.

    Attributes
    ----------
    quantity : str
        What is estimated (``"score at size 10000"``).
    estimate : float
        Point estimate (from the fit to the observed curve).
    ci_low, ci_high : float
        Percentile bootstrap interval at ``level``; ``inf`` where some replicates never get there.
    level : float
        Confidence level as a fraction.
    """

    quantity: str
    estimate: float
    ci_low: float
    ci_high: float
    level: float

    def to_dict(self) -> dict[str, Any]:
        return {k: json_safe(getattr(self, k)) for k in ("quantity", "estimate", "ci_low", "ci_high", "level")}

    def __repr__(self) -> str:
        return (f"<IntervalEstimate {self.quantity}: {self.estimate:.4g} "
                f"[{self.ci_low:.4g}, {self.ci_high:.4g}] level={self.level:g}>")


def percentile_interval(draws: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    """Percentile interval along axis 0, NaN-free draws assumed (inf allowed)."""
    alpha = (1.0 - level) / 2.0
    lo = np.quantile(draws, alpha, axis=0, method="linear")
    hi = np.quantile(draws, 1.0 - alpha, axis=0, method="linear")
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


@dataclass(frozen=True, eq=False)
class CurveFit:
    """A learning curve fitted, chosen and bootstrapped by :class:`LearningCurve`.

    Attributes
    ----------
    method : {"ensemble", "select"}
        How families were combined.
    chosen : tuple of str
        Families in the prediction, best held-back error first.
    weights : tuple of float
        Their weights (sum to one).
    fits : tuple of FamilyFit
        Every requested family fitted to all anchors, failures included with their reason.
    holdout_rmse : mapping of str to float
        Each family's RMSE (error units) on the held-back anchors when fitted to the earlier
        ones; NaN when that fit failed.
    holdout_reason : mapping of str to str or None
        Why a family has no held-back error.
    n_holdout : int
        Number of held-back (largest) anchors used for the choice.
    sizes, observed : ndarray
        Anchors and the mean observed score at each.
    scale : float
        The size ``s`` in ``u = size / s`` (the largest anchor).
    direction : {"higher", "lower"}
        Whether a higher score is better.
    perfect_score : float
        The score of a perfect model (error 0).
    max_error : float
        Largest possible error (distance of the worst score from the perfect one; ``inf`` when
        unbounded); predictions are clipped to ``[0, max_error]``.
    level : float
        Confidence level of the bands.
    scheme : {"seeds", "rows", "residuals"}
        What the bootstrap resampled.
    n_seeds : int
        Seeds (or splits) behind each anchor.
    boot_params : mapping of str to ndarray
        ``(n_ok, n_params)`` bootstrap parameters of each chosen family.
    flags : mapping of str to str
        Ill-behaved-shape flags and their explanations (see :func:`shape_flags`).
    provenance : Provenance
        Method, anchors, dropped rows, options, input hash, version; ``k`` is the number of
        anchors.
    band : {"calibrated", "bootstrap"}
        Whether :meth:`draws` (and so every band and interval) is stretched by ``calibration``
        for the extrapolation distance, or is the plain bootstrap.
    calibration : BandCalibration or None
        The inflation factors (None for ``band="bootstrap"``).
    """

    method: Literal["ensemble", "select"]
    chosen: tuple[str, ...]
    weights: tuple[float, ...]
    fits: tuple[FamilyFit, ...]
    holdout_rmse: Mapping[str, float]
    holdout_reason: Mapping[str, str | None]
    n_holdout: int
    sizes: FloatArray
    observed: FloatArray
    scale: float
    direction: Direction
    perfect_score: float
    max_error: float
    level: float
    scheme: str
    n_seeds: int
    boot_params: Mapping[str, FloatArray]
    flags: Mapping[str, str]
    provenance: Provenance
    band: Literal["calibrated", "bootstrap"] = "bootstrap"
    calibration: BandCalibration | None = None

    # -- prediction ---------------------------------------------------------------------------

    def _fit(self, name: str) -> FamilyFit:
        return next(f for f in self.fits if f.family == name)

    def _sizes(self, sizes: Any) -> FloatArray:
        x = as_float_vector("sizes", np.atleast_1d(np.asarray(sizes, dtype=float)))
        if np.any(~np.isfinite(x)) or np.any(x <= 1):
            raise InputError(f"'sizes' to predict at must be finite training-set sizes > 1; got "
                             f"{x[~(np.isfinite(x) & (x > 1))][0]:g}. Pass numbers of labelled examples.")
        return x

    def _error(self, sizes: FloatArray, params: Mapping[str, FloatArray]) -> FloatArray:
        total: FloatArray | float = 0.0
        for name, w in zip(self.chosen, self.weights):
            error = FAMILIES[name].evaluate(sizes, params[name], self.scale)
            total = total + w * np.clip(error, 0.0, self.max_error)
        return np.asarray(total, dtype=float)

    def point(self, sizes: Any) -> FloatArray:
        """Predicted score at ``sizes`` from the fit to the observed curve."""
        x = self._sizes(sizes)
        params = {n: np.asarray(self._fit(n).params) for n in self.chosen}
        return to_score(self._error(x, params), self.direction, self.perfect_score)

    def band_inflation(self, sizes: Any) -> FloatArray:
        """Conformal factor :math:`k` of the calibrated band at ``sizes`` (1 for
        ``band="bootstrap"`` and within the measured range)."""
        x = self._sizes(sizes)
        if self.calibration is None:
            return np.ones(x.size)
        return self.calibration.factor(self.level, x / self.current_size, self.sizes.size)

    def draws(self, sizes: Any, *, calibrated: bool = True) -> FloatArray:
        r"""Model-averaged bootstrap draws of the predicted score, shape ``(n_boot_ok, len(sizes))``.

        Each row is one chosen family's curve refitted to one bootstrap replicate; the families
        take disjoint blocks of replicates in proportion to their weights (largest remainders),
        so the spread holds both the sampling noise and the families' disagreement. With
        ``calibrated`` (and ``band="calibrated"``) each side of the draws' median at each size is
        stretched linearly so that the percentiles at ``level`` become the calibrated band
        :math:`\tilde e \pm k (w_\pm + c\, e_n \log_2 r)` (:meth:`band_inflation` gives
        :math:`k`; see :mod:`consilience.curves.calibration`), then clipped to the possible
        scores; within the measured range the draws are unchanged.
        """
        x = self._sizes(sizes)
        n = self.n_boot_ok
        share = np.asarray(self.weights) * n
        counts = np.floor(share).astype(int)
        counts[np.argsort(counts - share)[: n - counts.sum()]] += 1
        rows, start = [], 0
        for name, count in zip(self.chosen, counts):
            params = self.boot_params[name][start: start + count]
            error = np.clip(FAMILIES[name].evaluate(x, params, self.scale), 0.0, self.max_error)
            rows.append(np.asarray(error, dtype=float).reshape(count, x.size))
            start += count
        error = np.concatenate(rows, axis=0)
        if calibrated and self.calibration is not None and n:
            last = float(to_error(self.observed[-1], self.direction, self.perfect_score))
            stretched = self.calibration.stretch(error, level=self.level, ratio=x / self.current_size,
                                                 n_anchors=self.sizes.size, last_error=last)
            error = np.clip(stretched, 0.0, self.max_error)
        return to_score(error, self.direction, self.perfect_score)

    def predict(self, sizes: Any) -> pd.DataFrame:
        """Band around the extrapolated curve: columns ``size, estimate, ci_low, ci_high, level``.

        ``estimate`` is the (weighted) fit to the observed curve, the interval the percentiles of
        :meth:`draws` (calibrated for the extrapolation distance unless ``band="bootstrap"``).
        """
        x = self._sizes(sizes)
        est = self.point(x)
        lo, hi = percentile_interval(self.draws(x), self.level) if self.n_boot_ok else (est * np.nan, est * np.nan)
        return pd.DataFrame({"size": x, "estimate": est, "ci_low": lo, "ci_high": hi,
                             "level": np.full(x.size, self.level)})

    def predict_at(self, size: float) -> IntervalEstimate:
        """Predicted score at one training-set size, with its bootstrap interval."""
        row = self.predict([size]).iloc[0]
        return IntervalEstimate(f"score at size {size:g}", float(row["estimate"]), float(row["ci_low"]),
                                float(row["ci_high"]), self.level)

    @property
    def n_boot_ok(self) -> int:
        """Bootstrap replicates in which every chosen family could be refitted."""
        return int(next(iter(self.boot_params.values())).shape[0]) if self.boot_params else 0

    @property
    def current_size(self) -> float:
        return float(self.sizes[-1])

    # -- faces --------------------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per family: ``family, formula, n_params, status, reason, rmse, holdout_rmse,
        holdout_reason, weight, chosen, params`` (``params`` as ``name=value`` text)."""
        rows = []
        weight = dict(zip(self.chosen, self.weights))
        for f in self.fits:
            rows.append({
                "family": f.family,
                "formula": FAMILIES[f.family].formula,
                "n_params": len(f.param_names),
                "status": f.status,
                "reason": f.reason,
                "rmse": f.rmse,
                "holdout_rmse": self.holdout_rmse.get(f.family, math.nan),
                "holdout_reason": self.holdout_reason.get(f.family),
                "weight": weight.get(f.family, 0.0),
                "chosen": f.family in weight,
                "params": ", ".join(f"{n}={v:.6g}" for n, v in zip(f.param_names, f.params)),
            })
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (bootstrap draws summarised by their count)."""
        return {
            "method": self.method,
            "chosen": list(self.chosen),
            "weights": json_safe(self.weights),
            "families": [
                {**f.to_dict(), "holdout_rmse": json_safe(self.holdout_rmse.get(f.family, math.nan)),
                 "holdout_reason": self.holdout_reason.get(f.family)}
                for f in self.fits
            ],
            "n_holdout": self.n_holdout,
            "sizes": json_safe(self.sizes),
            "observed": json_safe(self.observed),
            "scale": self.scale,
            "direction": self.direction,
            "perfect_score": self.perfect_score,
            "max_error": json_safe(self.max_error),
            "level": self.level,
            "scheme": self.scheme,
            "n_seeds": self.n_seeds,
            "n_boot_ok": self.n_boot_ok,
            "band": self.band,
            "flags": dict(self.flags),
            "provenance": self.provenance.to_dict(),
        }

    def summary(self) -> Summary:
        frame = self.to_frame()[["family", "status", "holdout_rmse", "rmse", "weight"]]
        lines: list[tuple[str, Any]] = [
            ("method", self.method),
            ("chosen", ", ".join(f"{n} ({w:.2f})" for n, w in zip(self.chosen, self.weights))),
            ("anchors", f"{self.sizes.size} ({self.sizes[0]:g} to {self.sizes[-1]:g})"),
            ("held-back anchors", self.n_holdout),
            ("seeds", self.n_seeds),
            ("bootstrap", f"{self.n_boot_ok} replicates ({self.scheme})"),
            ("band", "calibrated for extrapolation distance" if self.calibration is not None
             else "plain bootstrap percentiles"),
            ("level", self.level),
            ("flags", ", ".join(self.flags) or "none"),
        ]
        notes = [f"{k}: {v}" for k, v in self.flags.items()]
        notes += [f"{f.family} failed: {f.reason}" for f in self.fits if not f.ok]
        return Summary("Learning curve", lines, [("Families (error scale)", frame)], notes)

    def __repr__(self) -> str:
        chosen = "+".join(self.chosen)
        flags = f" flags={','.join(self.flags)}" if self.flags else ""
        return (f"<CurveFit {self.method} {chosen} anchors={self.sizes.size} "
                f"last={self.observed[-1]:.4g} at {self.sizes[-1]:g}{flags}>")

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Observed, fitted and extrapolated curve with its band; ``options`` are the keywords of
        :func:`consilience.report.plots.learning_curve_plot` (until, xlabel, ylabel, digits)."""
        from consilience.report.plots import learning_curve_plot

        return learning_curve_plot(self, ax, **options)
