"""Many refits of one data set in one batched call: the engine of the sensitivity diagnostics.

Leave-one-out, influence, cumulative meta-analysis and trim-and-fill refit the same studies with
some of them left out. Instead of refitting in a loop, every refit is one row of a 0/1 ``mask``
over the studies and all rows go through :func:`consilience.pooling._kernel.fit_batch` together;
the kernel is exact for each row, so every row equals the corresponding metafor refit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from consilience.pooling._kernel import Test, fit_batch
from consilience.pooling._linalg import Batch, wls
from consilience.pooling.tau2 import ESTIMATORS, Tau2Fit

__all__ = ["CHUNK_CELLS", "Refits", "refit"]

CHUNK_CELLS = 2_000_000  # rows x studies per kernel call: bounds memory for very large k
_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Refits:
    """Results of ``m`` refits; NaN (and ``ok`` False) where a refit is impossible or failed.

    Attributes
    ----------
    k : (m,) studies in each refit.
    beta, se, statistic, p_value, ci_low, ci_high : (m, p) coefficients and their inference.
    vcov : (m, p, p) covariance of the coefficients (Knapp-Hartung scaled for ``knha``).
    df : (m,) t degrees of freedom (NaN for ``z``).
    tau2, se_tau2, i2, h2, q, q_p_value : (m,) heterogeneity of each refit.
    s2w : (m,) Knapp-Hartung scale factor (1 for ``z``).
    ok : (m,) True where the refit exists (enough studies, estimable, converged).
    """

    k: np.ndarray
    beta: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    vcov: np.ndarray
    df: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray
    q_p_value: np.ndarray
    s2w: np.ndarray
    ok: np.ndarray

    @property
    def n_failed(self) -> int:
        return int((~self.ok).sum())


def _estimable(X: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rows of ``mask`` whose kept studies still identify every coefficient of ``X``.

    Columns are scaled to unit maximum first, so the check does not depend on their units; a
    coefficient counts as inestimable where X'X of the kept rows has condition number above 1e14
    (a QR tolerance of 1e-7 on X itself, as R's ``lm`` uses when metafor drops coefficients).
    """
    p = X.shape[1]
    if p == 1:
        single: np.ndarray = mask.sum(axis=1) >= 1
        return single
    scale = np.abs(X).max(axis=0)
    Xs = X / np.where(scale > 0, scale, 1.0)
    gram = np.einsum("kp,mk,kq->mpq", Xs, mask, Xs, optimize=True)
    sv = np.linalg.svd(gram, compute_uv=False)
    return np.asarray(sv[:, -1] > 1e-14 * sv[:, 0], dtype=bool)


def _empty(m: int, p: int) -> dict[str, np.ndarray]:
    nan = np.full(m, np.nan)
    nanp = np.full((m, p), np.nan)
    return {"beta": nanp.copy(), "se": nanp.copy(), "statistic": nanp.copy(), "p_value": nanp.copy(),
            "ci_low": nanp.copy(), "ci_high": nanp.copy(), "vcov": np.full((m, p, p), np.nan),
            "df": nan.copy(), "tau2": nan.copy(), "se_tau2": nan.copy(), "i2": nan.copy(), "h2": nan.copy(),
            "q": nan.copy(), "q_p_value": nan.copy(), "s2w": nan.copy()}


def _fit_rows(y: np.ndarray, v: np.ndarray, X: np.ndarray, mask: np.ndarray, method: str, test: str,
              level: float, single: bool) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Fit the rows of ``mask`` in one kernel call; ``single`` rows hold one study each."""
    m = mask.shape[0]
    batch = Batch.build(np.broadcast_to(y, mask.shape), np.broadcast_to(v, mask.shape), mask,
                        np.broadcast_to(X, (m, *X.shape)))
    if single:
        # metafor fits k = 1 with tau² = 0 and switches Knapp-Hartung to z
        tfit = Tau2Fit.closed_form(np.zeros(m), np.full(m, np.nan))
        test = "z"
    else:
        tfit = ESTIMATORS[method](batch)
    fit = fit_batch(batch, method, cast(Test, test), level, tau2_fit=tfit)
    if test == "knha":
        w = batch.mask / (batch.v + np.nan_to_num(fit.tau2, nan=0.0)[:, None])
        rss = wls(batch.y, w, batch.X).rss
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= _EPS, 0.0, rss / (batch.k - batch.p))
    else:
        s2w = np.ones(m)
    out = {"beta": fit.beta, "se": fit.se, "statistic": fit.statistic, "p_value": fit.p_value,
           "ci_low": fit.ci_low, "ci_high": fit.ci_high, "vcov": fit.vcov, "df": fit.df, "tau2": fit.tau2,
           "se_tau2": fit.se_tau2, "i2": fit.i2, "h2": fit.h2, "q": fit.q, "q_p_value": fit.q_p_value,
           "s2w": s2w}
    return out, np.asarray(tfit.converged, dtype=bool) & np.isfinite(fit.tau2)


def refit(y: np.ndarray, v: np.ndarray, X: np.ndarray, mask: np.ndarray, method: str, test: str,
          level: float) -> Refits:
    """Fit one meta-analysis per row of ``mask`` (m, k) on the studies it keeps.

    Parameters
    ----------
    y, v : (k,) effect sizes and sampling variances.
    X : (k, p) design (a column of ones without moderators).
    mask : (m, k) 1 for a study kept in that refit, 0 for one left out.
    method, test, level : as in :class:`consilience.MetaAnalysis` (level as a fraction).

    Notes
    -----
    As metafor's refits: a row keeping a single study of an intercept-only model is fitted with
    tau² = 0 and a z test; a row with fewer studies than parameters (p, plus one for tau² unless
    ``method="EE"``), a coefficient that is no longer estimable, or an estimator that fails to
    converge gives NaN. Rows are fitted in chunks of at most ``CHUNK_CELLS`` rows x studies.
    """
    mask = np.asarray(mask, dtype=float)
    m, k = mask.shape
    p = X.shape[1]
    kk = mask.sum(axis=1).astype(int)
    single = (kk == 1) & (p == 1)
    need = p + (0 if method == "EE" else 1)
    usable = (single | (kk >= need)) & _estimable(X, mask)
    out = _empty(m, p)
    ok = np.zeros(m, dtype=bool)
    step = max(1, CHUNK_CELLS // max(k, 1))
    for flag in (False, True):
        rows = np.flatnonzero(usable & (single == flag))
        for start in range(0, rows.size, step):
            idx = rows[start:start + step]
            part, good = _fit_rows(y, v, X, mask[idx], method, test, level, single=flag)
            for name, arr in part.items():
                out[name][idx] = arr
            ok[idx] = good
    for name, arr in out.items():
        arr[~ok] = np.nan
    return Refits(k=kk, ok=ok, **out)
