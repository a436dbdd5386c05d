r"""Fitting one learning-curve family: bounded, multi-start, optionally robust least squares.

:func:`fit_family` fits one curve with :func:`scipy.optimize.least_squares` (trust-region
reflective, box bounds): a short run from every starting point the family's registry entry
proposes, then the lowest-cost one run to convergence. A fit that fails is returned with ``status="failed"`` and the reason; it is never
dropped. :func:`fit_replicates` refits one family to many bootstrap replicates at once: a
Levenberg-Marquardt iteration vectorised over replicates (one batched Jacobian and one batched
``p x p`` solve per step), with the few replicates it does not settle finished by
``least_squares``.

Overflow in a formula (``exp`` of a large argument, a power of a tiny size) is expected while the
optimiser explores; it is silenced here and non-finite residuals are replaced by a large finite
penalty so the optimiser steps back.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import least_squares

from consilience._results import json_safe
from consilience.curves.families import CurveFamily, FloatArray

__all__ = ["FamilyFit", "Loss", "fit_family", "fit_replicates"]

Loss = Literal["linear", "huber", "soft_l1"]
_PENALTY = 1e3


@dataclass(frozen=True)
class FamilyFit:
    """One family fitted to one curve (error scale).

    Attributes
    ----------
    family : str
        Family name.
    params : tuple of float
        Fitted parameters (for the scaled size ``u = x / scale``); NaN when the fit failed.
    param_names : tuple of str
        Their names.
    status : {"ok", "failed"}
        Whether a usable fit was found.
    reason : str or None
        Why the fit failed (None when it did not).
    n_anchors : int
        Number of anchors the family was fitted to.
    rmse : float
        Root mean squared residual on those anchors (error units); NaN when failed.
    n_starts : int
        Starting points tried.
    converged : bool
        Whether the optimiser met its tolerance (a fit stopped by the iteration limit is kept:
        it is usable, and typically drifting along a degenerate direction of the family).
    """

    family: str
    params: tuple[float, ...]
    param_names: tuple[str, ...]
    status: Literal["ok", "failed"]
    reason: str | None
    n_anchors: int
    rmse: float
    n_starts: int
    converged: bool

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "params": json_safe(dict(zip(self.param_names, self.params))),
            "status": self.status,
            "reason": self.reason,
            "n_anchors": self.n_anchors,
            "rmse": json_safe(self.rmse),
            "n_starts": self.n_starts,
            "converged": self.converged,
        }

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={v:.4g}" for n, v in zip(self.param_names, self.params))
        return f"<FamilyFit {self.family} {self.status} ({body}) rmse={self.rmse:.4g}>"


def _failed(family: CurveFamily, n: int, reason: str, n_starts: int = 0) -> FamilyFit:
    nan = tuple(float("nan") for _ in family.param_names)
    return FamilyFit(family.name, nan, family.param_names, "failed", reason, n, float("nan"), n_starts, False)


def _residuals(family: CurveFamily, sizes: FloatArray, errors: FloatArray, theta: FloatArray,
               scale: float) -> FloatArray:
    r = family.evaluate(sizes, theta, scale) - errors
    return np.nan_to_num(r, nan=_PENALTY, posinf=_PENALTY, neginf=-_PENALTY)


def _jacobian(family: CurveFamily, sizes: FloatArray, errors: FloatArray, scale: float,
              upper: FloatArray) -> Any:
    """Forward-difference Jacobian of the residuals, all parameters in one broadcast call."""

    def jac(theta: FloatArray) -> FloatArray:
        h = 1e-7 * np.maximum(np.abs(theta), 1e-2)
        h = np.where(theta + h > upper, -h, h)
        shifted = theta + np.diag(h)
        base = _residuals(family, sizes, errors, theta, scale)
        return np.asarray((_residuals(family, sizes, errors, shifted, scale) - base).T / h, dtype=float)

    return jac


def fit_family(
    family: CurveFamily,
    sizes: FloatArray,
    errors: FloatArray,
    *,
    scale: float,
    loss: Loss = "linear",
    f_scale: float = 0.01,
) -> FamilyFit:
    r"""Fit ``family`` to one curve from each of its starting points; keep the best.

    Parameters
    ----------
    family : CurveFamily
        A registry entry.
    sizes, errors : ndarray
        Anchors (increasing training-set sizes) and the error at each.
    scale : float
        The size ``s`` that defines ``u = x / s``.
    loss : {"linear", "huber", "soft_l1"}
        ``least_squares`` loss; ``huber`` down-weights residuals beyond ``f_scale``.
    f_scale : float
        Residual size (error units) at which the robust losses start to bend.

    Returns
    -------
    FamilyFit
        ``status="failed"`` with the reason when there are fewer anchors than parameters plus
        one, or when no start gives a finite fitted curve.

    Notes
    -----
    Minimises :math:`\sum_j \rho\big((f(u_j;\theta) - e_j)^2\big)` over the box of the family's
    bounds. ``last1`` is not fitted: its parameter is the error at the largest anchor.

    Validated against: scipy 1.17, ``scipy.optimize.curve_fit`` (same minimum on noiseless and
    noisy curves from known parameters; see ``tests/curves/test_fitting.py``).
    """
    n = int(sizes.size)
    if not family.fitted:
        value = float(errors[-1])
        rmse = float(np.sqrt(np.mean((errors - value) ** 2)))
        return FamilyFit(family.name, (value,), family.param_names, "ok", None, n, rmse, 1, True)
    if n < family.n_params + 1:
        return _failed(family, n, f"too few anchors: {n} < {family.n_params + 1} "
                                  f"({family.n_params} parameters plus one)")
    lo, hi = (np.asarray(b, dtype=float) for b in family.bounds(errors))
    u = sizes / scale
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.RankWarning)
        starts = [np.clip(np.asarray(s, dtype=float), lo, hi) for s in family.starts(u, sizes, errors)]
    def solve(x0: FloatArray, max_nfev: int) -> Any:
        try:
            with np.errstate(all="ignore"):
                return least_squares(
                    lambda t: _residuals(family, sizes, errors, t, scale), x0, bounds=(lo, hi),
                    jac=_jacobian(family, sizes, errors, scale, hi), method="trf", loss=loss,
                    f_scale=f_scale, x_scale="jac", max_nfev=max_nfev, ftol=1e-6, xtol=1e-6, gtol=1e-8,
                )
        except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
            messages.append(str(exc))
            return None

    # Short runs from every start, then the best one run to convergence: the degenerate valleys
    # of the four-parameter families make full runs from every start needlessly slow.
    best: Any = None
    messages: list[str] = []
    for x0 in starts:
        if not np.all(np.isfinite(x0)):
            messages.append("non-finite starting point")
            continue
        res = solve(x0, 20 * family.n_params)
        if res is not None and np.isfinite(res.cost) and (best is None or res.cost < best.cost):
            best = res
    if best is not None and best.status == 0:
        res = solve(best.x, 200 * family.n_params)
        if res is not None and np.isfinite(res.cost) and res.cost <= best.cost:
            best = res
    if best is None:
        return _failed(family, n, "no starting point gave finite residuals: " + "; ".join(messages[:2]),
                       len(starts))
    fitted = family.evaluate(sizes, best.x, scale)
    if not np.all(np.isfinite(fitted)) or np.max(np.abs(fitted - errors)) >= _PENALTY:
        return _failed(family, n, "fitted curve is not finite at the anchors", len(starts))
    rmse = float(np.sqrt(np.mean((fitted - errors) ** 2)))
    return FamilyFit(family.name, tuple(float(v) for v in best.x), family.param_names, "ok", None,
                     n, rmse, len(starts), bool(best.status > 0))


def fit_replicates(
    family: CurveFamily,
    sizes: FloatArray,
    errors: FloatArray,
    start: FloatArray,
    *,
    scale: float,
    loss: Loss = "linear",
    f_scale: float = 0.01,
    max_iter: int = 300,
) -> FloatArray:
    r"""Refit ``family`` to every row of ``errors`` at once, starting from ``start``.

    Parameters
    ----------
    family : CurveFamily
        A fitted registry entry (``last1`` is handled by the caller).
    sizes : ndarray, shape (m,)
        Anchors.
    errors : ndarray, shape (R, m)
        One bootstrap replicate per row; NaN marks an anchor missing from a replicate.
    start : ndarray, shape (p,)
        Starting point (the fit to the observed curve).
    scale, loss, f_scale
        As in :func:`fit_family`.
    max_iter : int
        Vectorised iterations before the unsettled replicates are handed to ``least_squares``.

    Returns
    -------
    ndarray, shape (R, p)
        Fitted parameters; rows of NaN where a replicate could not be fitted.

    Notes
    -----
    Each iteration solves, for all replicates together,
    :math:`(J^\top W J + \lambda\,\mathrm{diag}(J^\top W J))\,\delta = -J^\top W r` and projects
    :math:`\theta + \delta` onto the bounds; :math:`\lambda` shrinks after a step that lowers the
    cost and grows otherwise, separately for each replicate. For the robust losses ``W`` holds the
    iteratively reweighted least-squares weights :math:`\rho'(r^2)`.

    Validated against: scipy 1.17, ``scipy.optimize.least_squares`` on each replicate separately.
    """
    lo, hi = (np.asarray(b, dtype=float) for b in family.bounds(np.nanmean(errors, axis=0)))
    mask = np.isfinite(errors)
    y = np.where(mask, errors, 0.0)
    n_rep, p = errors.shape[0], family.n_params
    theta = np.tile(np.clip(start, lo, hi), (n_rep, 1))

    def resid(t: FloatArray) -> FloatArray:
        return np.where(mask, _residuals(family, sizes, y, t, scale), 0.0)

    def weights(r: FloatArray) -> FloatArray:
        z = (r / f_scale) ** 2
        if loss == "huber":
            return np.where(z <= 1.0, 1.0, 1.0 / np.sqrt(np.maximum(z, 1.0)))
        if loss == "soft_l1":
            return 1.0 / np.sqrt(1.0 + z)
        return np.ones_like(r)

    def cost(r: FloatArray) -> FloatArray:
        z = (r / f_scale) ** 2
        if loss == "huber":
            rho = np.where(z <= 1.0, z, 2.0 * np.sqrt(z) - 1.0)
        elif loss == "soft_l1":
            rho = 2.0 * (np.sqrt(1.0 + z) - 1.0)
        else:
            rho = z
        return np.asarray(np.sum(rho, axis=1) * f_scale**2)

    r = resid(theta)
    c = cost(r)
    lam = np.full(n_rep, 1e-3)
    active = np.ones(n_rep, dtype=bool)
    eye = np.eye(p)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            h = 1e-7 * np.maximum(np.abs(theta), 1e-2)
            h = np.where(theta + h > hi, -h, h)
            jac = np.empty(r.shape + (p,))
            for j in range(p):
                shifted = theta.copy()
                shifted[:, j] += h[:, j]
                jac[:, :, j] = (resid(shifted) - r) / h[:, j, None]
            w = weights(r)
            a = np.einsum("rmi,rm,rmj->rij", jac, w, jac)
            g = np.einsum("rmi,rm,rm->ri", jac, w, r)
            d = np.maximum(np.einsum("rii->ri", a), 1e-12)
            try:
                step = -np.linalg.solve(a + lam[:, None, None] * d[:, :, None] * eye, g[..., None])[..., 0]
            except np.linalg.LinAlgError:
                break
            proposal = np.clip(theta + np.nan_to_num(step), lo, hi)
            r_new = resid(proposal)
            c_new = cost(r_new)
            accept = active & (c_new < c)
            small_step = np.all(np.abs(proposal - theta) <= 1e-6 * (np.abs(theta) + 1e-6), axis=1)
            settled = accept & (((c - c_new) <= 1e-6 * np.maximum(c, 1e-300)) | small_step)
            theta[accept], r[accept], c[accept] = proposal[accept], r_new[accept], c_new[accept]
            lam = np.where(accept, lam / 3.0, lam * 2.0)
            active &= ~settled & (lam < 1e10)
            if not active.any():
                break
        for i in np.flatnonzero(active):
            yi, mi = errors[i][mask[i]], sizes[mask[i]]
            try:
                res = least_squares(
                    lambda t, m=mi, y=yi: _residuals(family, m, y, t, scale), theta[i], bounds=(lo, hi),
                    jac=_jacobian(family, mi, yi, scale, hi), method="trf", loss=loss,
                    f_scale=f_scale, x_scale="jac", max_nfev=200 * p, ftol=1e-6, xtol=1e-6, gtol=1e-8,
                )
                theta[i] = res.x
            except ValueError:
                theta[i] = np.nan
        final = resid(np.nan_to_num(theta))
    bad = ~np.all(np.isfinite(theta), axis=1) | (np.max(np.abs(final), axis=1) >= _PENALTY)
    theta[bad] = np.nan
    return theta
