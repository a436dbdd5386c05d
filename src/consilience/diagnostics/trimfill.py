"""Duval and Tweedie's trim-and-fill: estimate and impute studies missing from one side of the funnel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, json_safe
from consilience._validation import check_choice
from consilience.diagnostics._common import (
    REFIT_COLUMNS,
    check_result,
    make_provenance,
    refit_columns,
)
from consilience.diagnostics._refit import Refits, refit
from consilience.errors import ConvergenceError, InputError
from consilience.pooling.result import MetaResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["MAXITER", "TrimAndFill", "trim_and_fill"]

MAXITER = 100  # metafor's maxiter for the trim-and-fill iterations
_SCALARS = ("k", "k0", "se_k0", "p_k0", "side", "estimator", "method", "test", "level", "estimate", "se",
            "statistic", "p_value", "df", "ci_low", "ci_high", "tau2", "i2", "h2", "q", "q_p_value",
            "observed_estimate", "iterations")
_POOLED = tuple(name for name in REFIT_COLUMNS if name != "df")  # the pooled fields besides df


@dataclass(frozen=True, repr=False, eq=False)
class TrimAndFill:
    """Result of :func:`trim_and_fill`.

    Attributes
    ----------
    k : observed studies; ``k0`` : estimated number of missing studies, ``se_k0`` its standard error,
        ``p_k0`` the p-value of k0 = 0 for the R0 estimator (None otherwise).
    side : "left" or "right", the side of the funnel where studies are imputed.
    estimator : "L0", "R0" or "Q0".
    method, test, level : the model refitted to the filled data (those of the fit).
    estimate, se, statistic, p_value, df, ci_low, ci_high : pooled effect of observed plus filled
        studies (the fit's own when ``k0 = 0``), its test (``df`` None for ``z``) and interval.
    tau2, i2, h2, q, q_p_value : heterogeneity of the filled data.
    observed_estimate : the pooled effect of the observed studies, for comparison.
    iterations : trim-and-fill iterations until k0 stopped changing.
    study, yi, vi, filled : the augmented data set, observed studies first then the ``k0`` filled
        ones (``filled`` True, labelled "filled 1", ...): the points of the funnel plot.
    provenance : method, options and input hash.
    """

    k: int
    k0: int
    se_k0: float
    p_k0: float | None
    side: str
    estimator: str
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
    tau2: float
    i2: float
    h2: float
    q: float
    q_p_value: float
    observed_estimate: float
    iterations: int
    study: tuple[str, ...] = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    filled: np.ndarray = field(repr=False)
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        return (f"<TrimAndFill {self.estimator} {self.method} k={self.k} k0={self.k0} side={self.side} "
                f"estimate={self.estimate:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}]>")

    def to_frame(self) -> pd.DataFrame:
        """The augmented data: ``study, yi, vi, se, filled``, observed studies first."""
        return pd.DataFrame({"study": list(self.study), "yi": self.yi, "vi": self.vi, "se": np.sqrt(self.vi),
                             "filled": self.filled})

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: every scalar field, plus ``filled_studies`` (``study, yi, vi`` of the imputed ones)."""
        out: dict[str, Any] = {name: json_safe(getattr(self, name)) for name in _SCALARS}
        fill = self.to_frame()
        out["filled_studies"] = json_safe(fill.loc[fill["filled"], ["study", "yi", "vi"]])
        out["provenance"] = self.provenance.to_dict()
        return out

    def summary(self) -> Summary:
        pct = round(self.level * 100)
        lines: list[tuple[str, Any]] = [
            ("estimator", f"{self.estimator}, side = {self.side}"), ("observed studies", self.k),
            ("estimated missing (k0)", f"{self.k0} (SE {self.se_k0:.4f})"),
            ("observed estimate", self.observed_estimate), ("filled estimate", self.estimate), ("se", self.se),
            (f"{pct}% CI", f"[{self.ci_low:.4f}, {self.ci_high:.4f}]"), ("p_value", self.p_value),
            ("tau2", self.tau2), ("I2 (%)", self.i2),
        ]
        if self.p_k0 is not None:
            lines.append(("p-value of k0 = 0 (R0)", self.p_k0))
        fill = self.to_frame()
        tables = [("filled studies", fill.loc[fill["filled"]].reset_index(drop=True))] if self.k0 else []
        return Summary(title=f"Trim-and-fill ({self.method}, test={self.test})", lines=lines, tables=tables,
                       notes=tuple(self.provenance.warnings))

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Funnel plot with the filled studies as open circles; ``options`` are the keywords of
        :func:`consilience.report.plots.funnel_plot` (contours, xlabel, ylabel, legend)."""
        from consilience.report.plots import funnel_plot

        return funnel_plot(self, ax, **options)


def _fit_one(y: np.ndarray, v: np.ndarray, res: MetaResult, what: str) -> Refits:
    fits = refit(y, v, np.ones((y.size, 1)), np.ones((1, y.size)), res.method, res.test, res.level)
    if not fits.ok[0]:
        raise ConvergenceError(
            f"trim_and_fill: the {res.method} fit of the {what} did not converge. Refit with a non-iterative "
            f"estimator (method='DL') and run trim_and_fill again."
        )
    return fits


def _choose_side(res: MetaResult) -> str:
    """metafor's rule: the slope of yi on sei (fit's method); negative slope -> impute on the right."""
    y, v = res.yi, res.vi
    X = np.column_stack([np.ones(y.size), np.sqrt(v)])
    if np.ptp(np.sqrt(v)) <= 1e-12 * float(np.sqrt(v).max()):
        raise InputError(
            "trim_and_fill cannot choose the side from the data: every study has the same variance, so the "
            "regression of yi on sqrt(vi) has no slope. Pass side='left' or side='right'."
        )
    fits = refit(y, v, X, np.ones((1, y.size)), res.method, "z", res.level)
    if not fits.ok[0]:
        raise ConvergenceError(
            f"trim_and_fill: the {res.method} regression of yi on sqrt(vi) that picks the side did not converge. "
            f"Pass side='left' or side='right'."
        )
    return "right" if fits.beta[0, 1] < 0 else "left"


def trim_and_fill(result: Any, *, estimator: Literal["L0", "R0", "Q0"] = "L0",
                  side: Literal["left", "right"] | None = None) -> TrimAndFill:
    """Trim-and-fill: estimate how many studies are missing and pool with their mirror images added.

    Parameters
    ----------
    result : MetaResult
        An intercept-only fit from :func:`consilience.meta_analyze` with k >= 3; its ``method``,
        ``test`` and ``level`` are used for every fit.
    estimator : {"L0", "R0", "Q0"}
        Estimator of the number of missing studies (default L0, as metafor).
    side : {"left", "right"}, optional
        Side of the funnel where studies are missing. Default: chosen as metafor does, from the sign of
        the slope of ``yi`` on ``sqrt(vi)`` (negative -> "right").

    Returns
    -------
    TrimAndFill
        ``k0, se_k0, p_k0, side, estimate, se, statistic, p_value, df, ci_low, ci_high, tau2, i2, h2, q,
        q_p_value, observed_estimate`` and the augmented studies (see the class).

    Notes
    -----
    Effects are flipped when ``side="right"`` and sorted. Starting from ``k0 = 0``, each iteration
    pools the ``k - k0`` smallest effects, centres all effects on that estimate ``b``, ranks their
    absolute values (ties by position) and computes, with ``S_r`` the sum of the positive signed ranks
    and ``gamma`` the length of the run of largest ranks that all lie above ``b`` (k minus the largest
    rank of an effect below ``b``)::

        L0: k0 = (4 S_r - k(k+1)) / (2k - 1),  se = 4 sqrt(Var S_r) / (2k - 1)
        R0: k0 = gamma - 1,                    se = sqrt(2 max(0, k0) + 2)
        Q0: k0 = k - 1/2 - sqrt(2k² - 4 S_r + 1/4)

    with ``Var S_r = (k(k+1)(2k+1) + 10k0³ + 27k0² + 17k0 - 18k k0² - 18k k0 + 6k² k0) / 24``; k0 is
    rounded (half to even, as R) and truncated at 0, until it stops changing. The ``k0`` most extreme
    effects are mirrored around the last ``b`` (``2b - yi``, same ``vi``) and the model is refitted to
    observed plus filled studies. For R0, ``p_k0 = 1 - sum_{m=-1}^{k0-1} C(m+1, m+1) 0.5^(m+2)``.
    metafor 3.8 refits the filled data with its default z test at 95%; here the fit's ``test`` and
    ``level`` are kept (identical for the defaults).

    References
    ----------
    Duval, S. & Tweedie, R. (2000). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics, 56(2), 455-463.
    Duval, S. & Tweedie, R. (2000). A nonparametric "trim and fill" method of accounting for
    publication bias in meta-analysis. JASA, 95(449), 89-98.

    Validated against: metafor 3.8-1 ``trimfill(rma(yi, vi, method=...), estimator=..., side=...)``.
    """
    res = check_result(result, "trim_and_fill", min_k=3, intercept_only=True)
    estimator = check_choice("estimator", estimator, ("L0", "R0", "Q0"))  # type: ignore[assignment]
    chosen = _choose_side(res) if side is None else check_choice("side", side, ("left", "right"))
    sign = -1.0 if chosen == "right" else 1.0
    ix = np.argsort(sign * res.yi, kind="stable")
    y = sign * res.yi[ix]
    v = res.vi[ix]
    k = y.size
    k0, k0_prev, se_k0, iterations = 0, -1, 0.0, 0
    beta = 0.0
    while k0 != k0_prev:
        k0_prev = k0
        iterations += 1
        if iterations > MAXITER:
            raise ConvergenceError(f"trim_and_fill did not converge in {MAXITER} iterations; try estimator='R0'.")
        beta = float(_fit_one(y[: k - k0], v[: k - k0], res, "trimmed studies").beta[0, 0])
        centred = y - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(centred), kind="stable")] = np.arange(1, k + 1)
        signed = np.sign(centred) * ranks
        if estimator == "R0":
            negative = signed[signed < 0]
            if not negative.size:
                other = "right" if chosen == "left" else "left"
                raise InputError(
                    f"trim_and_fill with estimator='R0' needs effects on both sides of the estimate; all {k} "
                    f"effects lie at or {other} of the pooled estimate {sign * beta:.4g}. Use estimator='L0' "
                    f"(the default) or 'Q0'."
                )
            raw = k - (-negative).max() - 1
            se_raw = np.sqrt(2 * max(0.0, raw) + 2)
        else:
            s_r = float(signed[signed > 0].sum())
            if estimator == "L0":
                raw = (4 * s_r - k * (k + 1)) / (2 * k - 1)
            else:
                disc = 2 * k**2 - 4 * s_r + 0.25
                if disc < 0:
                    raise InputError(
                        f"trim_and_fill with estimator='Q0' is undefined for these data (2k² - 4 S_r + 1/4 = "
                        f"{disc:.4g} < 0). Use estimator='L0' (the default) or 'R0'."
                    )
                raw = k - 0.5 - np.sqrt(disc)
            var_sr = (k * (k + 1) * (2 * k + 1) + 10 * raw**3 + 27 * raw**2 + 17 * raw - 18 * k * raw**2
                      - 18 * k * raw + 6 * k**2 * raw) / 24
            denom = (2 * k - 1) if estimator == "L0" else np.sqrt((k - 0.5) ** 2 - raw * (2 * k - raw - 1))
            scale = 4.0 if estimator == "L0" else 2.0
            with np.errstate(invalid="ignore"):
                se_raw = scale * np.sqrt(var_sr) / denom
        k0 = max(0, int(np.round(raw)))
        se_k0 = float(max(0.0, se_raw)) if not np.isnan(se_raw) else float("nan")

    p_k0 = None
    if estimator == "R0":
        m = np.arange(-1, k0)
        p_k0 = float(1 - np.sum(0.5 ** (m + 2)))  # choose(m + 1, m + 1) = 1
    if k0 > 0:
        fill_y = sign * (2 * beta - y[k - k0:])
        fill_v = v[k - k0:]
        aug_y = np.concatenate([res.yi, fill_y])
        aug_v = np.concatenate([res.vi, fill_v])
        columns = refit_columns(_fit_one(aug_y, aug_v, res, "filled data"))
        est = {name: columns[name][0] for name in _POOLED}
        df = None if np.isnan(columns["df"][0]) else float(columns["df"][0])
    else:
        aug_y, aug_v = res.yi.copy(), res.vi.copy()
        est = {name: getattr(res, name) for name in _POOLED}
        df = res.df
    labels = res.labels + tuple(f"filled {j + 1}" for j in range(k0))
    filled = np.r_[np.zeros(k, dtype=bool), np.ones(k0, dtype=bool)]
    options = {"diagnostic": "trim_and_fill", "estimator": estimator, "side": chosen,
               "side_chosen_by": "user" if side is not None else "slope of yi on sqrt(vi)"}
    return TrimAndFill(
        k=k, k0=k0, se_k0=se_k0, p_k0=p_k0, side=chosen, estimator=estimator, method=res.method, test=res.test,
        level=res.level, **{name: float(val) for name, val in est.items()}, df=df,
        observed_estimate=res.estimate, iterations=iterations, study=labels, yi=aug_y, vi=aug_v, filled=filled,
        provenance=make_provenance(res, options),
    )
