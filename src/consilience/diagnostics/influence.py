"""Outlier and influence diagnostics of a (mixed-effects) meta-analysis, per study."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from consilience._results import Provenance, Summary, json_safe
from consilience.diagnostics._common import check_result, design_of, make_provenance
from consilience.diagnostics._refit import CHUNK_CELLS, refit

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.pooling.result import MetaResult


__all__ = ["Influence", "influence"]

_COLUMNS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight")


@dataclass(frozen=True, repr=False, eq=False)
class Influence:
    """Result of :func:`influence`: one row per study, in the fit's study order.

    Attributes
    ----------
    study : study labels.
    rstudent : externally studentized residual (the study against the model fitted without it).
    dffits : change in the study's fitted value when it is left out, in standard errors.
    cook_d : Cook's distance (change of all coefficients, in the metric of their covariance).
    cov_r : covariance ratio, det(Var(b) without the study) / det(Var(b)); below 1 means the study
        improves precision.
    tau2_del, qe_del : tau² and the residual heterogeneity Q without the study.
    hat : leverage (diagonal of the hat matrix), summing to p.
    weight : percent weight of the study in the fit.
    dfbetas : (k, p) change of each coefficient when the study is left out, in standard errors;
        ``coefficient_names`` names the columns.
    influential : metafor's flag: |dffits| > 3 sqrt(p/(k-p)), or the chi²(p) cdf of cook_d > 0.5, or
        hat > 3p/k, or any |dfbetas| > 1.
    method, test, level, k, p : the model diagnosed.
    provenance : method, options and input hash of the fit.
    """

    study: tuple[str, ...]
    rstudent: np.ndarray
    dffits: np.ndarray
    cook_d: np.ndarray
    cov_r: np.ndarray
    tau2_del: np.ndarray
    qe_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    dfbetas: np.ndarray
    coefficient_names: tuple[str, ...]
    influential: np.ndarray
    method: str
    test: str
    level: float
    k: int
    p: int
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        flagged = [s for s, f in zip(self.study, self.influential) if f]
        shown = ", ".join(flagged[:3]) + (" ..." if len(flagged) > 3 else "")
        return f"<Influence {self.method} k={self.k} influential={len(flagged)}{f' [{shown}]' if flagged else ''}>"

    def to_frame(self) -> pd.DataFrame:
        """Columns ``study, rstudent, dffits, cook_d, cov_r, tau2_del, qe_del, hat, weight, dfbetas,
        influential``; ``dfbetas`` is the intercept's, and meta-regressions add ``dfbetas[name]`` for
        each moderator coefficient."""
        data: dict[str, Any] = {"study": list(self.study)}
        for name in _COLUMNS:
            data[name] = getattr(self, name)
        data["dfbetas"] = self.dfbetas[:, 0]
        for j, name in enumerate(self.coefficient_names[1:], start=1):
            data[f"dfbetas[{name}]"] = self.dfbetas[:, j]
        data["influential"] = self.influential
        return pd.DataFrame(data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``method, test, level, k, p, n_influential``, ``studies`` (rows of :meth:`to_frame`)."""
        return {"method": self.method, "test": self.test, "level": self.level, "k": self.k, "p": self.p,
                "n_influential": int(self.influential.sum()), "studies": json_safe(self.to_frame()),
                "provenance": self.provenance.to_dict()}

    def summary(self) -> Summary:
        frame = self.to_frame()
        flagged = [s for s, f in zip(self.study, self.influential) if f]
        notes = [f"influential (metafor's rule): {', '.join(flagged) if flagged else 'none'}",
                 *self.provenance.warnings]
        return Summary(title=f"Influence diagnostics ({self.method}, test={self.test})",
                       lines=[("k", self.k), ("coefficients", self.p), ("influential", len(flagged))],
                       tables=[("studies", frame)], notes=notes)

    def plot(self, fit: MetaResult, ax: Axes | None = None, **options: Any) -> Axes:
        """Baujat plot of ``fit``, the meta_analyze() result these diagnostics are of; ``options``
        are the keywords of :func:`consilience.report.plots.baujat_plot` (n_labels)."""
        from consilience.report.plots import baujat_plot

        return baujat_plot(fit, ax, influence=self, **options)


