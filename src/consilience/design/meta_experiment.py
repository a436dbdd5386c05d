"""Analysis and power of a meta-experiment: experiments randomised to two arms, binary outcome.

Example: half of a team's experiments follow a new evaluation protocol (assigned by
:func:`assign_arms`); the outcome is whether the claimed gain replicated. Did the protocol
change the replication rate?
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import check_level, require_columns
from consilience.design._common import (
    Alternative,
    as_grid,
    check_alternative,
    check_probability,
    scalar_or_array,
)
from consilience.design.proportions import power_proportions
from consilience.design.result import PowerResult
from consilience.errors import DataDroppedWarning, InputError

__all__ = ["MetaExperimentResult", "analyze_meta_experiment", "power_meta_experiment"]

_TEST_COLUMNS = ["method", "estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "level"]


def _wilson(x: float, n: float, z: float) -> tuple[float, float]:
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@dataclass(frozen=True)
class MetaExperimentResult:
    """Comparison of a binary outcome between the treatment and control arms.

    Attributes
    ----------
    control, treatment : str
        Arm labels.
    count_control, n_control, count_treatment, n_treatment : int
        Successes and experiments per arm.
    rate_control, rate_treatment : float
        Success proportions.
    estimate : float
        Risk difference ``rate_treatment - rate_control``.
    tests : DataFrame
        One row per method with ``method, estimate, se, statistic, p_value, ci_low, ci_high,
        level``: ``wald`` (unpooled z test and Wald interval), ``newcombe`` (hybrid-score
        interval), ``z_pooled`` (pooled two-proportion z test), ``fisher`` (exact conditional
        test; ``statistic`` is the sample odds ratio).
    level : float
    alternative : str
    provenance : Provenance
    """

    control: str
    treatment: str
    count_control: int
    n_control: int
    count_treatment: int
    n_treatment: int
    rate_control: float
    rate_treatment: float
    estimate: float
    tests: pd.DataFrame
    level: float
    alternative: str
    provenance: Provenance | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        t = self.tests.set_index("method")
        low, high = t.loc["newcombe", ["ci_low", "ci_high"]].to_numpy(dtype=float)
        p = t.loc[["fisher"], "p_value"].to_numpy(dtype=float)[0]
        return (
            f"<MetaExperimentResult {self.treatment!s} vs {self.control!s} estimate={self.estimate:.4g} "
            f"[{low:.4g}, {high:.4g}] fisher_p={p:.3g}>"
        )

    def to_frame(self) -> pd.DataFrame:
        """The ``tests`` table."""
        return self.tests.copy()

    def to_dict(self) -> dict[str, Any]:
        out = {
            f.name: json_safe(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in ("tests", "provenance")
        }
        out["tests"] = json_safe(self.tests)
        out["provenance"] = self.provenance.to_dict() if self.provenance is not None else None
        return out

    def summary(self) -> Summary:
        lines = [
            ("control", f"{self.control}: {self.count_control}/{self.n_control}"),
            ("treatment", f"{self.treatment}: {self.count_treatment}/{self.n_treatment}"),
            ("estimate", self.estimate),
            ("level", self.level),
            ("alternative", self.alternative),
        ]
        notes = list(self.provenance.warnings) if self.provenance is not None else []
        return Summary(
            title="Meta-experiment: risk difference",
            lines=lines,
            tables=[("tests", self.tests)],
            notes=notes,
        )


def analyze_meta_experiment(
    data: pd.DataFrame,
    *,
    arm_col: str = "arm",
    outcome_col: str = "outcome",
    control: str | None = None,
    treatment: str | None = None,
    level: float = 0.95,
    alternative: Alternative = "two-sided",
) -> MetaExperimentResult:
    """Compare a 0/1 outcome between two arms: z tests, Fisher's exact test, risk-difference CIs.

    Parameters
    ----------
    data : DataFrame
        One row per experiment.
    arm_col, outcome_col : str
        Columns holding the arm label and the outcome (0/1 or boolean). Rows with a missing
        outcome are dropped with a :class:`DataDroppedWarning`.
    control, treatment : str, optional
        Arm labels; default ``control`` if present (else the first label in sorted order) and
        the other arm.
    level : float
        Confidence level of the intervals (0.95 or 95).
    alternative : {'two-sided', 'larger', 'smaller'}
        For the tests; 'larger' means treatment rate > control rate. Intervals are two-sided.

    Returns
    -------
    MetaExperimentResult
        ``control``, ``treatment``, ``count_*``, ``n_*``, ``rate_*``, ``estimate`` (risk
        difference), ``tests`` (see the class), ``level``, ``alternative``, ``provenance``.

    Notes
    -----
    Wald: :math:`\\hat d \\pm z\\sqrt{\\hat p_t(1-\\hat p_t)/n_t + \\hat p_c(1-\\hat p_c)/n_c}`.
    Pooled z: :math:`\\hat d/\\sqrt{\\bar p(1-\\bar p)(1/n_t + 1/n_c)}`. Newcombe (1998, method
    10): from Wilson intervals :math:`(l_i, u_i)`, :math:`\\hat d - \\sqrt{(\\hat p_t - l_t)^2 +
    (u_c - \\hat p_c)^2}` to :math:`\\hat d + \\sqrt{(u_t - \\hat p_t)^2 + (\\hat p_c - l_c)^2}`.
    Fisher: conditional exact test of the 2x2 table ``[[x_t, n_t - x_t], [x_c, n_c - x_c]]``.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions. *Statistics in Medicine* 17, 873-890.

    Validated against: statsmodels 0.15 ``proportions_ztest`` and
    ``confint_proportions_2indep(method='wald' | 'newcomb')``; scipy ``fisher_exact``.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"'data' must be a pandas DataFrame; got {type(data).__name__}.")
    require_columns(data, [arm_col, outcome_col], what="meta-experiment data")
    lv = check_level(level)
    alt = check_alternative(alternative)
    frame = data[[arm_col, outcome_col]]
    notes: list[str] = []
    bad_arm = frame[arm_col].isna()
    missing = frame[outcome_col].isna() | bad_arm
    if missing.any():
        msg = f"{int(missing.sum())} row(s) with a missing arm or outcome omitted."
        warnings.warn(msg, DataDroppedWarning, stacklevel=2)
        notes.append(msg)
        frame = frame[~missing]
    y = pd.to_numeric(
        frame[outcome_col].astype(object).replace({True: 1, False: 0}), errors="coerce"
    )
    invalid = ~y.isin([0, 1])
    if invalid.any():
        pos = int(np.flatnonzero(invalid.to_numpy())[0])
        raise InputError(
            f"'{outcome_col}' must be 0/1 (or true/false); got {frame[outcome_col].iloc[pos]!r} at row "
            f"{frame.index[pos]}. Code the outcome as 1 for success and 0 for failure."
        )
    labels = sorted(frame[arm_col].astype(str).unique().tolist())
    if len(labels) != 2:
        raise InputError(
            f"'{arm_col}' must hold exactly two arms; got {labels}. Filter the data to two arms."
        )
    ctrl = control if control is not None else ("control" if "control" in labels else labels[0])
    trt = treatment if treatment is not None else next(lab for lab in labels if lab != ctrl)
    for name, lab in (("control", ctrl), ("treatment", trt)):
        if lab not in labels or ctrl == trt:
            raise InputError(
                f"'{name}' must be one of the two arms {labels} (and differ from the other); got {lab!r}."
            )
    arm = frame[arm_col].astype(str).to_numpy()
    yy = y.to_numpy(dtype=float)
    xt, nt = float(yy[arm == trt].sum()), float(np.sum(arm == trt))
    xc, nc = float(yy[arm == ctrl].sum()), float(np.sum(arm == ctrl))
    pt, pc = xt / nt, xc / nc
    d = pt - pc
    z = float(stats.norm.isf((1 - lv) / 2))

    def pvalue(stat: float) -> float:
        if alt == "two-sided":
            return float(2 * stats.norm.sf(abs(stat)))
        return float(stats.norm.sf(stat) if alt == "larger" else stats.norm.cdf(stat))

    se_w = float(np.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc))
    stat_w = d / se_w if se_w > 0 else np.nan
    pbar = (xt + xc) / (nt + nc)
    se_p = float(np.sqrt(pbar * (1 - pbar) * (1 / nt + 1 / nc)))
    stat_p = d / se_p if se_p > 0 else np.nan
    lt, ut = _wilson(xt, nt, z)
    lc, uc = _wilson(xc, nc, z)
    table = np.array([[xt, nt - xt], [xc, nc - xc]], dtype=np.int64)
    fisher = stats.fisher_exact(
        table, alternative={"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alt]
    )
    rows = [
        [
            "wald",
            d,
            se_w,
            stat_w,
            pvalue(stat_w) if se_w > 0 else np.nan,
            d - z * se_w,
            d + z * se_w,
            lv,
        ],
        [
            "newcombe",
            d,
            np.nan,
            np.nan,
            np.nan,
            d - np.sqrt((pt - lt) ** 2 + (uc - pc) ** 2),
            d + np.sqrt((ut - pt) ** 2 + (pc - lc) ** 2),
            lv,
        ],
        ["z_pooled", d, se_p, stat_p, pvalue(stat_p) if se_p > 0 else np.nan, np.nan, np.nan, lv],
        ["fisher", d, np.nan, float(fisher.statistic), float(fisher.pvalue), np.nan, np.nan, lv],
    ]
    tests = pd.DataFrame(rows, columns=_TEST_COLUMNS)
    return MetaExperimentResult(
        control=ctrl,
        treatment=trt,
        count_control=int(xc),
        n_control=int(nc),
        count_treatment=int(xt),
        n_treatment=int(nt),
        rate_control=pc,
        rate_treatment=pt,
        estimate=d,
        tests=tests,
        level=lv,
        alternative=alt,
        provenance=Provenance(
            method="meta-experiment two-proportion comparison",
            k=int(nt + nc),
            n_dropped=int(missing.sum()),
            dropped_reason="missing arm or outcome" if missing.any() else None,
            warnings=tuple(notes),
            options={"level": lv, "alternative": alt, "control": ctrl, "treatment": trt},
            input_hash=input_hash(yy, "\x1f".join(arm)),
        ),
    )


def power_meta_experiment(
    effect: Any = None,
    n_experiments: Any = None,
    power: Any = None,
    *,
    baseline: float,
    allocation: float = 0.5,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> PowerResult:
    """Power of a meta-experiment's two-proportion z test for a total number of experiments.

    Exactly one of ``effect``, ``n_experiments`` and ``power`` is None; it is solved for.

    Parameters
    ----------
    effect : float, array or None
        Treatment rate minus control rate.
    n_experiments : float, array or None
        Experiments in both arms together.
    power : float, array or None
        Target power.
    baseline : float
        Control-arm success rate.
    allocation : float
        Share of experiments assigned to treatment (the ``weights`` of :func:`assign_arms`).
    alpha : float
        Type-I error rate.
    alternative : {'two-sided', 'larger', 'smaller'}
        'larger' tests treatment > control.

    Returns
    -------
    PowerResult
        As :func:`power_proportions` with ``test = 'meta_experiment'``, except that ``n`` and
        ``n_required`` count experiments in both arms together.

    Notes
    -----
    Control gets :math:`n(1-a)` experiments and treatment :math:`na`; the power is that of
    :func:`power_proportions` with ``n = n(1-a)`` and ``ratio = a/(1-a)``.

    Validated against: statsmodels 0.15 ``NormalIndPower().power(h, nobs1 = n(1-a),
    ratio = a/(1-a))``.
    """
    share = check_probability(
        "allocation", allocation, hint="Pass the share of experiments in treatment, e.g. 0.5."
    )
    n1 = (
        None
        if n_experiments is None
        else as_grid(
            "n_experiments", n_experiments, low=0.0, hint="Pass the total number of experiments."
        )
        * (1.0 - share)
    )
    res = power_proportions(
        effect,
        n1,
        power,
        baseline=baseline,
        ratio=share / (1.0 - share),
        alpha=alpha,
        alternative=alternative,
        test="meta_experiment",
    )
    total = np.asarray(res.n, dtype=float) / (1.0 - share)
    if n_experiments is not None:
        total = np.broadcast_to(np.asarray(n_experiments, dtype=float), total.shape)
    return dataclasses.replace(
        res,
        n=scalar_or_array(np.asarray(total, dtype=float)),
        n_required=scalar_or_array(np.ceil(total - 1e-9)),
        parameters={**res.parameters, "allocation": share},
    )
