"""The batched random-effects fit: tau² estimate -> coefficients, tests, intervals, heterogeneity.

One function, :func:`fit_batch`, serves single fits (a batch of one) and ``meta_analyze_many``
(thousands of analyses padded into one array), so both give identical numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from consilience.pooling import _intercept
from consilience.pooling._linalg import Batch, trace_p, wls
from consilience.pooling.tau2 import ESTIMATORS, Tau2Fit

__all__ = ["BatchFit", "Test", "fit_batch"]

Test = Literal["z", "knha"]
_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class BatchFit:
    """Arrays of results, one entry (or row) per analysis. Field names follow the glossary."""

    method: str
    test: str
    level: float
    k: np.ndarray
    p: int
    beta: np.ndarray  # (m, p)
    vcov: np.ndarray  # (m, p, p), Knapp-Hartung scaled for test="knha"
    se: np.ndarray  # (m, p)
    statistic: np.ndarray  # (m, p)
    p_value: np.ndarray  # (m, p)
    ci_low: np.ndarray  # (m, p)
    ci_high: np.ndarray  # (m, p)
    df: np.ndarray  # (m,) NaN for z
    crit: np.ndarray  # (m,)
    pi_low: np.ndarray  # (m,) at the intercept
    pi_high: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    q: np.ndarray
    q_df: np.ndarray
    q_p_value: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    vt: np.ndarray  # typical within-study variance (k-p)/tr(P_FE)
    qm: np.ndarray
    qm_df1: np.ndarray
    qm_df2: np.ndarray
    qm_p_value: np.ndarray
    weights: np.ndarray  # (m, k) percent weights
    tau2_fit: Tau2Fit


def per_unique(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """``fn(x)`` for an element-wise ``fn``, evaluated once per distinct value of ``x``.

    Quantiles of the chi² and t distributions cost microseconds each; a batch has few distinct
    degrees of freedom.
    """
    if x.size < 64:
        return np.asarray(fn(x))
    uniq, inverse = np.unique(x, return_inverse=True)
    return np.asarray(np.asarray(fn(uniq))[inverse])


def _percent(w: np.ndarray, s1: np.ndarray) -> np.ndarray:
    """``100 w / sum(w)`` per row, computed in the buffer of ``w``."""
    np.multiply(100, w, out=w)
    np.divide(w, s1[:, None], out=w)
    return w


def _wald(b: np.ndarray, v: np.ndarray) -> np.ndarray:
    """b' V^-1 b per analysis; NaN where V is singular (metafor's QM is NA when chol() fails)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if b.shape[1] == 1:
            vv = v[:, 0, 0]
            return np.where(vv > 0, b[:, 0] ** 2 / np.where(vv > 0, vv, 1.0), np.nan)
        try:
            return np.einsum("mi,mi->m", b, np.linalg.solve(v, b[:, :, None])[:, :, 0])
        except np.linalg.LinAlgError:
            out = np.full(b.shape[0], np.nan)
            ok = np.linalg.matrix_rank(v) == b.shape[1]
            out[ok] = np.einsum("mi,mi->m", b[ok], np.linalg.solve(v[ok], b[ok][:, :, None])[:, :, 0])
            return out


def _heterogeneity(batch: Batch, method: str) -> tuple[np.ndarray, ...]:
    """Cochran's Q (QE), its p-value, I², H² and vt, as metafor's rma.uni computes them."""
    df = (batch.k - batch.p).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if batch.p == 1:
            rss, tr_p = _intercept.heterogeneity(_intercept.Workspace(batch))
        else:
            w = batch.mask / batch.v
            fit = wls(batch.ymc, w, batch.X)
            rss = fit.rss
            tr_p = trace_p(w, batch.X, fit.inv)
        q = np.maximum(0.0, rss)
        vt = df / tr_p
        q_p = stats.chi2.sf(q, df)
    saturated = batch.k <= batch.p
    q = np.where(saturated, 0.0, q)
    q_p = np.where(saturated, 1.0, q_p)
    vt = np.where(saturated, 0.0, vt)
    return q, q_p, vt, df


