r"""Fitting learning-curve families: bounded, multi-start, optionally robust least squares.

:func:`fit_family_batch` fits one family to many curves in one call, and :func:`fit_family` to
one. Every curve is tried from each starting point its family's registry entry proposes; all
(curve, start) pairs are solved together by the vectorised Levenberg-Marquardt solver of
:mod:`consilience.curves._lm`: a short run of ``20 p`` iterations from every start, then the
lowest-cost start of each curve run on to convergence (at most ``200 p`` iterations in all). A
fit that fails is returned with ``status="failed"`` and the reason; it is never dropped.
:func:`fit_replicates` refits one family to many bootstrap replicates at once, from one start.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from consilience._results import json_safe
from consilience.curves._lm import PENALTY, Loss, Problems, solve
from consilience.curves.families import CurveFamily, FloatArray
from consilience.errors import InputError

__all__ = ["FamilyFit", "FamilyFitBatch", "Loss", "fit_family", "fit_family_batch", "fit_replicates"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


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


@dataclass(frozen=True, eq=False)
class FamilyFitBatch:
    """One family fitted to many curves: the fields of :class:`FamilyFit` as arrays.

    Attributes
    ----------
    family : str
        Family name.
    param_names : tuple of str
        Parameter names.
    params : ndarray, shape (n_curves, n_params)
        Fitted parameters, NaN rows where the fit failed.
    ok : ndarray of bool
        Whether each fit is usable.
    reasons : tuple of (str or None)
        Why each failed fit failed.
    n_anchors, n_starts : ndarray of int
        Anchors fitted and starting points tried, per curve.
    rmse : ndarray
        Root mean squared residual on the anchors (NaN where failed).
    converged : ndarray of bool
        Whether the optimiser met its tolerance.
    """

    family: str
    param_names: tuple[str, ...]
    params: FloatArray
    ok: BoolArray
    reasons: tuple[str | None, ...]
    n_anchors: IntArray
    rmse: FloatArray
    n_starts: IntArray
    converged: BoolArray

    def __len__(self) -> int:
        return int(self.ok.size)

    def __getitem__(self, i: int) -> FamilyFit:
        return FamilyFit(self.family, tuple(float(v) for v in self.params[i]), self.param_names,
                         "ok" if self.ok[i] else "failed", self.reasons[i], int(self.n_anchors[i]),
                         float(self.rmse[i]), int(self.n_starts[i]), bool(self.converged[i]))

    def to_frame(self) -> pd.DataFrame:
        """One row per curve: ``curve, family, status, reason, n_anchors, rmse, n_starts,
        converged`` and one column per parameter."""
        frame = pd.DataFrame({
            "curve": np.arange(len(self)), "family": self.family,
            "status": np.where(self.ok, "ok", "failed"), "reason": list(self.reasons),
            "n_anchors": self.n_anchors, "rmse": self.rmse, "n_starts": self.n_starts,
            "converged": self.converged,
        })
        for j, name in enumerate(self.param_names):
            frame[name] = self.params[:, j]
        return frame

    def __repr__(self) -> str:
        return f"<FamilyFitBatch {self.family} curves={len(self)} failed={int(np.sum(~self.ok))}>"


def _padded_width(width: int) -> int:
    # A whole number of blocks of 8: numpy's pairwise sums (8 partial sums, blocks of 128) then
    # add the padding's zeros to the same partial sums whatever the width, so a curve of up to
    # 128 anchors fitted alone or in a batch gets the same bits.
    return max(8, -(-width // 8) * 8)


def pad_curves(sizes: Any, errors: Any) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Stack curves into ``(n_curves, width)`` arrays and a mask of real anchors.

    ``width`` is the largest number of anchors rounded up to a multiple of 8 (see
    ``_padded_width``); padding holds size 2 and error 0 and is masked out.

    ``sizes`` and ``errors`` are each either one 1-D array (one curve), a 2-D array (one curve
    per row; 1-D ``sizes`` are shared by all rows of 2-D ``errors``) or a sequence of 1-D arrays
    of different lengths. NaN marks a missing anchor; anchors must increase within a curve.
    Every curve needs one size per error (InputError otherwise).
    """
    if isinstance(sizes, np.ndarray) and isinstance(errors, np.ndarray) and errors.ndim == 2:
        y = np.asarray(errors, dtype=float)
        if sizes.ndim not in (1, 2) or sizes.shape[-1] != y.shape[1] or (
                sizes.ndim == 2 and sizes.shape[0] not in (1, y.shape[0])):
            raise InputError(f"'sizes' must give one training-set size per column of 'errors' "
                             f"(shape {y.shape}), as one row shared by all curves or one row per "
                             f"curve; got shape {sizes.shape}. Pass sizes of length {y.shape[1]} "
                             f"(NaN marks a missing anchor).")
        x = np.broadcast_to(np.asarray(sizes, dtype=float), y.shape)
        extra = _padded_width(y.shape[1]) - y.shape[1]
        x, y = (np.pad(v, ((0, 0), (0, extra)), constant_values=np.nan) for v in (x, y))
        mask = np.isfinite(x) & np.isfinite(y)
        return np.where(mask, x, 2.0), np.where(mask, y, 0.0), mask

    def rows(v: Any) -> list[FloatArray]:
        if isinstance(v, np.ndarray) and v.ndim <= 2:
            return list(np.atleast_2d(np.asarray(v, dtype=float)))
        return [np.asarray(r, dtype=float).ravel() for r in v]

    xs, ys = rows(sizes), rows(errors)
    if len(xs) == 1 and len(ys) > 1:
        xs = xs * len(ys)
    if len(xs) != len(ys):
        raise InputError(f"'sizes' must hold one curve per curve of 'errors' (or one shared by all); "
                         f"got {len(xs)} curves of sizes for {len(ys)} curves of errors. Pass the "
                         f"sizes of every curve.")
    for i, (xr, yr) in enumerate(zip(xs, ys)):
        if xr.size != yr.size:
            raise InputError(f"'sizes' and 'errors' must give one training-set size per error; "
                             f"curve {i} has {xr.size} sizes and {yr.size} errors. Pass them with "
                             f"the same length (NaN marks a missing anchor).")
    width = _padded_width(max(r.size for r in ys))
    x = np.full((len(ys), width), np.nan)
    y = np.full((len(ys), width), np.nan)
    for i, (xr, yr) in enumerate(zip(xs, ys)):
        x[i, : xr.size], y[i, : yr.size] = xr, yr
    mask = np.isfinite(x) & np.isfinite(y)
    return np.where(mask, x, 2.0), np.where(mask, y, 0.0), mask


