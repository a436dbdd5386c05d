"""Weighted least squares and trace identities, batched over analyses.

All arrays carry a leading analysis axis ``m``: responses ``y`` and weights ``w`` are ``(m, k)``,
designs ``X`` are ``(m, k, p)``. Masked (absent) studies carry weight 0, so they drop out of every
sum. The k x k projection matrix ``P = W - W X (X'WX)^{-1} X'W`` is never formed; its traces are
computed from p x p quantities, which keeps memory linear in k (a single fit of k = 10^6 studies
needs a few arrays of length k).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["WLS", "Batch", "cross", "trace_p", "trace_p_a_p_b", "wls"]


@dataclass(frozen=True)
class Batch:
    """A batch of ``m`` meta-analyses padded to ``k_max`` studies.

    Attributes
    ----------
    y : (m, k) effect sizes, 0 where masked.
    ymc : (m, k) effect sizes centred on each analysis' unweighted mean, 0 where masked
        (metafor estimates tau² from mean-centred yi).
    v : (m, k) sampling variances, 1 where masked (never used there: weights are 0).
    mask : (m, k) 1.0 for present studies, 0.0 for padding.
    X : (m, k, p) design, rows of padding are 0.
    k : (m,) number of studies per analysis.
    p : number of coefficients.
    """

    y: np.ndarray
    ymc: np.ndarray
    v: np.ndarray
    mask: np.ndarray
    X: np.ndarray
    k: np.ndarray
    p: int

    @classmethod
    def build(cls, y: np.ndarray, v: np.ndarray, mask: np.ndarray, X: np.ndarray | None = None) -> Batch:
        mask = np.asarray(mask, dtype=float)
        k = mask.sum(axis=1)
        present = mask > 0
        y0 = np.where(present, y, 0.0)
        v0 = np.where(present, v, 1.0)
        mean = y0.sum(axis=1) / np.maximum(k, 1)
        ymc = np.subtract(y0, mean[:, None])
        np.copyto(ymc, 0.0, where=~present)
        if X is None:
            X = mask[:, :, None]  # a read-only view: nothing writes into a batch
        else:
            X = X * mask[:, :, None]
        return cls(y=y0, ymc=ymc, v=v0, mask=mask, X=X, k=k.astype(int), p=X.shape[2])

    @cached_property
    def v_inf(self) -> np.ndarray:
        """``v`` with an infinite variance (weight exactly 0) in padding cells."""
        return np.where(self.mask > 0, self.v, np.inf)

    @property
    def intercept_only(self) -> bool:
        return self.p == 1

    def take(self, idx: np.ndarray) -> Batch:
        return Batch(self.y[idx], self.ymc[idx], self.v[idx], self.mask[idx], self.X[idx], self.k[idx], self.p)


def cross(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``X' diag(d) X`` for each analysis: (m, p, p)."""
    if X.shape[2] == 1:
        return (d * X[:, :, 0] ** 2).sum(axis=1)[:, None, None]
    return np.einsum("mki,mk,mkj->mij", X, d, X, optimize=True)


def _xtd(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``X' d`` for each analysis: (m, p)."""
    if X.shape[2] == 1:
        return (X[:, :, 0] * d).sum(axis=1)[:, None]
    return np.einsum("mki,mk->mi", X, d, optimize=True)


def _inv(M: np.ndarray) -> np.ndarray:
    if M.shape[1] == 1:
        return 1.0 / M
    return np.linalg.inv(M)


@dataclass(frozen=True)
class WLS:
    """Weighted least-squares fit: coefficients, (X'WX)^-1, residuals, weighted RSS."""

    beta: np.ndarray  # (m, p)
    inv: np.ndarray  # (m, p, p)
    resid: np.ndarray  # (m, k)
    rss: np.ndarray  # (m,)


def wls(y: np.ndarray, w: np.ndarray, X: np.ndarray) -> WLS:
    """Weighted least squares of ``y`` on ``X`` with weights ``w`` (0 for absent studies)."""
    inv = _inv(cross(X, w))
    beta = np.einsum("mij,mj->mi", inv, _xtd(X, w * y))
    fitted = np.einsum("mki,mi->mk", X, beta) if X.shape[2] > 1 else X[:, :, 0] * beta[:, 0:1]
    resid = np.where(w > 0, y - fitted, 0.0)
    rss = (w * resid**2).sum(axis=1)
    return WLS(beta=beta, inv=inv, resid=resid, rss=rss)


def trace_p(w: np.ndarray, X: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """tr(P) = tr(W) - tr((X'WX)^-1 X'W²X)."""
    return w.sum(axis=1) - np.einsum("mij,mji->m", inv, cross(X, w**2))


def trace_p_a_p_b(w: np.ndarray, X: np.ndarray, inv: np.ndarray, a: np.ndarray | float = 1.0, b: np.ndarray | float = 1.0) -> np.ndarray:
    """``sum_ij P_ij² a_i b_j`` = tr(P D_a P D_b) for diagonal D_a, D_b.

    With ``P_ij = w_i δ_ij - w_i w_j x_i' A x_j`` and ``A = (X'WX)^-1``::

        sum(w² a b) - 2 tr(A X' diag(w³ a b) X) + tr(A X' diag(w² a) X A X' diag(w² b) X)

    a = b = 1 gives tr(PP) = sum(P*P); a = b = v gives tr(PVPV); a = 1, b = v gives sum(PV*P).
    """
    a = np.broadcast_to(a, w.shape)
    b = np.broadcast_to(b, w.shape)
    first = (w**2 * a * b).sum(axis=1)
    second = np.einsum("mij,mji->m", inv, cross(X, w**3 * a * b))
    Sa = np.einsum("mij,mjk->mik", inv, cross(X, w**2 * a))
    Sb = np.einsum("mij,mjk->mik", inv, cross(X, w**2 * b))
    third = np.einsum("mij,mji->m", Sa, Sb)
    return first - 2.0 * second + third
