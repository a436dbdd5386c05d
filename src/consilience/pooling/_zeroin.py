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
    root = np.full(m, np.nan)
    converged = np.zeros(m, dtype=bool)

    done = fa == 0.0
    root[done] = a[done]
    converged[done] = True
    hit = (~done) & (fb == 0.0)
    root[hit] = b[hit]
    converged[hit] = True
    # The state of the problems still searched is kept compact (``idx`` their positions), so an
    # iteration costs in proportion to the problems left, not to the batch.
    idx = np.flatnonzero(~(done | hit))
    a, b, fa, fb = a[idx], b[idx], fa[idx], fb[idx]
    c, fc = a.copy(), fa.copy()

    for _ in range(maxiter + 1):
        if idx.size == 0:
            break
        prev_step = b - a
        swap = np.abs(fc) < np.abs(fb)
        if swap.any():
            # R: a = b; b = c; c = a, so a and c both take the old b
            a = np.where(swap, b, a)
            b, c = np.where(swap, c, b), np.where(swap, a, c)
            fa = np.where(swap, fb, fa)
            fb, fc = np.where(swap, fc, fb), np.where(swap, fa, fc)

        tol_act = 2.0 * _EPS * np.abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        finished = (np.abs(new_step) <= tol_act) | (fb == 0.0)
        if finished.any():
            fin = idx[finished]
            root[fin] = b[finished]
            converged[fin] = True
            go = ~finished
            idx = idx[go]
            a, b, c, fa, fb, fc = a[go], b[go], c[go], fa[go], fb[go], fc[go]
            if idx.size == 0:
                break
            prev_step, tol_act, new_step = prev_step[go], tol_act[go], new_step[go]

        cb = c - b
        try_interp = (np.abs(prev_step) >= tol_act) & (np.abs(fa) > np.abs(fb))
        if try_interp.any():
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                linear = a == c
                t1_lin = fb / fa
                p_lin = cb * t1_lin
                q_lin = 1.0 - t1_lin
                q0 = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p_quad = t2 * (cb * q0 * (q0 - t1) - (b - a) * (t1 - 1.0))
                q_quad = (q0 - 1.0) * (t1 - 1.0) * (t2 - 1.0)
                p = np.where(linear, p_lin, p_quad)
                q = np.where(linear, q_lin, q_quad)
                q = np.where(p > 0, -q, q)
                p = np.where(p > 0, p, -p)
                accept = ((p < (0.75 * cb * q - np.abs(tol_act * q) / 2.0))
                          & (p < np.abs(prev_step * q / 2.0)))
                new_step = np.where(try_interp & accept, p / q, new_step)
        small = np.abs(new_step) < tol_act
        new_step = np.where(small, np.where(new_step > 0, tol_act, -tol_act), new_step)

        a, fa = b, fb
        b = b + new_step
        fb = np.asarray(f(b, idx), dtype=float)
        same = ((fb > 0) & (fc > 0)) | ((fb < 0) & (fc < 0))
        c = np.where(same, a, c)
        fc = np.where(same, fa, fc)

    root[idx] = b
    return root, converged