def _full_design_variances(X: np.ndarray, v: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """Diagonal of (X' W X)^-1 over all k studies with W = diag(1/(v + tau2_i)), one row per tau2_i.

    Computed in blocks of rows so that memory stays within ``CHUNK_CELLS`` rows x studies.
    """
    k = v.size
    out = np.empty((tau2.size, X.shape[1]))
    step = max(1, CHUNK_CELLS // max(k, 1))
    for start in range(0, tau2.size, step):
        w = 1.0 / (v[None, :] + tau2[start:start + step, None])
        inv = np.linalg.inv(np.einsum("jp,ij,jq->ipq", X, w, X, optimize=True))
        out[start:start + step] = np.einsum("ijj->ij", inv)
    return out


def influence(result: Any) -> Influence:
    """Case-deletion diagnostics for every study, from one batched set of k leave-one-out refits.

    Parameters
    ----------
    result : MetaResult
        A fit from :func:`consilience.meta_analyze` with k >= 2, with or without moderators.

    Returns
    -------
    Influence
        Per study: ``rstudent, dffits, cook_d, cov_r, tau2_del, qe_del, hat, weight, dfbetas,
        influential``.

    Notes
    -----
    With ``b``, ``Var(b)`` and ``W = diag(1/(vi + tau²))`` from the fit and, for each study i, the
    refit without it giving ``b(-i)``, ``Var(b(-i))``, ``tau²(-i)`` and the Knapp-Hartung factor
    ``s²(-i)`` (1 for ``z``)::

        hat_i      = [X (X'WX)^-1 X'W]_ii
        rstudent_i = (y_i - x_i b(-i)) / sqrt(s²(-i) (v_i + tau²(-i)) + x_i Var(b(-i)) x_i')
        dffits_i   = x_i (b - b(-i)) / sqrt(s²(-i) hat_i (v_i + tau²(-i)))
        dfbetas_ij = (b_j - b(-i)_j) / sqrt(s²(-i) [(X' W(-i) X)^-1]_jj),  W(-i) = diag(1/(v + tau²(-i)))
        cook_d_i   = (b - b(-i))' Var(b)^-1 (b - b(-i))
        cov_r_i    = det Var(b(-i)) / det Var(b)

    The k refits are the rows of one batch with study i masked out of row i. A refit that is
    impossible (a coefficient no longer estimable, too few studies) or fails to converge gives NaN.

    References
    ----------
    Viechtbauer, W. & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for meta-analysis.
    Research Synthesis Methods, 1(2), 112-125.

    Validated against: metafor 3.8-1 ``influence(rma(yi, vi, mods=..., method=..., test=...))``.
    """
    res = check_result(result, "influence", min_k=2)
    k = res.k
    X = design_of(res, "influence")
    p = X.shape[1]
    y, v = res.yi, res.vi
    beta = np.array([c.estimate for c in res.coefficients])
    vb = np.asarray(res.vcov, dtype=float)
    fits = refit(y, v, X, 1.0 - np.eye(k), res.method, res.test, res.level)

    w = 1.0 / (v + res.tau2)
    xtwx_inv = np.linalg.inv(X.T @ (w[:, None] * X))
    hat = np.einsum("ip,pq,iq->i", X, xtwx_inv, X) * w
    hat = np.where(hat > 1 - 10 * np.finfo(float).eps, 1.0, hat)

    with np.errstate(divide="ignore", invalid="ignore"):
        tau2_del, s2w = fits.tau2, fits.s2w
        delpred = np.einsum("ip,ip->i", X, fits.beta)
        vdelpred = np.einsum("ip,ipq,iq->i", X, fits.vcov, X)
        pred = X @ beta
        dffits = (pred - delpred) / np.sqrt(s2w * hat * (tau2_del + v))
        vb_del_diag = _full_design_variances(X, v, np.nan_to_num(tau2_del, nan=0.0))
        dfb = beta[None, :] - fits.beta
        dfbetas = dfb / np.sqrt(s2w[:, None] * vb_del_diag)
        dfbetas[~fits.ok] = np.nan
        cook_d = np.einsum("ip,pq,iq->i", dfb, np.linalg.inv(vb), dfb)
        cov_r = np.linalg.det(np.nan_to_num(fits.vcov)) / np.linalg.det(vb)
        cov_r[~fits.ok] = np.nan
        resid = y - delpred
        resid = np.where(np.abs(resid) < 100 * np.finfo(float).eps, 0.0, resid)
        rstudent = resid / np.sqrt(v * s2w + vdelpred + tau2_del * s2w)
        infl = ((np.abs(dffits) > 3 * np.sqrt(p / (k - p))) | (stats.chi2.cdf(cook_d, p) > 0.5)
                | (hat > 3 * p / k) | (np.abs(dfbetas) > 1).any(axis=1))
    notes: tuple[str, ...] = ()
    if fits.n_failed:
        notes = ((f"{fits.n_failed} of {k} deletion refits failed (too few studies, a coefficient no longer "
                  f"estimable, or tau² did not converge); their rows are NaN."),)
    return Influence(
        study=res.labels, rstudent=rstudent, dffits=dffits, cook_d=cook_d, cov_r=cov_r, tau2_del=tau2_del,
        qe_del=fits.q, hat=hat, weight=np.asarray(res.weights, dtype=float), dfbetas=dfbetas,
        coefficient_names=tuple(c.name for c in res.coefficients), influential=np.asarray(infl, dtype=bool),
        method=res.method, test=res.test, level=res.level, k=k, p=p,
        provenance=make_provenance(res, {"diagnostic": "influence"}, notes),
    )
