"""Kernels for intercept-only batches (p = 1), the case of every ``meta_analyze_many`` call.

With one coefficient the p x p algebra of :mod:`consilience.pooling._linalg` reduces to sums over
studies: ``X'WX = sum(w)``, ``(X'WX)^-1 = 1/sum(w)``, ``tr(P) = sum(w) - sum(w²)/sum(w)``. The
functions here perform, element for element and in the same order, the floating-point operations
that the general code performs when p = 1, so their numbers are the general path's to the last
bit. What they save is work: no design array and no 1 x 1 matrices, fewer passes over the
studies, analyses that have stopped iterating leave the working arrays, and the (analyses,
studies) temporaries live in buffers allocated once instead of once per operation (fresh
allocations of this size cost more in page faults than the arithmetic done in them).

Padding cells hold an infinite variance, so their weight ``1 / (v + tau²)`` is exactly 0, as the
general code's ``mask / (v + tau²)`` is, and they add the same exact zeros to every sum.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from consilience.pooling._linalg import Batch

__all__ = [
    "CompactQ", "Workspace", "fisher_scoring", "halve_step", "he_start", "log_lik", "q_stat",
    "se_tau2", "wls_fit",
]

Kind = Literal["ML", "REML", "EB"]
_COMPACT_BELOW = 0.85  # re-gather the working rows once fewer than this share are still needed


class _Rows:
    """Effects and variances (infinite in padding) of the analyses still being worked on.

    Rows leave with :meth:`keep`, which copies the survivors into the other of two buffers
    (a copy within one buffer would overlap); the arrays passed in are never written. ``w`` and
    ``tmp`` are scratch arrays of the current size.
    """

    def __init__(self, y: np.ndarray, v_inf: np.ndarray, w: np.ndarray | None = None,
                 tmp: np.ndarray | None = None) -> None:
        self.y, self.v = y, v_inf
        self._buffers: list[tuple[np.ndarray, np.ndarray]] = []
        self._current = -1  # which buffer holds y and v; -1: the arrays passed in
        self._w = np.empty_like(v_inf) if w is None else w
        self._tmp = np.empty_like(v_inf) if tmp is None else tmp

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def w(self) -> np.ndarray:
        return self._w[: self.n]

    @property
    def tmp(self) -> np.ndarray:
        return self._tmp[: self.n]

    def keep(self, rows: np.ndarray) -> None:
        """Keep only ``rows`` (increasing positions in the current arrays)."""
        n = rows.size
        target = 0 if self._current != 0 else 1
        if len(self._buffers) <= target:
            self._buffers.append((np.empty((n, self.y.shape[1])), np.empty((n, self.y.shape[1]))))
        by, bv = self._buffers[target]
        new_y, new_v = by[:n], bv[:n]
        np.take(self.y, rows, axis=0, out=new_y)
        np.take(self.v, rows, axis=0, out=new_v)
        self.y, self.v, self._current = new_y, new_v, target

    def weights(self, tau2: np.ndarray) -> np.ndarray:
        """``w = 1 / (v + tau²)`` into the scratch buffer."""
        w = self.w
        np.add(self.v, tau2[:, None], out=w)
        np.divide(1.0, w, out=w)
        return w

    def fit(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``sum(w)``, the weighted mean ``b`` and the residuals ``y - b`` (in ``tmp``).

        The residuals of padding cells are ``-b`` instead of 0; their weight is 0.
        """
        s1 = w.sum(axis=1)
        tmp = self.tmp
        np.multiply(w, self.y, out=tmp)
        beta = (1.0 / s1) * tmp.sum(axis=1)
        np.subtract(self.y, beta[:, None], out=tmp)
        return s1, beta, tmp

    def rss(self, w: np.ndarray, resid: np.ndarray) -> np.ndarray:
        """``sum(w resid²)``, overwriting ``resid``."""
        np.square(resid, out=resid)
        np.multiply(w, resid, out=resid)
        return np.asarray(resid.sum(axis=1))


class Workspace:
    """A batch and two scratch arrays of its shape, shared by the kernels of one stage.

    Parameters
    ----------
    batch : Batch
        Intercept-only batch.
    """

    def __init__(self, batch: Batch) -> None:
        self.batch = batch
        self.w = np.empty_like(batch.v)
        self.tmp = np.empty_like(batch.v)

    def rows(self, centred: bool) -> _Rows:
        b = self.batch
        return _Rows(b.ymc if centred else b.y, b.v_inf, self.w, self.tmp)


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
    batch, tmp = ws.batch, ws.tmp
    mask = batch.mask
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / mask.sum(axis=1)
        beta = inv * batch.ymc.sum(axis=1)
        np.subtract(batch.ymc, beta[:, None], out=tmp)
        np.square(tmp, out=tmp)
        np.multiply(mask, tmp, out=tmp)
        rss = tmp.sum(axis=1)
        np.multiply(mask, batch.v, out=tmp)
        sdv = tmp.sum(axis=1)
        tr_pv = sdv - inv * sdv
        return np.asarray((rss - tr_pv) / (batch.k - 1).astype(float))


