"""Weighted least squares and trace identities, batched over analyses.

All arrays carry a leading analysis axis ``m``: responses ``y`` and weights ``w`` are ``(m, k)``,
designs ``X`` are ``(m, k, p)``. Masked (absent) studies carry weight 0, so they drop out of every
sum. The k x k projection matrix ``P = W - W X (X'WX)^{-1} X'W`` is never formed; its traces are
computed from p x p quantities, which keeps memory linear in k (a single fit of k = 10^6 studies
needs a few arrays of length k).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

__all__ = ["WLS", "Batch", "StudyMajor", "cross", "study_major", "trace_p", "trace_p_a_p_b", "wls"]


# Planes of Batch.arena, the working memory of the intercept-only kernels.
PLANE_W, PLANE_TMP, PLANE_KEEP_Y, PLANE_KEEP_V, PLANE_Y, PLANE_YMC, PLANE_V_INF = range(7)
# From this many analyses, of at most STUDY_MAJOR_MAX_K studies, the kernels work on
# (studies, analyses) copies: below it the per-call cost of the row additions in study_sums
# exceeds numpy's per-analysis reductions, beyond the study limit the additions become many
# small ones again (measured at k = 3 to 150).
STUDY_MAJOR_FROM = 512
STUDY_MAJOR_MAX_K = 256


def study_major(m: int, k_max: int) -> bool:
    """Whether ``m`` analyses of up to ``k_max`` studies are fitted in the (studies, analyses) layout."""
    return m >= STUDY_MAJOR_FROM and 0 < k_max <= STUDY_MAJOR_MAX_K


class StudyMajor:
    """A batch's arrays transposed to (studies, analyses), each copied on first use.

    In this layout a sum over the studies of every analysis is a few additions of whole rows
    (:func:`consilience.pooling._intercept.study_sums`) instead of one short reduction per
    analysis; with thousands of analyses of a few dozen studies that is several times faster.
    The copies live in planes of the batch's arena and are made when first asked for.
    ``present`` and ``absent`` are the mask as booleans, None when the batch has no padding.
    It holds the batch's arrays, not the batch, so a batch is freed as soon as it is dropped.
    """

    def __init__(self, y: np.ndarray, mean: np.ndarray, v_inf: np.ndarray, mask: np.ndarray,
                 complete: bool, arena: np.ndarray) -> None:
        self._y, self._mean, self._v_inf, self._mask = y, mean, v_inf, mask
        self._complete, self._arena = complete, arena

    def _plane(self, i: int) -> np.ndarray:
        return np.asarray(self._arena[i].reshape(self._y.shape[::-1]))

    @cached_property
    def y(self) -> np.ndarray:
        out = self._plane(PLANE_Y)
        np.copyto(out, self._y.T)
        return out

    @cached_property
    def ymc(self) -> np.ndarray:
        out = self._plane(PLANE_YMC)
        np.subtract(self._y.T, self._mean[None, :], out=out)
        if self.absent is not None:
            np.copyto(out, 0.0, where=self.absent)
        return out

    @cached_property
    def v_inf(self) -> np.ndarray:
        out = self._plane(PLANE_V_INF)
        np.copyto(out, self._v_inf.T)
        return out

    @cached_property
    def present(self) -> np.ndarray | None:
        return None if self._complete else np.ascontiguousarray(self._mask.T > 0)

    @cached_property
    def absent(self) -> np.ndarray | None:
        return None if self.present is None else ~self.present


@dataclass(frozen=True)
class Batch:
    """A batch of ``m`` meta-analyses padded to ``k_max`` studies.

    Attributes
    ----------
    y : (m, k) effect sizes, 0 where masked.
    v : (m, k) sampling variances, 1 where masked (never used there: weights are 0).
    mask : (m, k) 1.0 for present studies, 0.0 for padding.
    X : (m, k, p) design, rows of padding are 0.
    k : (m,) number of studies per analysis.
    p : number of coefficients.
    ymc : (m, k) effect sizes centred on each analysis' unweighted mean, 0 where masked
        (metafor estimates tau² from mean-centred yi); computed on first use.
    """

    y: np.ndarray
    v: np.ndarray
    mask: np.ndarray
    X: np.ndarray
    k: np.ndarray
    p: int
    cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Kernel results that several stages of one fit share (see ``_intercept.fixed_effect``)."""

    @classmethod
    def build(cls, y: np.ndarray, v: np.ndarray, mask: np.ndarray, X: np.ndarray | None = None) -> Batch:
        mask = np.asarray(mask, dtype=float)
        k = mask.sum(axis=1)
        present = mask > 0
        if present.all():  # nothing to blank out: no copies (a batch is never written to)
            y0, v0 = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
        else:
            y0 = np.where(present, y, 0.0)
            v0 = np.where(present, v, 1.0)
        if X is None:
            X = mask[:, :, None]  # a read-only view: nothing writes into a batch
        else:
            X = X * mask[:, :, None]
        return cls(y=y0, v=v0, mask=mask, X=X, k=k.astype(int), p=X.shape[2])

    @cached_property
    def mean(self) -> np.ndarray:
        """Unweighted mean of each analysis' effects."""
        return np.asarray(self.y.sum(axis=1) / np.maximum(self.k, 1))

    @cached_property
    def ymc(self) -> np.ndarray:
        ymc = np.subtract(self.y, self.mean[:, None])
        if not self.complete:
            np.copyto(ymc, 0.0, where=self.mask == 0)
        return np.asarray(ymc)

    @cached_property
    def v_inf(self) -> np.ndarray:
        """``v`` with an infinite variance (weight exactly 0) in padding cells."""
        if self.complete:
            return self.v
        return np.where(self.mask > 0, self.v, np.inf)

    @cached_property
    def complete(self) -> bool:
        """True when no cell is padding (every analysis has ``k_max`` studies)."""
        return bool(self.mask.all())

    @cached_property
    def study_major(self) -> bool:
        """Whether the intercept-only kernels use the (studies, analyses) layout, :attr:`by_study`."""
        return study_major(*self.v.shape)

    @cached_property
    def arena(self) -> np.ndarray:
        """The working memory of the intercept-only kernels, one allocation: flat planes of the
        batch's size (``PLANE_*``; the last three only in the study-major layout).

        Pages are only touched when a kernel writes a plane. One block per batch, rather than
        one array per kernel and stage, means fewer fresh pages to fault in and lets the
        allocator keep the block for the next batch of the same size instead of returning it
        to the system at every call.
        """
        return np.empty((7 if self.study_major else 4, self.v.size))

    @property
    def scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """Two flat buffers of the batch's size that the intercept-only kernels overwrite."""
        return self.arena[PLANE_W], self.arena[PLANE_TMP]

    @cached_property
    def by_study(self) -> StudyMajor:
        """The arrays the intercept-only kernels read, laid out (studies, analyses)."""
        if not self.study_major:
            raise ValueError("internal: this batch uses the (analyses, studies) layout")
        return StudyMajor(self.y, self.mean, self.v_inf, self.mask, self.complete, self.arena)

    @property
    def intercept_only(self) -> bool:
        return self.p == 1

    def take(self, idx: np.ndarray) -> Batch:
        return Batch(self.y[idx], self.v[idx], self.mask[idx], self.X[idx], self.k[idx], self.p)


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
