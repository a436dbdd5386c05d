"""``compare()``: is the candidate really better than the baseline, across tasks?"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import check_choice
from consilience.compare.metrics import MetricSpec
from consilience.compare.runs import validate_runs
from consilience.compare.task_effects import (
    Measure,
    TestVariance,
    _check_effect_options,
    _check_pair,
    dominance_note,
    effects_from_table,
)
from consilience.compare.verdict import Verdict, _check_margins, sample_size_to_conclude, verdict
from consilience.errors import InputError

if TYPE_CHECKING:
    from consilience.pooling import MetaResult

__all__ = ["Comparison", "compare", "pool_tasks"]

Method = Literal["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]
Test = Literal["z", "knha"]
_METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
_SCALARS = ("k", "estimate", "se", "statistic", "p_value", "df", "ci_low", "ci_high", "pi_low", "pi_high",
            "tau2", "i2", "q", "q_p_value", "prob_better")


@dataclass(frozen=True, repr=False)
class Comparison:
    """Result of :func:`compare`: the pooled effect of ``candidate`` over ``baseline``.

    Attributes
    ----------
    baseline, candidate, metric, direction, measure : str
        What was compared, and on which scale (positive effect = candidate better).
    method, test, level, threshold, rope :
        Pooling options, confidence level (fraction) and the verdict's margins.
    k : int
        Tasks pooled.
    estimate, se, statistic, p_value, df, ci_low, ci_high :
        Pooled random-effects estimate, its test (``df`` None for ``z``) and interval.
    pi_low, pi_high : float
        Prediction interval for the effect on a new task.
    tau2, i2, q, q_p_value : float
        Between-task variance, I² (percent), Cochran's Q and its p-value.
    prob_better : float
        Probability that the candidate beats the baseline on a new task, from the predictive
        distribution (t with k - 1 df for ``knha``, normal for ``z``). With a single task
        (``test="z"`` only) ``pi_low``, ``pi_high`` and ``prob_better`` are NaN: one task says
        nothing about the next, so the verdict cannot be "robust improvement".
    verdict : str
        One of :data:`~consilience.compare.verdict.VERDICTS`.
    seeds_needed, tasks_needed : int or None
        For an inconclusive verdict, seeds per arm and task, or tasks, that would settle it.
    tasks : DataFrame
        Per-task table (see :func:`~consilience.compare.task_effects.task_effects`).
    meta : MetaResult
        The underlying meta-analysis.
    provenance : Provenance
    """

    baseline: str
    candidate: str
    metric: str
    direction: str
    measure: str
    method: str
    test: str
    level: float
    threshold: float
    rope: float | None
    k: int
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
    i2: float
    q: float
    q_p_value: float
    prob_better: float
    verdict: Verdict
    seeds_needed: int | None
    tasks_needed: int | None
    tasks: pd.DataFrame = field(repr=False)
    meta: MetaResult = field(repr=False)
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        return (f"<Comparison {self.candidate} vs {self.baseline} ({self.metric}) k={self.k} "
                f"estimate={self.estimate:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}] {self.verdict!r}>")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary: the fields above, ``tasks`` as a list of records, provenance."""
        keys = ("baseline", "candidate", "metric", "direction", "measure", "method", "test", "level",
                "threshold", "rope", *_SCALARS, "verdict", "seeds_needed", "tasks_needed")
        out: dict[str, Any] = {key: json_safe(getattr(self, key)) for key in keys}
        out["tasks"] = json_safe(self.tasks)
        out["provenance"] = self.provenance.to_dict()
        return out

    def to_frame(self) -> pd.DataFrame:
        """The per-task table (one row per task; columns as :func:`task_effects`)."""
        return self.tasks.copy()

    def summary(self) -> Summary:
        pct = round(self.level * 100)
        lines: list[tuple[str, Any]] = [
            ("comparison", f"{self.candidate} vs {self.baseline}"),
            ("metric", f"{self.metric} ({self.direction} is better), measure {self.measure}"),
            ("model", f"random effects ({self.method}), test={self.test}"),
            ("k (tasks)", self.k),
            ("estimate", self.estimate), ("se", self.se),
            (f"{pct}% CI", f"[{self.ci_low:.4f}, {self.ci_high:.4f}]"),
            (f"{pct}% PI (new task)", f"[{self.pi_low:.4f}, {self.pi_high:.4f}]"),
            ("p_value", self.p_value), ("tau2", self.tau2), ("I2 (%)", self.i2),
            ("P(better on a new task)", self.prob_better),
            ("verdict", self.verdict),
        ]
        if self.verdict == "inconclusive":
            lines.append(("seeds per task to conclude", self.seeds_needed if self.seeds_needed else "not reachable"))
            lines.append(("tasks to conclude", self.tasks_needed if self.tasks_needed else "not reachable"))
        table = self.tasks[["task", "design", "n_baseline", "n_candidate", "yi", "se", "ci_low", "ci_high"]]
        return Summary(title="Comparison", lines=lines, tables=[("per-task effects", table)],
                       notes=list(self.provenance.warnings))


