"""Egger's regression test for funnel-plot asymmetry (small-study effects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from consilience._results import Provenance, Summary
from consilience.diagnostics._common import OneRowResult, check_result, design_of, make_provenance
from consilience.errors import ConvergenceError, InputError
from consilience.pooling._kernel import fit_batch
from consilience.pooling._linalg import Batch

__all__ = ["EggerTest", "egger_test"]

_FIELDS = ("k", "method", "test", "level", "statistic", "p_value", "df", "slope", "slope_se", "limit_estimate",
           "limit_se", "limit_ci_low", "limit_ci_high", "tau2")


@dataclass(frozen=True, repr=False)
class EggerTest(OneRowResult):
    """Result of :func:`egger_test`.

    Attributes
    ----------
    k, method, test, level : studies, tau² estimator and inference of the regression (those of the fit).
    statistic, p_value, df : test of the slope on the standard error (z, or t with k - p - 1 df for
        ``knha``; ``df`` is None for ``z``). A small p-value signals funnel asymmetry.
    slope, slope_se : coefficient of ``sei`` and its standard error.
    limit_estimate, limit_se, limit_ci_low, limit_ci_high : the intercept, the effect expected for a
        study of infinite precision (sei = 0), with its CI at ``level``; None for meta-regressions.
    tau2 : residual between-study variance of the regression.
    provenance : method, options and input hash.
    """

    k: int
    method: str
    test: str
    level: float
    statistic: float
    p_value: float
    df: float | None
    slope: float
    slope_se: float
    limit_estimate: float | None
    limit_se: float | None
    limit_ci_low: float | None
    limit_ci_high: float | None
    tau2: float
    provenance: Provenance = field(repr=False)

    _fields: ClassVar[tuple[str, ...]] = _FIELDS

    def __repr__(self) -> str:
        stat = "t" if self.test == "knha" else "z"
        return f"<EggerTest {self.method} k={self.k} {stat}={self.statistic:.4g} p={self.p_value:.4g}>"

    def summary(self) -> Summary:
        stat = "t" if self.test == "knha" else "z"
        lines: list[tuple[str, Any]] = [
            ("model", f"yi ~ sei, {self.method}, test={self.test}"), ("k", self.k),
            (f"test for asymmetry ({stat})", self.statistic), ("p_value", self.p_value),
            ("df", self.df), ("slope (sei)", self.slope), ("tau2", self.tau2),
        ]
        if self.limit_estimate is not None:
            pct = round(self.level * 100)
            lines += [("limit estimate (sei -> 0)", self.limit_estimate),
                      (f"{pct}% CI", f"[{self.limit_ci_low:.4f}, {self.limit_ci_high:.4f}]")]
        return Summary(title="Egger's regression test for funnel-plot asymmetry", lines=lines,
                       notes=tuple(self.provenance.warnings))


def egger_test(result: Any) -> EggerTest:
    """Egger's regression test: meta-regression of ``yi`` on ``sei`` with the fit's tau² method and test.

    Parameters
    ----------
    result : MetaResult
        A fit from :func:`consilience.meta_analyze` with k >= 3; its moderators (if any) stay in the
        regression, and its ``method``, ``test`` and ``level`` are used.

    Returns
    -------
    EggerTest
        ``statistic, p_value, df, slope, slope_se, limit_estimate, limit_se, limit_ci_low,
        limit_ci_high, tau2`` (see the class).

    Notes
    -----
    The mixed-effects model ``yi = b0 + b1 sei_i + u_i + e_i`` with ``u_i ~ N(0, tau²)`` and
    ``e_i ~ N(0, vi)`` (moderators, if any, enter before ``sei``) is fitted with the fit's estimator;
    the test of ``b1 = 0`` is the test for asymmetry. Without moderators, ``b0`` is the "limit
    estimate", the effect of a study with ``sei = 0`` (Stanley & Doucouliagos's PET estimate).
    For ``method="EE"`` this is the weighted regression form of Egger's test with a z statistic.

    References
    ----------
    Egger, M., Davey Smith, G., Schneider, M. & Minder, C. (1997). Bias in meta-analysis detected by a
    simple, graphical test. BMJ, 315, 629-634.
    Sterne, J. A. C. & Egger, M. (2005). Regression methods to detect publication and other bias in
    meta-analysis. In Publication Bias in Meta-Analysis (pp. 99-110). Wiley.

    Validated against: metafor 3.8-1 ``regtest(rma(yi, vi, method=..., test=...))``.
    """
    res = check_result(result, "egger_test", min_k=3)
    X = np.column_stack([design_of(res, "egger_test"), np.sqrt(res.vi)])
    k, p = X.shape
    scale = np.abs(X).max(axis=0)
    if np.linalg.matrix_rank(X / np.where(scale > 0, scale, 1.0), tol=1e-7) < p:
        raise InputError(
            "egger_test needs studies with different standard errors: 'sei' = sqrt(vi) is constant (or "
            "collinear with the moderators), so the regression on it has no slope. With equal variances "
            "the funnel plot cannot show small-study effects."
        )
    need = p + (0 if res.method == "EE" else 1)
    if k < need:
        raise InputError(
            f"egger_test needs at least k = {need} studies for this model ({p} coefficients"
            f"{'' if res.method == 'EE' else ' and tau²'}); got k = {k}. Use fewer moderators or more studies."
        )
    batch = Batch.build(res.yi[None, :], res.vi[None, :], np.ones((1, k)), X[None, :, :])
    fit = fit_batch(batch, res.method, "knha" if res.test == "knha" else "z", res.level)
    if not fit.tau2_fit.converged[0]:
        raise ConvergenceError(
            f"the {res.method} estimate of tau² in Egger's regression did not converge: {fit.tau2_fit.message}. "
            f"Refit with a non-iterative estimator (method='DL') and test again."
        )
    notes: tuple[str, ...] = ()
    if fit.tau2_fit.boundary_reset[0]:
        notes = (f"{res.method}: tau² of the regression set to 0 (the likelihood at 0 exceeds the local maximum).",)
    intercept_only = len(res.coefficients) == 1

    def at(arr: np.ndarray, j: int) -> float:
        return float(arr[0, j])

    df = None if np.isnan(fit.df[0]) else float(fit.df[0])
    return EggerTest(
        k=k, method=res.method, test=res.test, level=res.level,
        statistic=at(fit.statistic, p - 1), p_value=at(fit.p_value, p - 1), df=df,
        slope=at(fit.beta, p - 1), slope_se=at(fit.se, p - 1),
        limit_estimate=at(fit.beta, 0) if intercept_only else None,
        limit_se=at(fit.se, 0) if intercept_only else None,
        limit_ci_low=at(fit.ci_low, 0) if intercept_only else None,
        limit_ci_high=at(fit.ci_high, 0) if intercept_only else None,
        tau2=float(fit.tau2[0]),
        provenance=make_provenance(res, {"diagnostic": "egger_test", "predictor": "sei"}, notes),
    )