def _problems(x: FloatArray, y: FloatArray, mask: BoolArray, scale: FloatArray, lo: FloatArray,
              hi: FloatArray) -> Problems:
    return Problems(np.where(mask, x / scale[:, None], 1.0), x, y, mask, lo, hi)


def _fitted_residuals(family: CurveFamily, prob: Problems, theta: FloatArray) -> tuple[FloatArray, BoolArray]:
    """Residuals of ``theta`` at each row's anchors (0 in the padding), and whether they are all
    finite and below the solver's penalty (the row's fit is usable)."""
    with np.errstate(all="ignore"):
        fitted = family.fn(prob.u, prob.x, theta)
    resid = np.where(prob.mask, fitted - prob.y, 0.0)
    return resid, np.all(np.isfinite(resid), axis=1) & (np.max(np.abs(resid), axis=1) < PENALTY)


def replicate_bounds(family: CurveFamily, replicates: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The family's bounds for bootstrap ``replicates`` (rows): those of their mean curve,
    over the anchors where that mean is finite."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(replicates, axis=0)
    lo, hi = family.bounds(mean[np.isfinite(mean)])
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def _bounds(family: CurveFamily, y: FloatArray, mask: BoolArray) -> tuple[FloatArray, FloatArray]:
    pairs = [family.bounds(y[i][mask[i]]) for i in range(y.shape[0])]
    return (np.array([b[0] for b in pairs], dtype=float).reshape(-1, family.n_params),
            np.array([b[1] for b in pairs], dtype=float).reshape(-1, family.n_params))


def _failed_batch(family: CurveFamily, n_anchors: IntArray, reasons: list[str | None]) -> FamilyFitBatch:
    n = n_anchors.size
    return FamilyFitBatch(family.name, family.param_names, np.full((n, family.n_params), np.nan),
                          np.zeros(n, dtype=bool), tuple(reasons), n_anchors, np.full(n, np.nan),
                          np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool))