def _check_options(method: str, test: str, measure: str, test_variance: str, level: float, threshold: float,
                   rope: float | None) -> tuple[str, str, Measure, float]:
    """Validate the options :func:`compare` and :func:`~consilience.compare.ranking.rank` share.

    Returns the canonical ``method``, ``test``, ``measure`` and the level as a fraction.
    """
    method_c = check_choice("method", method, _METHODS, aliases={"FE": "EE", "CE": "EE"})
    test_c = check_choice("test", test, ("z", "knha"))
    measure_c, lv = _check_effect_options(measure, test_variance, level)
    _check_margins(threshold, rope)
    return method_c, test_c, measure_c, lv


def _predictive_prob(estimate: float, se: float, tau2: float, test: str, k: int) -> float:
    sd = math.sqrt(se**2 + max(tau2, 0.0))
    if not (np.isfinite(sd) and sd > 0):
        return float("nan")
    if test == "knha":
        return float(stats.t.sf(-estimate / sd, k - 1)) if k > 1 else float("nan")
    return float(stats.norm.sf(-estimate / sd))


def pool_tasks(tasks: pd.DataFrame, *, method: str, test: str, level: float) -> Any:
    """Random-effects meta-analysis of a per-task table (``yi``, ``vi``, labels from ``task``)."""
    from consilience.pooling import meta_analyze

    if test == "knha" and len(tasks) < 2:
        arm = f" for {tasks['arm'].iloc[0]!r}" if "arm" in tasks.columns and len(tasks) else ""
        raise InputError(
            f"test='knha' needs at least 2 tasks (its t distribution has k - 1 df); got {len(tasks)} task{arm}. "
            "Add tasks, or use test='z' to read a single task's effect."
        )

    return meta_analyze(tasks["yi"].to_numpy(), tasks["vi"].to_numpy(), method=method,  # type: ignore[arg-type]
                        test=test, level=level, labels=tasks["task"].tolist())  # type: ignore[arg-type]


def _fields(meta: Any, tasks: pd.DataFrame, *, test: str, level: float, threshold: float,
            rope: float | None) -> dict[str, Any]:
    out = {name: getattr(meta, name) for name in _SCALARS if name != "prob_better"}
    if meta.k < 2:
        # One task says nothing about the next one: no prediction interval, no predictive probability.
        out.update(pi_low=float("nan"), pi_high=float("nan"))
        prob = float("nan")
    else:
        prob = _predictive_prob(meta.estimate, meta.se, meta.tau2, test, meta.k)
    word = verdict(ci_low=meta.ci_low, ci_high=meta.ci_high, pi_low=out["pi_low"], pi_high=out["pi_high"],
                   threshold=threshold, rope=rope)
    seeds = n_tasks = None
    if word == "inconclusive":
        seeds, n_tasks = sample_size_to_conclude(tasks, estimate=meta.estimate, se=meta.se, tau2=meta.tau2,
                                                 test=test, level=level, threshold=threshold, rope=rope)  # type: ignore[arg-type]
    out.update(prob_better=prob, verdict=word, seeds_needed=seeds, tasks_needed=n_tasks)
    return out


