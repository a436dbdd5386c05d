"""Kernels for intercept-only batches (p = 1), the case of every ``meta_analyze_many`` call.

With one coefficient the p x p algebra of :mod:`consilience.pooling._linalg` reduces to sums over
studies: ``X'WX = sum(w)``, ``(X'WX)^-1 = 1/sum(w)``, ``tr(P) = sum(w) - sum(w²)/sum(w)``. The
functions here perform, element for element and in the same order, the floating-point operations
that the general code performs when p = 1, with one exception: ``w³`` in ``tr(PP)`` is formed as
``(w²)·w`` (the general code calls ``pow``, ten times slower), so REML, ML and DL agree with the
general path to about 1e-16 relative in each step rather than to the last bit. What they save is
work: no design array and no 1 x 1 matrices, fewer passes over the studies, analyses that have
stopped iterating leave the working arrays, the temporaries live in the batch's arena instead of
fresh arrays (whose page faults cost more than the arithmetic done in them), and large batches
are worked on in the (studies, analyses) layout, where :func:`study_sums` adds whole rows in
numpy's own pairwise order (the same numbers as per-analysis sums).

Padding cells hold an infinite variance, so their weight ``1 / (v + tau²)`` is exactly 0, as the
general code's ``mask / (v + tau²)`` is, and they add the same exact zeros to every sum.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from consilience.pooling._linalg import (
    PLANE_KEEP_V,
    PLANE_KEEP_Y,
    STUDY_MAJOR_FROM,
    Batch,
    study_major,
)

__all__ = [
    "CompactQ", "Workspace", "fisher_scoring", "fixed_effect", "fixed_effect_traces", "halve_step", "he_start",
    "heterogeneity", "log_lik", "log_lik_at_zero", "q_stat", "se_tau2", "study_sums", "wls_fit",
]

Kind = Literal["ML", "REML", "EB"]
_COMPACT_BELOW = 0.7  # re-gather the working rows once fewer than this share are still needed
_PW_BLOCK = 128  # numpy's PW_BLOCKSIZE


def study_sums(a: np.ndarray) -> np.ndarray:
    """Column sums of a (studies, analyses) array, bit for bit equal to ``a.T.sum(axis=1)``.

    numpy sums the short contiguous rows of an (analyses, studies) array by pairwise summation,
    one call per row: eight running sums over the studies taken eight at a time, combined as
    ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the remaining ``k % 8`` added in
    turn (fewer than 8 studies: added in turn; more than 128: split in two halves at a multiple
    of 8, recursively). This performs the same additions in the same order on whole rows of
    analyses, which vectorises across analyses.
    """
    return _pairwise(a, 0, a.shape[0])


def _pairwise(a: np.ndarray, lo: int, n: int) -> np.ndarray:
    if n < 8:
        res = a[lo].copy() if n else np.zeros(a.shape[1])
        for i in range(lo + 1, lo + n):
            res += a[i]
        return res
    if n <= _PW_BLOCK:
        end = lo + n - n % 8
        r = a[lo:lo + 8].copy()
        for i in range(lo + 8, end, 8):
            r += a[i:i + 8]
        r = r[0::2] + r[1::2]
        r = r[0::2] + r[1::2]
        res = r[0] + r[1]
        for i in range(end, lo + n):
            res += a[i]
        return np.asarray(res)
    n2 = n // 2
    n2 -= n2 % 8
    return np.asarray(_pairwise(a, lo, n2) + _pairwise(a, lo + n2, n - n2))


def _compact_rows(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``a[rows]`` written over the front of ``a`` itself (``rows`` increasing)."""
    n = rows.size
    out = a.reshape(-1)[: n * a.shape[1]].reshape(n, a.shape[1])
    # row i moves from rows[i] >= i to i: fancy indexing reads all of a[rows] before writing
    out[...] = a[rows]
    return out


