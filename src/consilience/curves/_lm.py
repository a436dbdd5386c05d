r"""A Levenberg-Marquardt least-squares solver vectorised over many small problems at once.

Each row of the arrays is one bounded nonlinear least-squares problem: one learning curve (or one
bootstrap replicate of it) and one starting point, padded to a common number of anchors with a
mask. Every iteration works on all unfinished rows together: one broadcast call of the family's
formula gives the residuals at the current point and at its ``p`` forward-difference shifts, one
``einsum`` the normal equations, and one batched ``p x p`` solve the steps. Rows stop one by one,
so a few slow problems cost only their own rows.

Bounds are handled by projection with an active set: a parameter on a bound whose gradient
points out of the box is held fixed for the step, the others take the Marquardt step, and the
result is clipped to the box. The damping follows Nielsen (1999): the gain ratio of actual to
predicted reduction shrinks it after good steps; a rejected step multiplies it by a doubling
factor. Each step carries a geodesic acceleration (Transtrum & Sethna 2012), a second-order
correction from one more residual evaluation along the step, which lets the solver follow the
narrow curved valleys of the four-parameter families (``pow4`` drifting towards an exponential,
``mmf4`` towards a power law) in tens of iterations rather than thousands. Robust losses use
iteratively reweighted normal equations with weights :math:`\rho'(z)`, whose fixed points are
the stationary points of the robust cost.

Overflow in a formula (``exp`` of a large argument, a power of a tiny size) is expected while the
solver explores; it is silenced here, and non-finite or huge residuals are replaced by a finite
penalty so the solver steps back.

References
----------
Marquardt, D. W. (1963). An algorithm for least-squares estimation of nonlinear parameters.
Journal of the Society for Industrial and Applied Mathematics 11(2), 431-441.
Nielsen, H. B. (1999). Damping parameter in Marquardt's method. Technical report IMM-REP-1999-05,
Technical University of Denmark.
Transtrum, M. K., & Sethna, J. P. (2012). Improvements to the Levenberg-Marquardt algorithm for
nonlinear least-squares minimization. arXiv:1201.5885.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from consilience.curves.families import CurveFamily, FloatArray

__all__ = ["PENALTY", "Loss", "Problems", "Solution", "solve"]

Loss = Literal["linear", "huber", "soft_l1"]
BoolArray = npt.NDArray[np.bool_]
PENALTY = 1e3
_FTOL = 1e-10
_XTOL = 1e-10
_ZERO_COST = 1e-30
_MAX_DAMPING = 1e16
_PROBE = 0.1
_ALPHA = 0.75


@dataclass(frozen=True, eq=False)
class Problems:
    """Least-squares problems, one per row, padded to a common number of anchors.

    Attributes
    ----------
    u, x : ndarray, shape (n, m)
        Scaled and raw sizes (padding holds harmless values).
    y : ndarray, shape (n, m)
        Observed errors (0 in the padding).
    mask : ndarray of bool, shape (n, m)
        True at real anchors.
    lo, hi : ndarray, shape (n, p)
        Box bounds of each row.
    """

    u: FloatArray
    x: FloatArray
    y: FloatArray
    mask: BoolArray
    lo: FloatArray
    hi: FloatArray

    def take(self, rows: npt.NDArray[np.intp]) -> Problems:
        return Problems(self.u[rows], self.x[rows], self.y[rows], self.mask[rows], self.lo[rows],
                        self.hi[rows])


@dataclass(frozen=True, eq=False)
class Solution:
    """Where :func:`solve` stopped, one row per problem.

    ``damping`` is returned so that a later call can resume a row where this one left it.
    """

    theta: FloatArray
    cost: FloatArray
    converged: BoolArray
    damping: FloatArray
    n_iter: npt.NDArray[np.int64]


def residuals(family: CurveFamily, prob: Problems, theta: FloatArray) -> FloatArray:
    """Residuals ``f(u; theta) - y``, zero in the padding, penalised where not finite.

    ``theta`` is ``(n, p)`` or ``(n, k, p)``; the result is ``(n, m)`` or ``(n, k, m)``.
    """
    u, x, y, mask = prob.u, prob.x, prob.y, prob.mask
    if theta.ndim == 3:
        u, x, y, mask = u[:, None, :], x[:, None, :], y[:, None, :], mask[:, None, :]
    with np.errstate(all="ignore"):
        r = family.fn(u, x, theta) - y
    r = np.clip(np.nan_to_num(r, nan=PENALTY, posinf=PENALTY, neginf=-PENALTY), -PENALTY, PENALTY)
    return np.where(mask, r, 0.0)


def cost(r: FloatArray, loss: Loss, f_scale: float) -> FloatArray:
    r"""Cost of each row, :math:`\tfrac12 f^2 \sum_j \rho(r_j^2 / f^2)` as in scipy."""
    if loss == "linear":
        return np.asarray(0.5 * np.sum(r * r, axis=-1))
    z = (r / f_scale) ** 2
    if loss == "huber":
        rho = np.where(z <= 1.0, z, 2.0 * np.sqrt(z) - 1.0)
    else:
        rho = 2.0 * (np.sqrt(1.0 + z) - 1.0)
    return np.asarray(0.5 * f_scale**2 * np.sum(rho, axis=-1))


def _weights(r: FloatArray, loss: Loss, f_scale: float) -> FloatArray:
    if loss == "linear":
        return np.ones_like(r)
    z = (r / f_scale) ** 2
    if loss == "huber":
        return np.asarray(1.0 / np.sqrt(np.maximum(z, 1.0)))
    return np.asarray(1.0 / np.sqrt(1.0 + z))


def _jacobian(family: CurveFamily, prob: Problems, theta: FloatArray, r: FloatArray) -> FloatArray:
    """Forward-difference Jacobian, shape ``(n, p, m)``: all shifts in one broadcast call."""
    p = theta.shape[1]
    h = 1e-7 * np.maximum(np.abs(theta), 1e-2)
    h = np.where(theta + h > prob.hi, -h, h)
    shifted = theta[:, None, :] + h[:, :, None] * np.eye(p)
    return (residuals(family, prob, shifted) - r[:, None, :]) / h[:, :, None]


def solve(
    family: CurveFamily,
    prob: Problems,
    theta: FloatArray,
    *,
    loss: Loss,
    f_scale: float,
    max_iter: int,
    damping: FloatArray | None = None,
    skip: BoolArray | None = None,
) -> Solution:
    r"""Minimise every row's cost from ``theta`` (shape ``(n, p)``) within its box.

    Parameters
    ----------
    family : CurveFamily
        Supplies the formula.
    prob : Problems
        The problems.
    theta : ndarray, shape (n, p)
        Starting points (clipped to the bounds).
    loss, f_scale
        Loss and the residual where robust losses bend.
    max_iter : int
        Iterations before an unfinished row is returned with ``converged=False``.
    damping : ndarray, optional
        Starting damping of each row (resume a previous call); default :math:`10^{-3}`.
    skip : ndarray of bool, optional
        Rows already finished: returned unchanged, with ``converged=True``.

    Returns
    -------
    Solution
        Parameters, cost, whether each row met a stopping rule, damping and iterations.

    Notes
    -----
    With :math:`A = J^\top W J`, :math:`g = J^\top W r` and :math:`D = \mathrm{diag}(A)` over the
    free parameters, the velocity solves :math:`(A + \lambda D)v = -g`; with
    :math:`r_{vv} \approx 2 h^{-2}(r(\theta + h v) - r(\theta) - h J v)`, :math:`h = 0.1`, the
    acceleration solves :math:`(A + \lambda D)a = -J^\top W r_{vv}` and is kept when
    :math:`2\lVert a\rVert \le 0.75 \lVert v\rVert`; the trial point is
    :math:`\Pi_{[l,u]}(\theta + v + a/2)`. A row stops when its cost is zero, when an accepted
    step that the quadratic model predicted well lowers the cost by at most
    :math:`10^{-10}` relative, when both the actual and the predicted reduction are that small,
    when an accepted step is shorter than :math:`10^{-10}(10^{-10} + \lVert\theta\rVert)`, or when
    the damping exceeds :math:`10^{16}` (no descent step exists at working precision).
    """
    n, p = theta.shape
    theta = np.clip(np.array(theta, dtype=float), prob.lo, prob.hi)
    lam = np.full(n, 1e-3) if damping is None else np.array(damping, dtype=float)
    nu = np.full(n, 2.0)
    r = residuals(family, prob, theta)
    c = cost(r, loss, f_scale)
    converged = c <= _ZERO_COST
    if skip is not None:
        converged |= skip
    active = ~converged
    n_iter = np.zeros(n, dtype=np.int64)
    diag = np.arange(p)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            rows = np.flatnonzero(active)
            if rows.size == 0:
                break
            sub = prob.take(rows)
            t, rr, cc, lm = theta[rows], r[rows], c[rows], lam[rows]
            jac = _jacobian(family, sub, t, rr)
            w = _weights(rr, loss, f_scale)
            wj = jac * w[:, None, :]
            a = np.einsum("kpm,kqm->kpq", wj, jac)
            g = np.einsum("kpm,km->kp", wj, rr)
            free = ~(((t <= sub.lo) & (g > 0)) | ((t >= sub.hi) & (g < 0)))
            g_free = np.where(free, g, 0.0)
            a_free = a * (free[:, :, None] & free[:, None, :])
            d = a_free[:, diag, diag]
            d_pos = np.maximum(d, 1e-12 * np.maximum(d.max(axis=1, keepdims=True), 1e-300))
            system = a_free.copy()
            system[:, diag, diag] = np.where(free, d + lm[:, None] * d_pos, 1.0)
            try:
                inverse = np.linalg.inv(system)
            except np.linalg.LinAlgError:
                inverse = np.linalg.pinv(system)
            velocity = -np.nan_to_num(np.einsum("kpq,kq->kp", inverse, g_free))
            # Geodesic acceleration: the second directional derivative of the residuals along
            # the step bends it to follow a curved valley.
            probe = np.clip(t + _PROBE * velocity, sub.lo, sub.hi)
            r_probe = residuals(family, sub, probe)
            jv = np.einsum("kpm,kp->km", jac, probe - t)
            rvv = 2.0 / _PROBE**2 * (r_probe - rr - jv)
            accel = -np.nan_to_num(np.einsum("kpq,kq->kp", inverse,
                                             np.where(free, np.einsum("kpm,km->kp", wj, rvv), 0.0)))
            bend_ok = 2.0 * np.linalg.norm(accel, axis=1) <= _ALPHA * np.linalg.norm(velocity, axis=1)
            step = velocity + np.where(bend_ok[:, None], 0.5 * accel, 0.0)
            trial = np.clip(t + step, sub.lo, sub.hi)
            s = trial - t
            r_new = residuals(family, sub, trial)
            c_new = cost(r_new, loss, f_scale)
            actual = cc - c_new
            predicted = -np.einsum("kp,kp->k", g, s) - 0.5 * np.einsum("kp,kpq,kq->k", s, a, s)
            gain = np.where(predicted > 0, actual / predicted, 0.0)
            accept = actual > 0
            small_change = (np.abs(actual) <= _FTOL * cc) & (predicted <= _FTOL * cc)
            small_step = np.linalg.norm(s, axis=1) <= _XTOL * (_XTOL + np.linalg.norm(t, axis=1))
            done = (
                (accept & (actual <= _FTOL * cc) & (gain > 0.25))
                | small_change
                | (accept & small_step)
                | (accept & (c_new <= _ZERO_COST))
                | (lm >= _MAX_DAMPING)
                | ~np.any(free & (g != 0), axis=1)
            )
            theta[rows] = np.where(accept[:, None], trial, t)
            r[rows] = np.where(accept[:, None], r_new, rr)
            c[rows] = np.where(accept, c_new, cc)
            shrink = np.maximum(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3)
            lam[rows] = np.where(accept, np.maximum(lm * shrink, 1e-15), lm * nu[rows])
            nu[rows] = np.where(accept, 2.0, 2.0 * nu[rows])
            n_iter[rows] += 1
            converged[rows] = done
            active[rows] = ~done
    return Solution(theta, c, converged, lam, n_iter)
