"""Restricted likelihood of nested random-intercept models, with exact first and second derivatives.

The marginal covariance of a model with nested random intercepts is block diagonal and every
block is a sum of rank-one updates, one per grouping level. Working from the innermost level
outwards, each group is summarised by four numbers (``a = 1'V⁻¹1``, ``b = 1'V⁻¹y``,
``c = y'V⁻¹y`` and ``log|V|`` of the group's block); adding a level's variance ``s`` to a group's
block changes them by the Sherman-Morrison formulas

    a' = a / (1 + s a),  b' = b / (1 + s a),  c' = c - s b² / (1 + s a),  ld' = ld + log(1 + s a),

and a parent's summaries are the sums of its children's. One likelihood evaluation is thus
O(k), without ever forming a k x k matrix. Derivatives with respect to the variance components
are carried through the same recursion in forward mode (value, gradient, Hessian), which gives
Newton's method the exact Hessian.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from consilience.errors import ConvergenceError

__all__ = ["NestedStructure", "build_structure", "fit_reml", "reml_evaluate"]


class _Jet:
    """A value with its gradient and Hessian with respect to ``m`` parameters, over ``n`` groups."""

    __slots__ = ("grad", "hess", "val")

    def __init__(self, val: np.ndarray, grad: np.ndarray, hess: np.ndarray) -> None:
        self.val = val  # (n,)
        self.grad = grad  # (m, n)
        self.hess = hess  # (m, m, n)

    @classmethod
    def constant(cls, val: np.ndarray, m: int) -> _Jet:
        n = val.shape[0]
        return cls(val, np.zeros((m, n)), np.zeros((m, m, n)))

    def __add__(self, other: _Jet) -> _Jet:
        return _Jet(self.val + other.val, self.grad + other.grad, self.hess + other.hess)

    def __sub__(self, other: _Jet) -> _Jet:
        return _Jet(self.val - other.val, self.grad - other.grad, self.hess - other.hess)

    def __mul__(self, other: _Jet) -> _Jet:
        outer = np.einsum("in,jn->ijn", self.grad, other.grad)
        return _Jet(
            self.val * other.val,
            self.grad * other.val + self.val * other.grad,
            self.hess * other.val + self.val * other.hess + outer + outer.transpose(1, 0, 2),
        )

    def _chain(self, f0: np.ndarray, f1: np.ndarray, f2: np.ndarray) -> _Jet:
        outer = np.einsum("in,jn->ijn", self.grad, self.grad)
        return _Jet(f0, f1 * self.grad, f1 * self.hess + f2 * outer)

    def reciprocal(self) -> _Jet:
        inv = 1.0 / self.val
        return self._chain(inv, -inv * inv, 2.0 * inv**3)

    def log(self) -> _Jet:
        inv = 1.0 / self.val
        return self._chain(np.log(self.val), inv, -inv * inv)

    def reduce(self, starts: np.ndarray) -> _Jet:
        """Sum over contiguous runs beginning at ``starts`` (children into their parents)."""
        return _Jet(
            np.add.reduceat(self.val, starts),
            np.add.reduceat(self.grad, starts, axis=1),
            np.add.reduceat(self.hess, starts, axis=2),
        )


@dataclass(frozen=True)
class NestedStructure:
    """Observations sorted so that every group at every level is a contiguous run.

    ``order`` sorts the observations; ``starts[j]`` gives, for level ``j`` (outer first), the
    positions in the level below (observations for the innermost level) where its groups begin.
    """

    order: np.ndarray
    starts: tuple[np.ndarray, ...]
    n_groups: tuple[int, ...]


def build_structure(codes: list[np.ndarray]) -> NestedStructure:
    """Nested structure from integer codes per column, outer first (level j = columns 0..j)."""
    order = np.lexsort(tuple(reversed(codes)))
    sorted_codes = np.column_stack([c[order] for c in codes])
    n_levels = len(codes)
    # new_group[j][i]: observation i opens a new group at level j (a change in any column <= j)
    change = np.ones((sorted_codes.shape[0], n_levels), dtype=bool)
    if sorted_codes.shape[0] > 1:
        diff = sorted_codes[1:] != sorted_codes[:-1]
        change[1:] = np.logical_or.accumulate(diff, axis=1)
    n_groups = tuple(int(change[:, j].sum()) for j in range(n_levels))
    starts: list[np.ndarray] = [np.empty(0, dtype=np.intp)] * n_levels
    starts[-1] = np.flatnonzero(change[:, -1])
    for j in range(n_levels - 2, -1, -1):
        first_obs_of_child = np.flatnonzero(change[:, j + 1])
        starts[j] = np.flatnonzero(change[first_obs_of_child, j])
    return NestedStructure(order=order, starts=tuple(starts), n_groups=n_groups)


@dataclass(frozen=True)
class RemlEvaluation:
    """Restricted log-likelihood at ``sigma2`` with gradient, Hessian and the GLS estimate."""

    log_lik: float
    grad: np.ndarray
    hess: np.ndarray
    estimate: float
    precision: float  # 1'V⁻¹1, the inverse variance of the estimate


def reml_evaluate(
    sigma2: np.ndarray, y: np.ndarray, v: np.ndarray, structure: NestedStructure
) -> RemlEvaluation:
    """REML log-likelihood (metafor's, full constants) of the intercept-only nested model.

    ``y`` and ``v`` must already be sorted by ``structure.order``.
    """
    m = len(structure.starts)
    k = y.shape[0]
    w = 1.0 / v
    a = _Jet.constant(w, m)
    b = _Jet.constant(w * y, m)
    c = _Jet.constant(w * y * y, m)
    ld = _Jet.constant(np.log(v), m)
    for j in range(m - 1, -1, -1):
        a, b, c, ld = (q.reduce(structure.starts[j]) for q in (a, b, c, ld))
        n = a.val.shape[0]
        grad = np.zeros((m, n))
        grad[j] = 1.0
        s = _Jet(np.full(n, float(sigma2[j])), grad, np.zeros((m, m, n)))
        d = _Jet.constant(np.ones(n), m) + s * a
        inv_d = d.reciprocal()
        a, b, c, ld = a * inv_d, b * inv_d, c - s * b * b * inv_d, ld + d.log()
    start0 = np.zeros(1, dtype=np.intp)
    a, b, c, ld = (q.reduce(start0) for q in (a, b, c, ld))
    rss = c - b * b * a.reciprocal()
    total = ld + a.log() + rss
    const = -0.5 * (k - 1) * np.log(2.0 * np.pi) + 0.5 * np.log(k)
    return RemlEvaluation(
        log_lik=float(const - 0.5 * total.val[0]),
        grad=-0.5 * total.grad[:, 0],
        hess=-0.5 * total.hess[:, :, 0],
        estimate=float(b.val[0] / a.val[0]),
        precision=float(a.val[0]),
    )


def fit_reml(
    y: np.ndarray, v: np.ndarray, structure: NestedStructure, *, max_iter: int = 200
) -> tuple[np.ndarray, RemlEvaluation, int]:
    """Maximise the restricted likelihood over ``sigma2 >= 0`` by projected Newton steps.

    Each step solves with the exact Hessian of the components that are free (positive, or at
    zero with an upward gradient); where that Hessian is not negative definite, its eigenvalues
    are reflected and floored (a modified Newton step, still an ascent direction). A
    backtracking line search keeps the steps uphill and inside the bounds (near the optimum,
    where the predicted gain is below what log-likelihood values can resolve, full steps are
    taken). Iteration stops when the Newton decrement (the predicted gain in log-likelihood)
    falls below 1e-24, or after a full step smaller than 1e-7 of the largest component
    (quadratic convergence leaves an error far below that).
    Returns the variance components, the evaluation at the optimum and the number of steps.
    """
    m = len(structure.starts)
    var_y = float(np.var(y))
    mean_v = float(np.mean(v))
    scale = max(var_y, mean_v)
    s = np.full(m, max(var_y - mean_v, 0.1 * var_y, 1e-3 * mean_v) / m)
    ev = reml_evaluate(s, y, v, structure)
    if not np.isfinite(ev.log_lik):
        raise ConvergenceError(
            "The restricted likelihood of the multilevel model is not finite at the starting "
            "values. Check yi and vi for extreme values, or rescale them."
        )
    for it in range(max_iter):
        free = (s > 0) | (ev.grad > 0)
        if not free.any():
            return s, ev, it
        g = ev.grad[free]
        eigval, eigvec = np.linalg.eigh(-ev.hess[np.ix_(free, free)])
        concave = bool(np.all(eigval > 0))
        floor = 1e-10 * max(float(np.max(np.abs(eigval))), np.finfo(float).tiny)
        eigval = np.maximum(np.abs(eigval), floor)
        step = eigvec @ ((eigvec.T @ g) / eigval)
        decrement = float(g @ step)
        if decrement < 1e-24:
            return s, ev, it
        if np.max(np.abs(step)) <= 1e-7 * max(float(np.max(s)), 1e-8 * scale):
            # quadratic convergence: after this step the error is far below rounding error in
            # the gradient, which would only make further line searches stall
            final = s.copy()
            final[free] = np.maximum(s[free] + step, 0.0)
            return final, reml_evaluate(final, y, v, structure), it + 1
        if concave and decrement < 1e-10 * max(1.0, abs(ev.log_lik)):
            # the predicted gain is too small for log-likelihood values to confirm it; in this
            # range the quadratic model is exact enough to take the full step unchecked
            s = s.copy()
            s[free] = np.maximum(s[free] + step, 0.0)
            ev = reml_evaluate(s, y, v, structure)
            continue
        t = 1.0
        for _ in range(80):
            trial = s.copy()
            trial[free] = np.maximum(s[free] + t * step, 0.0)
            ev_trial = reml_evaluate(trial, y, v, structure)
            if ev_trial.log_lik >= ev.log_lik + 1e-4 * t * min(decrement, 1.0) - 1e-14 * abs(
                ev.log_lik
            ):
                break
            t *= 0.5
        else:
            return s, ev, it
        s, ev = trial, ev_trial
    raise ConvergenceError(
        f"Newton's method for the multilevel REML optimum did not converge in {max_iter} steps "
        f"(variance components {s.tolist()}). The likelihood may be flat in some component: try "
        "fewer nesting levels, or check that each level has several groups with several members."
    )
