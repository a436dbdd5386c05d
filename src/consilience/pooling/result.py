"""The frozen result of a (mixed-effects) meta-analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from consilience._results import Provenance, Summary, json_safe

if TYPE_CHECKING:

    from matplotlib.axes import Axes

    from consilience.pooling.design import DesignMatrix

__all__ = ["Coefficient", "MetaResult"]


@dataclass(frozen=True)
class Coefficient:
    """One model coefficient; the first of a model is named ``intercept``."""

    name: str
    estimate: float
    se: float
    statistic: float
    p_value: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict[str, Any]:
        return json_safe({f: getattr(self, f) for f in ("name", "estimate", "se", "statistic", "p_value", "ci_low", "ci_high")})


@dataclass(frozen=True, repr=False)
class MetaResult:
    """Result of :func:`consilience.meta_analyze`.

    Attributes
    ----------
    k, n_dropped : studies used and studies left out (missing values).
    method, test, level : tau² estimator, ``z`` or ``knha``, confidence level as a fraction.
    estimate, se, statistic, p_value, df, ci_low, ci_high : the pooled effect (the intercept when
        there are moderators), its test (``df`` is None for ``z``) and confidence interval.
    pi_low, pi_high : prediction interval for the true effect of a new study (at the intercept).
    tau2, se_tau2, tau2_ci_low, tau2_ci_high : between-study variance, its SE and Q-profile CI.
    i2, i2_ci_low, i2_ci_high, h2, h2_ci_low, h2_ci_high : I² (percent) and H² with Q-profile CIs.
    q, q_df, q_p_value : Cochran's Q (residual heterogeneity QE with moderators).
    coefficients : every coefficient, intercept first.
    qm, qm_df, qm_p_value : omnibus test of the moderators (of the intercept without moderators);
        chi² for ``z``, F with (qm_df, k - p) for ``knha``.
    r2 : pseudo-R² (percent) of a meta-regression; None without moderators.
    yi, vi, labels, weights : the studies used, with percent weights.
    provenance : method, options, rows dropped, warnings, version, input hash.
    """

    k: int
    method: str
    test: str
    level: float
    estimate: float
    se: float
    statistic: float
    p_value: float
    df: float | None
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    se_tau2: float | None
    tau2_ci_low: float | None
    tau2_ci_high: float | None
    i2: float
    i2_ci_low: float | None
    i2_ci_high: float | None
    h2: float
    h2_ci_low: float | None
    h2_ci_high: float | None
    q: float
    q_df: int
    q_p_value: float
    coefficients: tuple[Coefficient, ...]
    qm: float
    qm_df: int
    qm_p_value: float
    r2: float | None
    n_dropped: int
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)
    weights: np.ndarray = field(repr=False)
    vcov: np.ndarray = field(repr=False)
    design: DesignMatrix = field(repr=False)
    provenance: Provenance = field(repr=False)

    # ------------------------------------------------------------------ faces
    def __repr__(self) -> str:
        mods = f" p={len(self.coefficients)}" if len(self.coefficients) > 1 else ""
        return (f"<MetaResult {self.method}/{self.test} k={self.k}{mods} estimate={self.estimate:.4g} "
                f"[{self.ci_low:.4g}, {self.ci_high:.4g}] tau2={self.tau2:.4g}>")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary with the glossary's field names (keys never depend on options)."""
        keys = ["k", "method", "test", "level", "estimate", "se", "statistic", "p_value", "df", "ci_low",
                "ci_high", "pi_low", "pi_high", "tau2", "se_tau2", "tau2_ci_low", "tau2_ci_high", "i2",
                "i2_ci_low", "i2_ci_high", "h2", "h2_ci_low", "h2_ci_high", "q", "q_df", "q_p_value",
                "qm", "qm_df", "qm_p_value", "r2", "n_dropped"]
        out: dict[str, Any] = {key: json_safe(getattr(self, key)) for key in keys}
        out["coefficients"] = [c.to_dict() for c in self.coefficients]
        out["provenance"] = self.provenance.to_dict()
        return out

    def to_frame(self) -> pd.DataFrame:
        """Coefficient table: name, estimate, se, statistic, p_value, df, ci_low, ci_high, level."""
        rows = [{"name": c.name, "estimate": c.estimate, "se": c.se, "statistic": c.statistic,
                 "p_value": c.p_value, "df": self.df if self.df is not None else np.nan,
                 "ci_low": c.ci_low, "ci_high": c.ci_high, "level": self.level} for c in self.coefficients]
        return pd.DataFrame(rows)

    def studies(self) -> pd.DataFrame:
        """Forest-plot numbers: one row per study, then the pooled row and the prediction interval.

        Columns: study, yi, vi, se, ci_low, ci_high, weight (percent; NaN on summary rows).
        Study intervals use the normal quantile at ``level``, as metafor's ``forest()``.
        """
        z = stats.norm.isf((1 - self.level) / 2)
        se = np.sqrt(self.vi)
        frame = pd.DataFrame({"study": list(self.labels), "yi": self.yi, "vi": self.vi, "se": se,
                              "ci_low": self.yi - z * se, "ci_high": self.yi + z * se, "weight": self.weights})
        label = "pooled (EE)" if self.method == "EE" else f"pooled ({self.method})"
        extra = pd.DataFrame({
            "study": [label, "prediction interval"],
            "yi": [self.estimate, self.estimate], "vi": [self.se**2, np.nan], "se": [self.se, np.nan],
            "ci_low": [self.ci_low, self.pi_low], "ci_high": [self.ci_high, self.pi_high], "weight": [np.nan, np.nan],
        })
        return pd.concat([frame, extra], ignore_index=True)

    def predict(self, newmods: Any = None) -> pd.DataFrame:
        """Predicted effects for new moderator values (metafor ``predict()``).

        Returns columns pred, se, ci_low, ci_high, pi_low, pi_high. Without moderators, one row:
        the pooled estimate with its confidence and prediction intervals.
        """
        from consilience.pooling._predict import predict_frame

        return predict_frame(self, newmods)

    def summary(self) -> Summary:
        lines: list[tuple[str, Any]] = [
            ("model", f"{'equal-effects' if self.method == 'EE' else 'random-effects'} ({self.method}), test={self.test}"),
            ("k", self.k), ("estimate", self.estimate), ("se", self.se),
            (f"{int(round(self.level * 100))}% CI", f"[{self.ci_low:.4f}, {self.ci_high:.4f}]"),
            ("p_value", self.p_value),
        ]
        if self.method != "EE":
            lines.append((f"{int(round(self.level * 100))}% PI", f"[{self.pi_low:.4f}, {self.pi_high:.4f}]"))
            ci = "" if self.tau2_ci_low is None else f"  CI [{self.tau2_ci_low:.4f}, {self.tau2_ci_high:.4f}]"
            lines.append(("tau2", f"{self.tau2:.4f}" + (f" (SE {self.se_tau2:.4f})" if self.se_tau2 is not None else "") + ci))
        i2ci = "" if self.i2_ci_low is None else f"  CI [{self.i2_ci_low:.2f}, {self.i2_ci_high:.2f}]"
        lines += [("I2 (%)", f"{self.i2:.2f}{i2ci}"), ("H2", self.h2),
                  ("Q", f"{self.q:.4f} (df = {self.q_df}, p = {self.q_p_value:.4g})")]
        if len(self.coefficients) > 1:
            dist = "F" if self.test == "knha" else "chi2"
            lines.append(("QM", f"{self.qm:.4f} ({dist}, df = {self.qm_df}, p = {self.qm_p_value:.4g})"))
            lines.append(("R2 (%)", self.r2))
        notes = list(self.provenance.warnings)
        if self.n_dropped:
            notes.append(f"{self.n_dropped} stud{'y' if self.n_dropped == 1 else 'ies'} dropped: {self.provenance.dropped_reason}")
        return Summary(title="Meta-analysis", lines=lines, tables=[("coefficients", self.to_frame().drop(columns=["level"]))], notes=notes)

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Forest plot of this fit; ``options`` are the keywords of
        :func:`consilience.report.plots.forest_plot` (order, exponentiate, xlim, refline,
        effect_label, xlabel, label_header, digits, weights, prediction)."""
        from consilience.report.plots import forest_plot

        return forest_plot(self, ax, **options)