def _compact_columns(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``a[:, rows]`` written over the front of ``a``'s own buffer, one study at a time.

    Study ``j`` lands at ``[j n, (j + 1) n)`` of the flat buffer, never after where its own
    values are read from (``j N + rows[i] >= j n + i``), so the rows of earlier studies are
    complete before they are overwritten; numpy copies a row through a temporary where the
    new and old positions of one study overlap.
    """
    k, n = a.shape[0], rows.size
    flat = a.reshape(-1) if a.flags.c_contiguous else None
    if flat is None:
        raise ValueError("internal: column compaction needs a contiguous array")
    out = flat[: k * n].reshape(k, n)
    for j in range(k):
        np.take(a[j], rows, out=out[j], mode="clip")
    return out


class _Rows:
    """Effects and variances (infinite in padding) of the analyses still being worked on.

    The arrays are (analyses, studies), or (studies, analyses) when ``by_study``; the kernels
    reach them only through :meth:`at`, :meth:`sums` and :meth:`keep`, and both layouts give
    the same numbers to the last bit. Rows leave with :meth:`keep`: the first copies the survivors
    out of the arrays passed in (which are never written), later ones move them to the front of
    that copy in place, and once few are left the arrays return to the (analyses, studies) layout.
    ``w`` and ``tmp`` are scratch arrays of the current shape, views of flat buffers.
    """

    def __init__(self, y: np.ndarray, v_inf: np.ndarray, by_study: bool,
                 w: np.ndarray | None = None, tmp: np.ndarray | None = None,
                 keep_into: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        self.y, self.v, self.by_study = y, v_inf, by_study
        self._own = False  # True once y and v are copies this object may overwrite
        self._keep_into = keep_into  # flat buffers for the first copy (else fresh arrays)
        self._w = np.empty(v_inf.size) if w is None else w
        self._tmp = np.empty(v_inf.size) if tmp is None else tmp

    @property
    def n(self) -> int:
        return int(self.y.shape[1 if self.by_study else 0])

    @property
    def w(self) -> np.ndarray:
        return self._w[: self.y.size].reshape(self.y.shape)

    @property
    def tmp(self) -> np.ndarray:
        return self._tmp[: self.y.size].reshape(self.y.shape)

    def at(self, x: np.ndarray) -> np.ndarray:
        """A per-analysis vector shaped to broadcast against the study arrays."""
        return x[None, :] if self.by_study else x[:, None]

    def sums(self, a: np.ndarray) -> np.ndarray:
        """Per-analysis sums over the studies of ``a`` (numpy's pairwise order either way)."""
        return study_sums(a) if self.by_study else np.asarray(a.sum(axis=1))

    def keep(self, rows: np.ndarray) -> None:
        """Keep only ``rows`` (increasing positions in the current arrays)."""
        n = rows.size
        if self.by_study and n < STUDY_MAJOR_FROM:  # few left: per-analysis sums are cheaper
            self.y = np.ascontiguousarray(np.take(self.y, rows, axis=1).T)
            self.v = np.ascontiguousarray(np.take(self.v, rows, axis=1).T)
            self.by_study, self._own = False, False
            return
        if not self._own:  # the first keep copies out of the caller's arrays
            axis = 1 if self.by_study else 0
            if self._keep_into is None:
                self.y = np.take(self.y, rows, axis=axis)
                self.v = np.take(self.v, rows, axis=axis)
            else:
                shape = (self.y.shape[0], n) if self.by_study else (n, self.y.shape[1])
                size = shape[0] * shape[1]
                by, bv = (b[:size].reshape(shape) for b in self._keep_into)
                self.y = np.take(self.y, rows, axis=axis, out=by, mode="clip")
                self.v = np.take(self.v, rows, axis=axis, out=bv, mode="clip")
            self._own = True
        elif self.by_study:
            self.y, self.v = _compact_columns(self.y, rows), _compact_columns(self.v, rows)
        else:
            self.y, self.v = _compact_rows(self.y, rows), _compact_rows(self.v, rows)

    def weights(self, tau2: np.ndarray) -> np.ndarray:
        """``w = 1 / (v + tau²)`` into the scratch buffer."""
        w = self.w
        np.add(self.v, self.at(tau2), out=w)
        np.divide(1.0, w, out=w)
        return w

    def fit(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``sum(w)``, the weighted mean ``b`` and the residuals ``y - b`` (in ``tmp``).

        The residuals of padding cells are ``-b`` instead of 0; their weight is 0.
        """
        s1 = self.sums(w)
        tmp = self.tmp
        np.multiply(w, self.y, out=tmp)
        beta = (1.0 / s1) * self.sums(tmp)
        np.subtract(self.y, self.at(beta), out=tmp)
        return s1, beta, tmp

    def rss(self, w: np.ndarray, resid: np.ndarray) -> np.ndarray:
        """``sum(w resid²)``, overwriting ``resid``."""
        np.square(resid, out=resid)
        np.multiply(w, resid, out=resid)
        return self.sums(resid)


class Workspace:
    """A batch, the layout its kernels use, and two scratch buffers, shared by one stage.

    Parameters
    ----------
    batch : Batch
        Intercept-only batch. From 512 analyses of at most 256 studies the kernels work on the
        batch's (studies, analyses) copies, :attr:`Batch.by_study`.
    """

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.by_study = batch.study_major
        self.w, self.tmp = batch.scratch
        # the mask as booleans; None when there is no padding (the kernels then skip it)
        self.present: np.ndarray | None = None
        self.absent: np.ndarray | None = None
        if batch.complete:
            pass
        elif self.by_study:
            self.present, self.absent = batch.by_study.present, batch.by_study.absent
        else:
            self.present = batch.mask > 0
            self.absent = ~self.present

    def rows(self, centred: bool, *, compacting: bool = False) -> _Rows:
        """The batch's rows; ``compacting``: the caller will drop rows (into the arena)."""
        b = self.batch
        keep_into = (b.arena[PLANE_KEEP_Y], b.arena[PLANE_KEEP_V]) if compacting else None
        if self.by_study:
            cols = b.by_study
            return _Rows(cols.ymc if centred else cols.y, cols.v_inf, True, self.w, self.tmp,
                         keep_into)
        return _Rows(b.ymc if centred else b.y, b.v_inf, False, self.w, self.tmp, keep_into)


def halve_step(t: np.ndarray, adj: np.ndarray) -> None:
    """Halve ``adj`` in place while ``t + adj < 0``, as metafor does before each step.

    From ``t = 0`` a negative step is halved until it underflows to -0 (about 1,075 halvings);
    that end is set directly (it also ends a step of -inf, which halving never would).
    """
    neg = np.flatnonzero(t + adj < 0.0)
    if neg.size:
        at_zero = t[neg] == 0.0
        adj[neg[at_zero]] = -0.0
        neg = neg[~at_zero]
    while neg.size:
        adj[neg] /= 2.0
        neg = neg[t[neg] + adj[neg] < 0.0]


def he_start(ws: Workspace) -> np.ndarray:
    """The untruncated Hedges estimate, ``(y'Py - tr(PV)) / (k - 1)`` with the OLS ``P``."""
    batch = ws.batch
    rows = ws.rows(centred=True)
    tmp = rows.tmp
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / batch.k  # the mask's row sums, exactly
        beta = inv * rows.sums(rows.y)
        np.subtract(rows.y, rows.at(beta), out=tmp)
        np.square(tmp, out=tmp)
        if ws.present is not None:
            np.multiply(ws.present, tmp, out=tmp)
        rss = rows.sums(tmp)
        if ws.present is None:
            sdv = rows.sums(rows.v)
        else:
            tmp.fill(0.0)
            np.copyto(tmp, rows.v, where=ws.present)
            sdv = rows.sums(tmp)
        tr_pv = sdv - inv * sdv
        return np.asarray((rss - tr_pv) / (batch.k - 1).astype(float))


def _trace_pp(rows: _Rows, w: np.ndarray, s1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``tr(P)`` and ``tr(PP)`` for weights ``w`` with sums ``s1``; overwrites ``rows.tmp``."""
    tmp = rows.tmp
    np.square(w, out=tmp)
    s2 = rows.sums(tmp)
    np.multiply(tmp, w, out=tmp)  # w³ as (w²)·w: a tenth of the cost of pow(w, 3)
    return _traces(s1, s2, rows.sums(tmp))


def _traces(s1: np.ndarray, s2: np.ndarray, s3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``tr(P) = s1 - s2/s1`` and ``tr(PP) = s2 - 2 s3/s1 + (s2/s1)²`` from ``sum(w^j)``."""
    inv = 1.0 / s1
    sa = inv * s2
    return s1 - sa, s2 - 2.0 * (inv * s3) + sa * sa


def fisher_scoring(
    ws: Workspace, start: np.ndarray, kind: Kind, *, threshold: float, maxiter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """metafor's Fisher-scoring iterations for ML, REML or EB, for every analysis at once.

    Analyses leave the working arrays as soon as they stop, so later iterations only touch the
    few that are still moving.

    Parameters
    ----------
    ws : Workspace
        The intercept-only batch and its scratch arrays.
    start : ndarray, shape (m,)
        Starting values (already truncated at 0).
    kind : {"ML", "REML", "EB"}
        Which score to follow.
    threshold, maxiter : float, int
        metafor's ``control$threshold`` and ``control$maxiter``.

    Returns
    -------
    tau2 : ndarray, shape (m,)
        The last iterate of every analysis.
    iterations : ndarray of int, shape (m,)
        Steps taken.
    converged : ndarray of bool, shape (m,)
        False where ``maxiter`` steps did not reach the threshold.
    """
    batch = ws.batch
    m = batch.y.shape[0]
    tau2 = np.array(start, dtype=float, copy=True)
    iterations = np.zeros(m, dtype=int)
    converged = np.ones(m, dtype=bool)
    idx = np.arange(m)  # the analyses still iterating
    # Working rows: a superset of ``idx`` (``sel`` picks them out; None when equal). Stopped
    # analyses stay in the arrays, computed but ignored, until fewer than 70% are needed.
    rows = ws.rows(centred=True, compacting=True)
    sel: np.ndarray | None = None
    t_rows = tau2.copy()
    k = batch.k
    kf = (batch.k - 1).astype(float)
    for step in range(1, maxiter + 2):
        with np.errstate(divide="ignore", invalid="ignore"):
            w = rows.weights(t_rows)
            s1, _, resid = rows.fit(w)
            if kind == "EB":
                adj = (rows.rss(w, resid) * k / kf - k) / s1
            else:
                np.multiply(w, resid, out=resid)
                np.square(resid, out=resid)
                ypp = rows.sums(resid)
                if kind == "ML":
                    np.square(w, out=resid)
                    adj = (ypp - s1) / rows.sums(resid)
                else:
                    tr_p, tr_pp = _trace_pp(rows, w, s1)
                    adj = (ypp - tr_p) / tr_pp
        if sel is None:
            t = t_rows
        else:
            t, adj = t_rows[sel], adj[sel]
        adj[np.isnan(adj)] = 0.0
        new = t + adj
        if (new < 0.0).any():
            halve_step(t, adj)
            new = t + adj
        if step > maxiter:  # metafor checks the count after every step
            tau2[idx], iterations[idx], converged[idx] = new, step, False
            break
        moving = np.abs(t - new) > threshold
        if sel is None:
            t_rows = new
        else:
            t_rows[sel] = new
        if moving.all():  # results are written when an analysis stops
            continue
        done = np.flatnonzero(~moving)
        tau2[idx[done]], iterations[idx[done]] = new[done], step
        keep = np.flatnonzero(moving)
        idx = idx[keep]
        if idx.size == 0:
            break
        sel = keep if sel is None else sel[keep]
        if sel.size < _COMPACT_BELOW * rows.n:
            rows.keep(sel)
            t_rows, k, kf, sel = t_rows[sel], k[sel], kf[sel], None
    return tau2, iterations, converged


def log_lik(ws: Workspace, tau2: np.ndarray, reml: bool) -> np.ndarray:
    """The (restricted) log-likelihood of every analysis at ``tau2`` (mean-centred effects)."""
    batch = ws.batch
    rows = ws.rows(centred=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        vt = rows.w
        np.add(rows.v, rows.at(tau2), out=vt)
        logv = np.log(vt, out=rows.tmp)
        if ws.absent is not None:
            np.copyto(logv, 0.0, where=ws.absent)
        logv_sum = rows.sums(logv)
        w = np.divide(1.0, vt, out=vt)
        s1, _, resid = rows.fit(w)
        rss = rows.rss(w, resid)
        return _log_lik_value(batch.k, logv_sum, s1, rss, reml)


def se_tau2(ws: Workspace, tau2: np.ndarray, kind: Kind, df: np.ndarray) -> np.ndarray:
    """Standard error of tau² from the Fisher information at ``tau2``."""
    rows = ws.rows(centred=True)
    w = rows.weights(tau2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ML":
            np.square(w, out=rows.tmp)
            return np.asarray(np.sqrt(2.0 / rows.sums(rows.tmp)))
        if kind == "REML":
            return np.asarray(np.sqrt(2.0 / _trace_pp(rows, w, rows.sums(w))[1]))
        return np.asarray(np.sqrt(2 * ws.batch.k**2 / df / rows.sums(w) ** 2))


def wls_fit(
    ws: Workspace, tau2: np.ndarray, centred: bool, *, keep_weights: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Weighted least squares with weights ``w = 1 / (v + tau²)``.

    Returns ``(b, sum(w), sum(w (y - b)²), w)``; ``1 / sum(w)`` is the variance of ``b``. ``w``
    is a fresh (analyses, studies) array with ``keep_weights``, else None.
    """
    rows = ws.rows(centred)
    if keep_weights:
        rows = _Rows(rows.y, rows.v, rows.by_study, None, ws.tmp)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = rows.weights(np.asarray(tau2, dtype=float))
        s1, beta, resid = rows.fit(w)
        rss = rows.rss(w, resid)
    if not keep_weights:
        return beta, s1, rss, None
    return beta, s1, rss, np.ascontiguousarray(w.T) if rows.by_study else w


def fixed_effect(ws: Workspace) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``sum(w)``, ``sum(w (y - b)²)``, ``sum(w²)`` and ``sum(w³)`` with ``w = 1/v`` (centred y).

    Computed once per batch (kept in ``batch.cache``): the DL estimate, the ll0 check of
    ML/REML (the likelihood at tau² = 0) and Cochran's Q all need it, with the same
    operations as :func:`log_lik` and :func:`wls_fit` perform at tau² = 0.
    """
    cached = ws.batch.cache.get("fixed_effect")
    if cached is None:
        rows = ws.rows(centred=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = rows.weights(np.zeros(rows.n))
            s1, _, resid = rows.fit(w)
            rss = rows.rss(w, resid)
            tmp = rows.tmp
            np.square(w, out=tmp)
            s2 = rows.sums(tmp)
            np.multiply(tmp, w, out=tmp)
            cached = ws.batch.cache["fixed_effect"] = (s1, rss, s2, rows.sums(tmp))
    return cached


def fixed_effect_traces(ws: Workspace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cochran's Q, ``tr(P)`` and ``tr(PP)`` of the fit with ``w = 1/v`` (as :func:`_trace_pp`)."""
    s1, rss, s2, s3 = fixed_effect(ws)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (rss, *_traces(s1, s2, s3))


def log_lik_at_zero(ws: Workspace, reml: bool) -> np.ndarray:
    """:func:`log_lik` at tau² = 0, from :func:`fixed_effect` (the same numbers)."""
    batch = ws.batch
    rows = ws.rows(centred=True)
    s1, rss, _, _ = fixed_effect(ws)
    with np.errstate(divide="ignore", invalid="ignore"):
        logv = np.add(rows.v, 0.0, out=rows.tmp)
        np.log(logv, out=logv)
        if ws.absent is not None:
            np.copyto(logv, 0.0, where=ws.absent)
        logv_sum = rows.sums(logv)
        return _log_lik_value(batch.k, logv_sum, s1, rss, reml)


def _log_lik_value(k: np.ndarray, logv_sum: np.ndarray, s1: np.ndarray, rss: np.ndarray,
                   reml: bool) -> np.ndarray:
    if reml:
        logdet = np.log(s1)
        return np.asarray(-0.5 * (k - 1) * np.log(2 * np.pi) - 0.5 * logv_sum
                          - 0.5 * logdet - 0.5 * rss)
    return np.asarray(-0.5 * k * np.log(2 * np.pi) - 0.5 * logv_sum - 0.5 * rss)


def heterogeneity(ws: Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Cochran's Q (``sum(w (y - b)²)`` with ``w = 1/v``) and ``tr(P)`` of the fixed-effect fit."""
    return fixed_effect_traces(ws)[:2]


def q_stat(ws: Workspace, tau2: np.ndarray, centred: bool) -> np.ndarray:
    """The generalised Q, ``y'P(tau²)y``, of every analysis at ``tau2``."""
    return wls_fit(ws, tau2, centred)[2]


class CompactQ:
    """The generalised Q statistic of chosen analyses, for a root finder whose active set shrinks.

    ``CompactQ(batch, rows)(x, idx)`` returns ``Q(x)`` for analyses ``rows[idx]``. The data of
    the problems still searched are kept as compact arrays, re-gathered only when fewer than
    70% of them are still needed, instead of being gathered from the whole batch at every
    evaluation.

    Parameters
    ----------
    batch : Batch
        Intercept-only batch.
    rows : ndarray of int
        Analysis of each problem (an analysis may appear more than once).
    centred : bool
        Use the mean-centred effects (Paule-Mandel) or the raw ones (Q-profile).
    """

    def __init__(self, batch: Batch, rows: np.ndarray, centred: bool) -> None:
        self._idx = np.arange(rows.size)
        self._x = np.zeros(rows.size)
        if study_major(rows.size, batch.v.shape[1]):
            cols = batch.by_study
            y = cols.ymc if centred else cols.y
            self._rows = _Rows(np.take(y, rows, axis=1), np.take(cols.v_inf, rows, axis=1), True)
        else:
            y = batch.ymc if centred else batch.y
            self._rows = _Rows(y[rows], batch.v_inf[rows], False)

    def __call__(self, x: np.ndarray, idx: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        sel: np.ndarray | None = None
        if idx.size != self._idx.size or not np.array_equal(idx, self._idx):
            sel = np.searchsorted(self._idx, idx)
            if idx.size < _COMPACT_BELOW * self._idx.size:
                self._rows.keep(sel)
                self._idx, self._x, sel = idx, self._x[sel], None
        if sel is None:
            self._x[:] = x
        else:  # a few problems finished: evaluate all rows, the finished ones at their last x
            self._x[sel] = x
        with np.errstate(divide="ignore", invalid="ignore"):
            w = self._rows.weights(self._x)
            _, _, resid = self._rows.fit(w)
            q = self._rows.rss(w, resid)
        return q if sel is None else q[sel]
