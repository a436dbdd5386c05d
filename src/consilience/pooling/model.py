"""Fixed- and random-effects meta-analysis and meta-regression: the estimator and its function."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from consilience._results import Provenance, input_hash
from consilience._validation import as_float_vector, check_choice, check_level, describe_rows
from consilience.errors import (
    ConvergenceError,
    ConvergenceWarning,
    DataDroppedWarning,
    InputError,
    SmallSampleWarning,
)
from consilience.pooling._kernel import BatchFit, fit_batch
from consilience.pooling._linalg import Batch, wls
from consilience.pooling.design import build_design, check_rank
from consilience.pooling.qprofile import qprofile_ci
from consilience.pooling.result import Coefficient, MetaResult
from consilience.pooling.tau2 import METHOD_ALIASES, METHODS, Tau2Fit

__all__ = ["MetaAnalysis", "Method", "TestKind", "meta_analyze"]

Method = Literal["EE", "FE", "CE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]
TestKind = Literal["z", "knha"]


def _column(data: pd.DataFrame | None, value: Any, name: str) -> Any:
    if data is not None and isinstance(value, str):
        if value not in data.columns:
            raise InputError(f"'{name}' names column {value!r}, which is not in data. Available: {list(map(str, data.columns))}.")
        return data[value]
    return value


@dataclass(frozen=True, kw_only=True)
class MetaAnalysis:
    """Configuration of a meta-analysis; :meth:`fit` returns a :class:`MetaResult`.

    Parameters
    ----------
    method : {"REML", "ML", "EB", "PM", "DL", "HE", "HS", "SJ", "EE"}
        tau² estimator; "FE" and "CE" are accepted as aliases of "EE" (equal effects).
    test : {"z", "knha"}
        Normal-theory inference, or Knapp-Hartung t tests with k - p degrees of freedom.
    level : float
        Confidence level, in percent (95) or as a fraction (0.95).

    Notes
    -----
    Everything is computed by the batched kernel in ``pooling/_kernel.py``; iterative estimators
    replicate metafor's Fisher scoring and ``uniroot`` steps so that the numbers are metafor's.

    Validated against: metafor 3.8-1 ``rma()``, ``confint()``, ``predict()`` on twelve published data
    sets (tests/reference/metafor), every method with ``test="z"`` and DL/REML/PM with ``"knha"``.
    """

    method: Method = "REML"
    test: TestKind = "z"
    level: float = 95

    def fit(self, yi: Any, vi: Any, *, mods: Any = None, labels: Any = None) -> MetaResult:
        """Pool effect sizes ``yi`` with sampling variances ``vi``.

        Parameters
        ----------
        yi, vi : array-like
            Effect sizes and their sampling variances (SE², not SE), one per study.
        mods : DataFrame, mapping or array, optional
            Moderators, one row per study. Categorical columns become treatment-coded dummies.
        labels : array-like, optional
            Study labels for tables and error messages (default: row numbers).
        """
        method = check_choice("method", self.method, METHODS, aliases=METHOD_ALIASES)
        test = check_choice("test", self.test, ("z", "knha"))
        level = check_level(self.level)
        sized = isinstance(yi, (pd.Series, list, tuple)) or (
            isinstance(yi, np.ndarray) and yi.ndim == 1)
        n_in = len(yi) if sized else len(np.atleast_1d(np.asarray(yi, dtype=object)))
        lab = list(map(str, labels if labels is not None else range(n_in)))
        y = as_float_vector("yi", yi, labels=lab)
        v = as_float_vector("vi", vi, labels=lab)
        if y.shape != v.shape:
            raise InputError(f"'yi' and 'vi' must have the same length; got {y.size} and {v.size}. Pass one variance per effect.")
        if len(lab) != y.size:
            raise InputError(f"'labels' must have one entry per study; got {len(lab)} for {y.size} studies.")
        neg = np.flatnonzero(v <= 0)
        if neg.size:
            raise InputError(
                f"'vi' must be > 0; got {v[neg[0]]} at {describe_rows(neg, lab)}. Pass sampling variances "
                f"(SE²), not standard errors; a zero variance usually means a single run per arm: add the "
                f"test-set variance or more seeds."
            )
        design = build_design(mods, y.size)
        bad = np.isnan(y) | np.isnan(v) | design.missing
        notes: list[str] = []
        reason = None
        if bad.any():
            parts = [f"{int(np.isnan(y).sum())} missing yi", f"{int(np.isnan(v).sum())} missing vi"]
            if design.columns:
                parts.append(f"{int(design.missing.sum())} missing moderators")
            reason = ", ".join(parts)
            msg = f"{int(bad.sum())} of {y.size} studies dropped ({reason}): {describe_rows(np.flatnonzero(bad), lab)}."
            warnings.warn(msg, DataDroppedWarning, stacklevel=2)
            notes.append(msg)
        keep = ~bad
        y, v, X = y[keep], v[keep], design.X[keep]
        if not keep.all():
            lab = list(itertools.compress(lab, keep))
        k = y.size
        if k == 0:
            raise InputError("no studies left to pool (k = 0): every study has a missing yi, vi or moderator. Check the inputs.")
        check_rank(X, design.names)
        batch = Batch.build(y[None, :], v[None, :], np.ones((1, k)), X[None, :, :])
        tfit: Tau2Fit | None = None
        if k == 1:
            msg = "only one study (k = 1): the estimate is that study's effect, tau² is set to 0 and heterogeneity cannot be assessed."
            warnings.warn(msg, SmallSampleWarning, stacklevel=2)
            notes.append(msg)
            tfit = Tau2Fit.closed_form(np.zeros(1), np.full(1, np.nan))
        fit = fit_batch(batch, method, test, level, tau2_fit=tfit)
        tf = fit.tau2_fit
        if not tf.converged[0]:
            raise ConvergenceError(
                f"the {method} estimate of tau² could not be computed: {tf.message}. Try a non-iterative "
                f"estimator (method='DL' or 'HE'), look for outlying studies, or rescale the effect sizes."
            )
        if tf.boundary_reset[0]:
            msg = (f"{method}: the likelihood at tau² = 0 exceeds the one where Fisher scoring stopped (a local "
                   f"maximum); tau² set to 0 as metafor does. Check the likelihood profile.")
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
            notes.append(msg)
        return self._assemble(fit, batch, design, y, v, lab, int(bad.sum()), reason, notes, mods)

    def _assemble(self, fit: BatchFit, batch: Batch, design: Any, y: np.ndarray, v: np.ndarray,
                  lab: list[str], n_dropped: int, reason: str | None, notes: list[str], mods: Any) -> MetaResult:
        k = int(fit.k[0])
        p = fit.p
        qp = qprofile_ci(batch, fit.tau2, fit.vt, fit.level) if (fit.method != "EE" and k > p) else None

        def opt(arr: np.ndarray | None) -> float | None:
            if arr is None:
                return None
            val = float(arr[0])
            return None if np.isnan(val) else val

        coefs = tuple(
            Coefficient(name=design.names[j], estimate=float(fit.beta[0, j]), se=float(fit.se[0, j]),
                        statistic=float(fit.statistic[0, j]), p_value=float(fit.p_value[0, j]),
                        ci_low=float(fit.ci_low[0, j]), ci_high=float(fit.ci_high[0, j]))
            for j in range(p)
        )
        r2 = self._r2(batch, fit) if p > 1 else None
        df = None if np.isnan(fit.df[0]) else float(fit.df[0])
        prov = Provenance(
            method=fit.method, k=k, n_dropped=n_dropped, dropped_reason=reason, warnings=tuple(notes),
            options={"test": fit.test, "level": fit.level, "moderators": list(design.names[1:]),
                     "iterations": int(fit.tau2_fit.iterations[0])},
            input_hash=input_hash(y, v, design.X),
        )
        return MetaResult(
            k=k, method=fit.method, test=fit.test, level=fit.level,
            estimate=coefs[0].estimate, se=coefs[0].se, statistic=coefs[0].statistic, p_value=coefs[0].p_value,
            df=df, ci_low=coefs[0].ci_low, ci_high=coefs[0].ci_high,
            pi_low=float(fit.pi_low[0]), pi_high=float(fit.pi_high[0]),
            tau2=float(fit.tau2[0]), se_tau2=opt(fit.se_tau2),
            tau2_ci_low=opt(qp.tau2_ci_low) if qp else None, tau2_ci_high=opt(qp.tau2_ci_high) if qp else None,
            i2=float(fit.i2[0]), i2_ci_low=opt(qp.i2_ci_low) if qp else None, i2_ci_high=opt(qp.i2_ci_high) if qp else None,
            h2=float(fit.h2[0]), h2_ci_low=opt(qp.h2_ci_low) if qp else None, h2_ci_high=opt(qp.h2_ci_high) if qp else None,
            q=float(fit.q[0]), q_df=int(fit.q_df[0]), q_p_value=float(fit.q_p_value[0]),
            coefficients=coefs, qm=float(fit.qm[0]), qm_df=int(fit.qm_df1[0]), qm_p_value=float(fit.qm_p_value[0]),
            r2=r2, n_dropped=n_dropped, yi=y, vi=v, labels=tuple(lab), weights=fit.weights[0],
            vcov=fit.vcov[0], design=design.__class__(batch.X[0].copy(), design.names, design.columns,
                                                      np.zeros(k, dtype=bool), design.levels),
            provenance=prov,
        )

    @staticmethod
    def _r2(batch: Batch, fit: BatchFit) -> float:
        """Pseudo-R²: proportional reduction of tau² against the intercept-only model (metafor r2def 1)."""
        if fit.method == "EE":
            w = batch.mask / batch.v
            full = wls(batch.y, w, batch.X).rss[0]
            null = wls(batch.y, w, batch.X[:, :, :1]).rss[0]
            if null <= 0:
                return 0.0
            k, p = int(batch.k[0]), batch.p
            adj = 1 - (full / null) * (k - 1) / (k - p)
            return max(0.0, 100 * adj)
        null_batch = Batch.build(batch.y, batch.v, batch.mask)
        null_fit = fit_batch(null_batch, fit.method, "z", fit.level)
        t0 = float(null_fit.tau2[0])
        if t0 == 0 or np.isnan(t0):
            return 0.0
        return max(0.0, 100 * (t0 - float(fit.tau2[0])) / t0)


def meta_analyze(yi: Any, vi: Any, *, method: Method = "REML", test: TestKind = "z", mods: Any = None,
                 level: float = 95, labels: Any = None, data: pd.DataFrame | None = None) -> MetaResult:
    """Fixed- or random-effects meta-analysis (meta-regression with ``mods``).

    ``yi``, ``vi`` (and ``labels``) may be arrays, or column names of ``data``; ``mods`` may be a
    DataFrame, a mapping, an array, or a list of column names of ``data``. See :class:`MetaAnalysis`.

    Examples
    --------
    >>> import consilience as cs
    >>> res = cs.meta_analyze([0.1, 0.3, 0.35, 0.2], [0.01, 0.02, 0.015, 0.01])
    >>> round(res.estimate, 4)
    0.2192
    """
    if data is not None:
        yi = _column(data, yi, "yi")
        vi = _column(data, vi, "vi")
        labels = _column(data, labels, "labels")
        if isinstance(mods, (list, tuple)) and all(isinstance(c, str) for c in mods):
            missing = [c for c in mods if c not in data.columns]
            if missing:
                raise InputError(f"'mods' names column(s) {missing} not in data. Available: {list(map(str, data.columns))}.")
            mods = data[list(mods)]
        elif isinstance(mods, str):
            mods = data[[_column(data, mods, "mods").name]]
    return MetaAnalysis(method=method, test=test, level=level).fit(yi, vi, mods=mods, labels=labels)