def compare(
    runs: pd.DataFrame | str | Path,
    *,
    baseline: str,
    candidate: str,
    metric: str | None = None,
    method: Method = "REML",
    test: Test = "knha",
    threshold: float = 0.0,
    rope: float | None = None,
    level: float = 95,
    measure: Measure = "MD",
    test_variance: TestVariance = "auto",
    metrics: Mapping[str, MetricSpec] | None = None,
    arm_col: str = "arm",
    task_col: str = "task",
    seed_col: str = "seed",
    metric_col: str = "metric",
    value_col: str = "value",
) -> Comparison:
    r"""Compare two arms across tasks: per-task effects, random-effects pooling and a verdict.

    Parameters
    ----------
    runs : DataFrame or path
        Tidy runs table (``arm, task, seed, metric, value`` and optional ``n_eval``, ``item``...).
    baseline, candidate : str
        The reference arm and the arm under test.
    metric : str, optional
        Metric to compare; may be omitted when the table holds one.
    method : {"REML", "ML", "EB", "PM", "DL", "HE", "HS", "SJ", "EE"}
        tau² estimator of the random-effects model.
    test : {"knha", "z"}
        Knapp-Hartung t inference (default; honest with few tasks) or normal inference.
    threshold : float, default 0
        Smallest gain (effect scale) that counts as an improvement; see :func:`verdict`.
    rope : float, optional
        Region of practical equivalence (half-width, effect scale).
    level : float
        Confidence level, percent or fraction.
    measure : {"MD", "SMD", "ROM"}
        Effect measure per task (raw difference, Hedges' g, log ratio of means).
    test_variance : {"auto", "off"}
        Whether to add test-set sampling variance for proportion metrics.
    metrics : mapping, optional
        :class:`MetricSpec` overrides.
    arm_col, task_col, seed_col, metric_col, value_col : str
        Names of the core columns in ``runs``.

    Returns
    -------
    Comparison
        Fields ``k, estimate, se, statistic, p_value, df, ci_low, ci_high, pi_low, pi_high, tau2,
        i2, q, q_p_value, prob_better, verdict, seeds_needed, tasks_needed``, the per-task table
        ``tasks`` and the :class:`~consilience.pooling.MetaResult` ``meta``.

    Raises
    ------
    InputError
        Invalid runs or options (see :func:`task_effects`).

    Notes
    -----
    Per-task effects :math:`y_i, v_i` come from :func:`task_effects`; they are pooled with
    :func:`consilience.pooling.meta_analyze`. With predictive standard deviation
    :math:`s_{new} = \sqrt{SE^2 + \hat\tau^2}`,

    .. math:: P(\text{better on a new task}) = P(\theta_{new} > 0) = F(\hat\mu / s_{new}),

    :math:`F` the :math:`t_{k-1}` (``knha``) or normal cdf, the distribution metafor uses for the
    prediction interval. The verdict is :func:`~consilience.compare.verdict.verdict`.

    References
    ----------
    Higgins, J. P. T., Thompson, S. G. and Spiegelhalter, D. J. (2009). A re-evaluation of
    random-effects meta-analysis. JRSS A, 172(1), 137-159.

    Validated against: metafor 3.8-1 ``rma(yi, vi, method, test)`` through
    :func:`consilience.pooling.meta_analyze`; the predictive probability against
    ``scipy.stats.t`` in ``tests/compare/test_comparison.py``.
    """
    method_c, test_c, measure_c, lv = _check_options(method, test, measure, test_variance, level, threshold, rope)
    _check_pair(baseline, candidate)
    table = validate_runs(runs, metric=metric, arms=[baseline, candidate], metrics=metrics, arm_col=arm_col,
                          task_col=task_col, seed_col=seed_col, metric_col=metric_col, value_col=value_col)
    tasks, notes = effects_from_table(table, baseline=baseline, candidates=[candidate], measure=measure_c,
                                      level=lv, test_variance=test_variance)
    tasks = tasks.drop(columns="arm")
    meta = pool_tasks(tasks, method=method_c, test=test_c, level=lv)
    values = _fields(meta, tasks, test=test_c, level=lv, threshold=threshold, rope=rope)
    dominance = dominance_note(tasks, meta.tau2)
    warnings_all = tuple(w for w in (*table.warnings, *notes, *meta.provenance.warnings, dominance) if w)
    provenance = Provenance(
        method=f"compare/{method_c}/{test_c}", k=int(meta.k),
        n_dropped=table.n_dropped, dropped_reason=table.dropped_reason, warnings=warnings_all,
        options={"baseline": baseline, "candidate": candidate, "metric": table.metric, "measure": measure_c,
                 "method": method_c, "test": test_c, "level": lv, "threshold": threshold, "rope": rope,
                 "test_variance": test_variance, "task_col": task_col, "arm_col": arm_col, "seed_col": seed_col,
                 "metric_col": metric_col, "value_col": value_col},
        input_hash=input_hash(table.frame),
    )
    return Comparison(baseline=baseline, candidate=candidate, metric=table.metric, direction=table.spec.direction,
                      measure=measure_c, method=method_c, test=test_c, level=lv, threshold=float(threshold),
                      rope=rope, tasks=tasks, meta=meta, provenance=provenance, **values)