def fit_family_batch(
    family: CurveFamily,
    sizes: Any,
    errors: Any,
    *,
    scale: Any,
    loss: Loss = "linear",
    f_scale: float = 0.01,
) -> FamilyFitBatch:
    r"""Fit ``family`` to many curves at once, each from every starting point; keep each best.

    Parameters
    ----------
    family : CurveFamily
        A registry entry.
    sizes, errors : array or sequence of arrays
        Anchors (increasing training-set sizes) and the error at each, one curve per row (see
        :func:`pad_curves`; curves may have different numbers of anchors).
    scale : float or array
        The size ``s`` that defines ``u = x / s``, one for all curves or one per curve.
    loss : {"linear", "huber", "soft_l1"}
        Loss; ``huber`` and ``soft_l1`` down-weight residuals beyond ``f_scale``.
    f_scale : float
        Residual size (error units) at which the robust losses start to bend.

    Returns
    -------
    FamilyFitBatch
        One entry per curve, in input order; a curve with fewer anchors than parameters plus one,
        or where no start gives a finite fitted curve, is a failed entry with the reason.

    Notes
    -----
    Minimises :math:`\tfrac12 \sum_j \rho\big((f(u_j;\theta) - e_j)^2\big)` over the box of the
    family's bounds. ``last1`` is not fitted: its parameter is the error at the largest anchor.
    Each curve's result depends on that curve alone, bit for bit, not on the others in the
    batch.

    Validated against: scipy 1.17, ``scipy.optimize.least_squares`` and ``curve_fit`` (same
    minimum on noiseless and noisy curves from known parameters; see
    ``tests/curves/test_fitting.py``), and the previous one-curve ``least_squares`` fits on LCDB
    curves (``benchmarks/RESULTS.md``).
    """
    x, y, mask = pad_curves(sizes, errors)
    n_curves, p = y.shape[0], family.n_params
    scales = np.broadcast_to(np.asarray(scale, dtype=float), (n_curves,)).copy()
    n_anchors = mask.sum(axis=1).astype(np.int64)
    if not family.fitted:
        last = np.take_along_axis(y, (mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1))[:, None], 1)
        rmse = np.sqrt(np.sum(np.where(mask, (y - last) ** 2, 0.0), axis=1) / n_anchors)
        ones = np.ones(n_curves, dtype=bool)
        return FamilyFitBatch(family.name, family.param_names, last, ones, (None,) * n_curves,
                              n_anchors, rmse, np.ones(n_curves, dtype=np.int64), ones)
    reasons: list[str | None] = [
        f"too few anchors: {n} < {p + 1} ({p} parameters plus one)" if n < p + 1 else None
        for n in n_anchors
    ]
    lo, hi = _bounds(family, y, mask)
    owner: list[int] = []
    starts: list[FloatArray] = []
    n_starts = np.zeros(n_curves, dtype=np.int64)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.RankWarning)
        for i in np.flatnonzero(n_anchors >= p + 1):
            xi, yi = x[i][mask[i]], y[i][mask[i]]
            proposed = family.starts(xi / scales[i], xi, yi)
            n_starts[i] = len(proposed)
            for s in proposed:
                s_arr = np.clip(np.asarray(s, dtype=float), lo[i], hi[i])
                if np.all(np.isfinite(s_arr)):
                    owner.append(int(i))
                    starts.append(s_arr)
    for i in np.flatnonzero((n_anchors >= p + 1) & (np.bincount(owner, minlength=n_curves) == 0)):
        reasons[i] = "no starting point gave finite residuals: non-finite starting point"
    if not owner:
        return _failed_batch(family, n_anchors, reasons)
    own = np.asarray(owner, dtype=np.intp)
    prob = _problems(x[own], y[own], mask[own], scales[own], lo[own], hi[own])
    # Short runs from every start, then the best one of each curve run on to convergence: the
    # degenerate valleys of the four-parameter families make full runs from every start slow.
    first = solve(family, prob, np.asarray(starts), loss=loss, f_scale=f_scale, max_iter=20 * p)
    order = np.lexsort((np.arange(own.size), first.cost, own))
    best = order[np.r_[True, own[order][1:] != own[order][:-1]]]
    sub = prob.take(best)
    final = solve(family, sub, first.theta[best], loss=loss, f_scale=f_scale,
                  max_iter=200 * p - 20 * p, damping=first.damping[best],
                  skip=first.converged[best])
    resid, finite = _fitted_residuals(family, sub, final.theta)
    curves = own[best]
    for i in curves[~finite]:
        reasons[i] = "fitted curve is not finite at the anchors"
    done = curves[finite]
    theta = np.full((n_curves, p), np.nan)
    converged = np.zeros(n_curves, dtype=bool)
    rmse = np.full(n_curves, np.nan)
    theta[done], converged[done] = final.theta[finite], final.converged[finite]
    rmse[done] = np.sqrt(np.sum(resid[finite] ** 2, axis=1) / n_anchors[done])
    ok = np.array([r is None for r in reasons])
    theta[~ok] = np.nan
    return FamilyFitBatch(family.name, family.param_names, theta, ok, tuple(reasons), n_anchors,
                          rmse, n_starts, converged & ok)


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
        Loss; ``huber`` down-weights residuals beyond ``f_scale``.
    f_scale : float
        Residual size (error units) at which the robust losses start to bend.

    Returns
    -------
    FamilyFit
        ``status="failed"`` with the reason when there are fewer anchors than parameters plus
        one, or when no start gives a finite fitted curve.

    Notes
    -----
    :func:`fit_family_batch` with one curve; see there.

    Validated against: scipy 1.17, ``scipy.optimize.curve_fit`` (same minimum on noiseless and
    noisy curves from known parameters; see ``tests/curves/test_fitting.py``).
    """
    one = fit_family_batch(family, [np.asarray(sizes, dtype=float)], [np.asarray(errors, dtype=float)],
                           scale=float(scale), loss=loss, f_scale=f_scale)
    return one[0]


def refit_rows(
    family: CurveFamily,
    sizes: Any,
    errors: Any,
    start: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    scale: Any,
    loss: Loss,
    f_scale: float,
    max_iter: int,
) -> FloatArray:
    """Refit every row from its own start within its own bounds; NaN rows where it fails.

    The rows may come from different curves (with their own scale, start and bounds): this is
    how the bootstrap refits all replicates of many curves in one call.
    """
    x, y, mask = pad_curves(sizes, errors)
    n = y.shape[0]
    scales = np.broadcast_to(np.asarray(scale, dtype=float), (n,)).copy()
    lo = np.broadcast_to(lower, (n, family.n_params)).copy()
    hi = np.broadcast_to(upper, (n, family.n_params)).copy()
    prob = _problems(x, y, mask, scales, lo, hi)
    theta0 = np.broadcast_to(np.asarray(start, dtype=float), (n, family.n_params))
    theta = solve(family, prob, np.nan_to_num(theta0), loss=loss, f_scale=f_scale,
                  max_iter=max_iter).theta
    theta[~(np.all(np.isfinite(theta0), axis=1) & _fitted_residuals(family, prob, theta)[1])] = np.nan
    return theta


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
        Iterations of the vectorised solver; a replicate still moving then keeps its last point.

    Returns
    -------
    ndarray, shape (R, p)
        Fitted parameters; rows of NaN where a replicate could not be fitted.

    Notes
    -----
    The bounds are those of the mean replicate. Each iteration solves, for all replicates
    together, :math:`(J^\top W J + \lambda\,\mathrm{diag}(J^\top W J))\,\delta = -J^\top W r`
    over the parameters not held on a bound, and projects :math:`\theta + \delta` onto the box
    (:mod:`consilience.curves._lm`).

    Validated against: scipy 1.17, ``scipy.optimize.least_squares`` on each replicate separately.
    """
    errs = np.atleast_2d(np.asarray(errors, dtype=float))
    lo, hi = replicate_bounds(family, errs)
    return refit_rows(family, np.asarray(sizes, dtype=float), errs, np.asarray(start, dtype=float),
                      lo, hi, scale=scale, loss=loss, f_scale=f_scale, max_iter=max_iter)