def _trace_pp(w: np.ndarray, s1: np.ndarray, tmp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``tr(P)`` and ``tr(PP)`` for weights ``w`` with row sums ``s1``; overwrites ``tmp``."""
    inv = 1.0 / s1
    np.square(w, out=tmp)
    s2 = tmp.sum(axis=1)
    tr_p = s1 - inv * s2
    sa = inv * s2
    np.power(w, 3, out=tmp)
    tr_pp = s2 - 2.0 * (inv * tmp.sum(axis=1)) + sa * sa
    return tr_p, tr_pp


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
    # analyses stay in the arrays, computed but ignored, until fewer than 85% are needed.
    rows = ws.rows(centred=True)
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
                ypp = resid.sum(axis=1)
                if kind == "ML":
                    np.square(w, out=resid)
                    adj = (ypp - s1) / resid.sum(axis=1)
                else:
                    tr_p, tr_pp = _trace_pp(w, s1, resid)
                    adj = (ypp - tr_p) / tr_pp
        t = t_rows if sel is None else t_rows[sel]
        if sel is not None:
            adj = adj[sel]
        adj[np.isnan(adj)] = 0.0
        halve_step(t, adj)
        new = t + adj
        tau2[idx] = new
        iterations[idx] = step
        if step > maxiter:  # metafor checks the count after every step
            converged[idx] = False
            break
        moving = np.abs(t - new) > threshold
        if sel is None:
            t_rows = new
        else:
            t_rows[sel] = new
        if moving.all():
            continue
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
        np.add(batch.v_inf, tau2[:, None], out=vt)
        logv = np.log(vt, out=rows.tmp)
        np.copyto(logv, 0.0, where=batch.mask == 0)
        logv_sum = logv.sum(axis=1)
        w = np.divide(1.0, vt, out=vt)
        s1, _, resid = rows.fit(w)
        rss = rows.rss(w, resid)
        if reml:
            logdet = np.log(s1)
            return np.asarray(-0.5 * (batch.k - 1) * np.log(2 * np.pi) - 0.5 * logv_sum
                              - 0.5 * logdet - 0.5 * rss)
        return np.asarray(-0.5 * batch.k * np.log(2 * np.pi) - 0.5 * logv_sum - 0.5 * rss)


def se_tau2(ws: Workspace, tau2: np.ndarray, kind: Kind, df: np.ndarray) -> np.ndarray:
    """Standard error of tau² from the Fisher information at ``tau2``."""
    rows = ws.rows(centred=True)
    w = rows.weights(tau2)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ML":
            np.square(w, out=rows.tmp)
            return np.asarray(np.sqrt(2.0 / rows.tmp.sum(axis=1)))
        if kind == "REML":
            return np.asarray(np.sqrt(2.0 / _trace_pp(w, w.sum(axis=1), rows.tmp)[1]))
        return np.asarray(np.sqrt(2 * ws.batch.k**2 / df / w.sum(axis=1) ** 2))


def wls_fit(
    ws: Workspace, tau2: np.ndarray, centred: bool, *, keep_weights: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares with weights ``w = 1 / (v + tau²)``.

    Returns ``(b, sum(w), sum(w (y - b)²), w)``; ``1 / sum(w)`` is the variance of ``b``. ``w``
    is a scratch array, overwritten by the next kernel, unless ``keep_weights``.
    """
    rows = ws.rows(centred)
    if keep_weights:
        rows = _Rows(rows.y, rows.v, np.empty_like(rows.v), ws.tmp)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = rows.weights(np.asarray(tau2, dtype=float))
        s1, beta, resid = rows.fit(w)
        return beta, s1, rows.rss(w, resid), w


def q_stat(ws: Workspace, tau2: np.ndarray, centred: bool) -> np.ndarray:
    """The generalised Q, ``y'P(tau²)y``, of every analysis at ``tau2``."""
    return wls_fit(ws, tau2, centred)[2]


class CompactQ:
    """The generalised Q statistic of chosen analyses, for a root finder whose active set shrinks.

    ``CompactQ(batch, rows)(x, idx)`` returns ``Q(x)`` for analyses ``rows[idx]``. The data of
    the problems still searched are kept as compact arrays, re-gathered only when fewer than
    85% of them are still needed, instead of being gathered from the whole batch at every
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
        y = batch.ymc if centred else batch.y
        self._idx = np.arange(rows.size)
        self._x = np.zeros(rows.size)
        self._rows = _Rows(y[rows], batch.v_inf[rows])

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
