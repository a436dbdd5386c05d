"""Brent's root finder in R's ``uniroot`` variant, vectorised over many problems at once.

metafor solves the Paule-Mandel equation and the Q-profile interval ends with ``uniroot()``, whose
default tolerance (``.Machine$double.eps^0.25`` ~ 1.2e-4) is loose: the numbers metafor reports are
the iterates that R's ``zeroin2`` returns, not the exact roots. To equal metafor to 1e-6 we follow
the same iteration (Brent 1973, as in R's ``src/library/stats/src/zeroin.c``) step for step,
element-wise over a batch, so that every problem in the batch sees exactly the sequence of
function evaluations it would see alone.

Validated against: R 4.2 ``uniroot`` via metafor 3.8-1 ``rma(method="PM")`` and ``confint()``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["zeroin"]

_EPS = np.finfo(float).eps


def zeroin(
    f: Callable[[np.ndarray, np.ndarray], np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    f_lower: np.ndarray,
    f_upper: np.ndarray,
    *,
    tol: float = _EPS**0.25,
    maxiter: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Find roots of ``f`` on ``[lower, upper]`` for a batch of problems.

    Parameters
    ----------
    f : callable
        ``f(x, idx)`` evaluates the functions of problems ``idx`` (integer positions in the batch)
        at points ``x`` (same length) and returns their values.
    lower, upper, f_lower, f_upper : ndarray, shape (m,)
        Bracket ends and the function values there (signs must differ or one be zero).
    tol : float
        R's ``tol`` argument.
    maxiter : int
        R's ``maxiter`` argument.

    Returns
    -------
    root : ndarray, shape (m,)
        The iterate R would return.
    converged : ndarray of bool, shape (m,)
        False where the iteration limit was reached (R returns the last iterate with a warning).
    """
    a = np.array(lower, dtype=float, copy=True)
    b = np.array(upper, dtype=float, copy=True)
    fa = np.array(f_lower, dtype=float, copy=True)
    fb = np.array(f_upper, dtype=float, copy=True)
    m = a.shape[0]
    c = a.copy()
    fc = fa.copy()
    root = np.full(m, np.nan)
    converged = np.zeros(m, dtype=bool)

    done = fa == 0.0
    root[done] = a[done]
    converged[done] = True
    hit = (~done) & (fb == 0.0)
    root[hit] = b[hit]
    converged[hit] = True
    active = ~(done | hit)

    for _ in range(maxiter + 1):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        A, B, C = a[idx], b[idx], c[idx]
        FA, FB, FC = fa[idx], fb[idx], fc[idx]
        prev_step = B - A
        swap = np.abs(FC) < np.abs(FB)
        A = np.where(swap, B, A)
        B, C = np.where(swap, C, B), np.where(swap, B, C)
        FA = np.where(swap, FB, FA)
        FB, FC = np.where(swap, FC, FB), np.where(swap, FB, FC)
        # after the swap R sets a = b(old) and c = a(new) = b(old): A and C both hold old B
        C = np.where(swap, A, C)
        FC = np.where(swap, FA, FC)

        tol_act = 2.0 * _EPS * np.abs(B) + tol / 2.0
        new_step = (C - B) / 2.0
        finished = (np.abs(new_step) <= tol_act) | (FB == 0.0)
        if finished.any():
            fin = idx[finished]
            root[fin] = B[finished]
            converged[fin] = True
            active[fin] = False

        cb = C - B
        try_interp = (np.abs(prev_step) >= tol_act) & (np.abs(FA) > np.abs(FB)) & ~finished
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            linear = A == C
            t1_lin = FB / FA
            p_lin = cb * t1_lin
            q_lin = 1.0 - t1_lin
            q0 = FA / FC
            t1 = FB / FC
            t2 = FB / FA
            p_quad = t2 * (cb * q0 * (q0 - t1) - (B - A) * (t1 - 1.0))
            q_quad = (q0 - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            p = np.where(linear, p_lin, p_quad)
            q = np.where(linear, q_lin, q_quad)
            q = np.where(p > 0, -q, q)
            p = np.where(p > 0, p, -p)
            accept = (p < (0.75 * cb * q - np.abs(tol_act * q) / 2.0)) & (p < np.abs(prev_step * q / 2.0))
            interp_step = p / q
        new_step = np.where(try_interp & accept, interp_step, new_step)
        small = np.abs(new_step) < tol_act
        new_step = np.where(small, np.where(new_step > 0, tol_act, -tol_act), new_step)

        go = ~finished
        if not go.any():
            continue
        gidx = idx[go]
        A_new = B[go]
        FA_new = FB[go]
        B_new = B[go] + new_step[go]
        FB_new = np.asarray(f(B_new, gidx), dtype=float)
        C_new = C[go]
        FC_new = FC[go]
        same = ((FB_new > 0) & (FC_new > 0)) | ((FB_new < 0) & (FC_new < 0))
        C_new = np.where(same, A_new, C_new)
        FC_new = np.where(same, FA_new, FC_new)
        a[gidx], fa[gidx] = A_new, FA_new
        b[gidx], fb[gidx] = B_new, FB_new
        c[gidx], fc[gidx] = C_new, FC_new

    still = active
    root[still] = b[still]
    return root, converged