def fit_batch(batch: Batch, method: str, test: Test, level: float, tau2_fit: Tau2Fit | None = None,
              *, omnibus: bool = True) -> BatchFit:
    """Fit every analysis in ``batch`` with tau² estimator ``method`` and inference ``test``.

    ``omnibus=False`` skips what only single fits report: the omnibus test (``qm`` fields NaN)
    and the per-study weights (an empty array).

    Notes
    -----
    Given tau², weights are ``w = 1/(vi + tau²)``, ``b = (X'WX)^-1 X'Wy`` and
    ``Var(b) = (X'WX)^-1``, scaled for Knapp-Hartung by ``s² = sum w (y - Xb)² / (k - p)``
    (0 when that sum is below machine epsilon), with t(k - p) critical values; the omnibus test of the
    moderators is ``QM = b' Var(b)^-1 b`` over the non-intercept coefficients (chi² with z, divided
    by their number and F-distributed with knha). The prediction interval at the intercept is
    ``b0 ± crit sqrt(se0² + tau²)``. ``Q`` always uses ``1/vi`` weights; for EE,
    ``I² = max(0, (Q - df)/Q)`` and ``H² = Q/df``, else ``I² = tau²/(vt + tau²)``,
    ``H² = tau²/vt + 1`` with ``vt = (k - p)/tr(P)``.

    Validated against: metafor 3.8-1 ``rma()`` and ``predict()``.
    """
    tfit = tau2_fit if tau2_fit is not None else ESTIMATORS[method](batch)
    tau2 = tfit.tau2
    if method == "EE":
        tau2 = np.zeros_like(tau2)
    m = batch.y.shape[0]
    p = batch.p
    t_fill = np.nan_to_num(tau2, nan=0.0)
    if p == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            b0, s1, rss, w = _intercept.wls_fit(_intercept.Workspace(batch), t_fill,
                                                centred=False, keep_weights=omnibus)
        beta = b0[:, None]
        vcov = (1.0 / s1)[:, None, None]
    else:
        w = batch.mask / (batch.v + t_fill[:, None])
        fit = wls(batch.y, w, batch.X)
        beta, rss = fit.beta, fit.rss
        vcov = fit.inv.copy()
    df_res = (batch.k - p).astype(float)
    if test == "knha":
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= _EPS, 0.0, rss / df_res)
        vcov = vcov * s2w[:, None, None]
        df = np.where(df_res > 0, df_res, np.nan)
        crit = per_unique(lambda d: stats.t.isf((1 - level) / 2, d), df)
    else:
        df = np.full(m, np.nan)
        crit = np.full(m, stats.norm.isf((1 - level) / 2))
    se = np.sqrt(np.einsum("mii->mi", vcov))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    if test == "knha":
        pval = 2 * stats.t.sf(np.abs(stat), df[:, None])
    else:
        pval = 2 * stats.norm.sf(np.abs(stat))
    ci_low = beta - crit[:, None] * se
    ci_high = beta + crit[:, None] * se
    pi_half = crit * np.sqrt(se[:, 0] ** 2 + t_fill)
    pi_low = beta[:, 0] - pi_half
    pi_high = beta[:, 0] + pi_half

    # omnibus test of moderators (all but the intercept), or of the intercept alone
    btt = slice(1, p) if p > 1 else slice(0, 1)
    nb = p - 1 if p > 1 else 1
    b_sub = beta[:, btt]
    v_sub = vcov[:, btt, btt]
    qm = _wald(b_sub, v_sub) if omnibus else np.full(m, np.nan)
    if not omnibus:
        qm_df2 = qm_p = np.full(m, np.nan)
    elif test == "knha":
        qm = qm / nb
        qm_df2 = df_res
        qm_p = np.where(df_res > 0, stats.f.sf(qm, nb, np.where(df_res > 0, df_res, 1.0)), np.nan)
    else:
        qm_df2 = np.full(m, np.nan)
        qm_p = stats.chi2.sf(qm, nb)

    q, q_p, vt, q_df = _heterogeneity(batch, method)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "EE":
            i2 = np.maximum(0.0, 100 * (q - q_df) / q)
            h2 = q / q_df
        else:
            i2 = 100 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1
    saturated = batch.k <= p
    i2 = np.where(saturated, 0.0, i2)
    h2 = np.where(saturated, 1.0, h2)
    if not omnibus or w is None:
        weights = np.empty((m, 0))
    elif p > 1:
        weights = 100 * w / w.sum(axis=1, keepdims=True)
    else:
        weights = _percent(w, s1)
    return BatchFit(
        method=method, test=test, level=level, k=batch.k, p=p, beta=beta, vcov=vcov, se=se,
        statistic=stat, p_value=pval, ci_low=ci_low, ci_high=ci_high, df=df, crit=crit,
        pi_low=pi_low, pi_high=pi_high, tau2=tau2, se_tau2=tfit.se_tau2, q=q, q_df=q_df,
        q_p_value=q_p, i2=i2, h2=h2, vt=vt, qm=qm, qm_df1=np.full(m, float(nb)), qm_df2=qm_df2,
        qm_p_value=qm_p, weights=weights, tau2_fit=tfit,
    )
