"""Trade-offs: does a candidate gain on the primary metric without a credible loss elsewhere?

Every candidate is compared with its baseline on several metrics at once (accuracy and training
time, latency, memory), each pooled over tasks on its own scale and in its own direction with
:func:`consilience.compare`. Positive effects always mean "better". Metrics measured in positive
units where ratios make sense (times, sizes) are pooled as log ratios of means (ROM), so a
margin of "+5%" reads directly. A secondary metric passes when its confidence interval stays
above its non-inferiority margin; the candidates that gain on the primary metric and pass on
every other one are the acceptable ones, and the Pareto front shows who is best at what.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import check_level
from consilience.compare.comparison import compare
from consilience.compare.metrics import MetricSpec
from consilience.compare.runs import read_runs
from consilience.errors import ConsilienceWarning, DataDroppedWarning, InputError
from consilience.quality._pooling import Method, Test, check_pooling
from consilience.quality.margins import (
    COST_TOKENS,
    Margin,
    Measure,
    MetricPlan,
    parse_margin,
    plan_metrics,
)

__all__ = [
    "CANDIDATE_COLUMNS",
    "COST_TOKENS",
    "TRADEOFF_COLUMNS",
    "ComparisonPair",
    "Margin",
    "MetricPlan",
    "Tradeoffs",
    "parse_margin",
    "plan_metrics",
    "tradeoffs",
    "tradeoffs_by_pair",
]

TRADEOFF_COLUMNS = (
    "candidate", "metric", "role", "direction", "measure", "k", "estimate", "se", "ci_low",
    "ci_high", "pi_low", "pi_high", "tau2", "i2", "p_value", "ratio", "ratio_low", "ratio_high",
    "margin", "bound", "status", "error",
)
"""Columns of :attr:`Tradeoffs.table` (one row per candidate and metric)."""

CANDIDATE_COLUMNS = (
    "candidate", "k", "estimate", "ci_low", "ci_high", "improves", "regressions",
    "inconclusive", "acceptable", "pareto", "dominated_by", "decision", "error",
)
"""Columns of :attr:`Tradeoffs.candidates` (one row per candidate; estimates of the primary
metric)."""


class ComparisonPair(NamedTuple):
    """One comparison: a label, its runs and the two arms."""

    label: str
    runs: pd.DataFrame
    baseline: str
    candidate: str


def _status(role: str, ci_low: float, ci_high: float, bound: float) -> str:
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)):
        return "not compared"
    if ci_low > 0:
        return "improved"
    if role == "primary":
        return "worse" if ci_high < 0 else "inconclusive"
    if ci_low > bound:
        return "non-inferior"
    if ci_high < bound:
        return "regression"
    return "inconclusive"


def _pareto(points: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Non-dominated rows of ``points`` (higher is better in every column), with the baseline
    (all zeros) as one more competitor."""
    allp = np.vstack([points, np.zeros((1, points.shape[1]))])
    labels = [*names, "baseline"]
    front = np.zeros(len(points), dtype=bool)
    by: list[str] = []
    for i, p in enumerate(points):
        if not np.all(np.isfinite(p)):
            by.append("")
            continue
        better = np.all(allp >= p, axis=1) & np.any(allp > p, axis=1)
        better[i] = False
        doms = [labels[j] for j in np.flatnonzero(better) if np.all(np.isfinite(allp[j]))]
        front[i] = not doms
        by.append(",".join(doms))
    return front, by


@dataclass(frozen=True, repr=False)
class Tradeoffs:
    """Result of :func:`tradeoffs`: every candidate on every metric, and the decisions.

    Attributes
    ----------
    baseline : str
        The baseline arm (``"(each experiment's baseline)"`` for the registry).
    primary : str
    metrics : tuple of MetricPlan
        Role, direction, measure and margin per metric.
    table : DataFrame
        Columns :data:`TRADEOFF_COLUMNS`: the pooled comparison per candidate and metric
        (effect scale: positive = better); ``ratio, ratio_low, ratio_high`` the
        candidate/baseline ratio of means for ROM metrics (NaN for MD); ``margin`` as given and
        ``bound`` on the effect scale; ``status`` one of ``improved``, ``non-inferior``,
        ``inconclusive``, ``regression`` (secondary metrics), ``worse`` (primary), ``not
        compared`` (with ``error``).
    candidates : DataFrame
        Columns :data:`CANDIDATE_COLUMNS`: the primary metric's estimate, ``improves`` (its CI
        above 0), counts of secondary regressions and inconclusive metrics, ``acceptable``
        (improves and every other metric improved or non-inferior), ``pareto`` (no candidate
        nor the baseline is at least as good on every metric's estimate and better on one),
        ``dominated_by``, a ``decision`` sentence and ``error``.
    method, test, level, provenance : how it was made.
    """

    baseline: str
    primary: str
    metrics: tuple[MetricPlan, ...]
    table: pd.DataFrame = field(repr=False)
    candidates: pd.DataFrame = field(repr=False)
    method: str = "REML"
    test: str = "knha"
    level: float = 0.95
    provenance: Provenance = field(repr=False, default_factory=lambda: Provenance("", 0))

    def __repr__(self) -> str:
        ok = self.candidates.loc[self.candidates["acceptable"], "candidate"].tolist()
        return (f"<Tradeoffs vs {self.baseline} primary={self.primary} metrics="
                f"{len(self.metrics)} candidates={len(self.candidates)} acceptable={ok}>")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "primary": self.primary,
                "metrics": [p.to_dict() for p in self.metrics], "method": self.method,
                "test": self.test, "level": self.level, "table": json_safe(self.table),
                "candidates": json_safe(self.candidates),
                "provenance": self.provenance.to_dict()}

    def summary(self) -> Summary:
        cols = ["candidate", "metric", "measure", "k", "estimate", "ci_low", "ci_high", "ratio",
                "margin", "status"]
        cand = ["candidate", "estimate", "ci_low", "ci_high", "acceptable", "pareto",
                "decision"]
        lines = [(p.metric, f"{p.role}, {p.spec.direction} is better, {p.measure}"
                  + (f", margin {p.margin.text}" if p.margin else "")) for p in self.metrics]
        return Summary(title=f"Trade-offs against {self.baseline}", lines=lines,
                       tables=[("candidates", self.candidates[cand]),
                               ("per metric (positive = better)", self.table[cols])],
                       notes=list(self.provenance.warnings))


def _decision(primary: str, improves: bool, rows: pd.DataFrame, error: str | None) -> str:
    if error:
        return f"not compared: {error}"
    if not improves:
        return f"no credible gain on {primary}"
    reg = rows.loc[rows["status"] == "regression"]
    inc = rows.loc[rows["status"].isin(["inconclusive", "not compared"])]
    if len(reg):
        what = ", ".join(f"{m} (beyond {g or 0})" for m, g in zip(reg["metric"], reg["margin"]))
        return f"gain on {primary} with a credible regression on {what}"
    if len(inc):
        return (f"gain on {primary}; a regression beyond the margin is not ruled out on "
                + ", ".join(inc["metric"]))
    return f"gain on {primary} without a credible regression on the other metrics"


def tradeoffs_by_pair(
    pairs: Sequence[ComparisonPair],
    *,
    metrics: Sequence[str],
    primary: str | None = None,
    margins: Mapping[str, str | float] | None = None,
    measures: Mapping[str, Measure] | None = None,
    metric_specs: Mapping[str, MetricSpec] | None = None,
    baseline_label: str = "(each comparison's baseline)",
    method: Method = "REML",
    test: Test = "knha",
    level: float = 95,
) -> Tradeoffs:
    """:func:`tradeoffs` for comparisons that each have their own runs and arms.

    Parameters
    ----------
    pairs : sequence of ComparisonPair
        ``(label, runs, baseline, candidate)``; the label names the candidate in the result
        (e.g. each registry experiment against its own baseline).
    metrics, primary, margins, measures, metric_specs, method, test, level :
        As in :func:`tradeoffs`.
    baseline_label : str
        Shown as the result's ``baseline``.

    Returns
    -------
    Tradeoffs
    """
    method_c, test_c = check_pooling(method, test)
    lv = check_level(level)
    if not pairs:
        raise InputError("no comparisons to make: give at least one candidate.")
    values = {}
    for m in metrics:
        parts = [p.runs.loc[(p.runs["metric"] == m) & p.runs["arm"].isin(
            [p.baseline, p.candidate]), "value"].to_numpy(dtype=float) for p in pairs]
        values[str(m)] = np.concatenate(parts) if parts else np.zeros(0)
    plans = plan_metrics(metrics, values=values, primary=primary, margins=margins,
                         measures=measures, metric_specs=metric_specs)
    specs = {p.metric: p.spec for p in plans}
    rows: list[dict[str, Any]] = []
    dropped: list[str] = []
    for pair in pairs:
        for plan in plans:
            row: dict[str, Any] = {"candidate": pair.label, "metric": plan.metric,
                                   "role": plan.role, "direction": plan.spec.direction,
                                   "measure": plan.measure,
                                   "margin": plan.margin.text if plan.margin else None,
                                   "bound": plan.bound}
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConsilienceWarning)
                    measure: Any = plan.measure
                    res = compare(pair.runs, baseline=pair.baseline, candidate=pair.candidate,
                                  metric=plan.metric, measure=measure, metrics=specs,
                                  method=method_c, test=test_c, level=lv)
                for w in caught:
                    if issubclass(w.category, ConsilienceWarning):
                        dropped.append(f"{pair.label} ({plan.metric}): {w.message}")
                    else:  # pragma: no cover - foreign warnings pass through unchanged
                        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            except InputError as exc:
                row.update(k=0, status="not compared", error=str(exc))
                rows.append(row)
                continue
            for key in ("k", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
                        "i2", "p_value"):
                row[key] = getattr(res, key)
            if plan.measure == "ROM":
                sgn = plan.spec.sign
                lo, hi = sorted((math.exp(sgn * res.ci_low), math.exp(sgn * res.ci_high)))
                row.update(ratio=math.exp(sgn * res.estimate), ratio_low=lo, ratio_high=hi)
            row["status"] = _status(plan.role, res.ci_low, res.ci_high, plan.bound)
            rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=list(TRADEOFF_COLUMNS))
    table["k"] = table["k"].fillna(0).astype(int)
    prim = next(p.metric for p in plans if p.role == "primary")
    labels = list(dict.fromkeys(p.label for p in pairs))
    wide = table.pivot(index="candidate", columns="metric", values="estimate").reindex(
        index=labels, columns=[p.metric for p in plans])
    front, by = _pareto(wide.to_numpy(dtype=float), labels)
    cands = []
    for i, label in enumerate(labels):
        mine = table.loc[table["candidate"] == label]
        p_row = mine.loc[mine["metric"] == prim].iloc[0]
        others = mine.loc[mine["role"] == "secondary"]
        error = p_row["error"] if isinstance(p_row["error"], str) else None
        improves = p_row["status"] == "improved"
        ok = improves and bool(others["status"].isin(["improved", "non-inferior"]).all())
        cands.append({
            "candidate": label, "k": int(p_row["k"]), "estimate": p_row["estimate"],
            "ci_low": p_row["ci_low"], "ci_high": p_row["ci_high"], "improves": bool(improves),
            "regressions": int((others["status"] == "regression").sum()),
            "inconclusive": int(others["status"].isin(["inconclusive", "not compared"]).sum()),
            "acceptable": bool(ok), "pareto": bool(front[i]), "dominated_by": by[i],
            "decision": _decision(prim, bool(improves), others, error), "error": error,
        })
    candidates = pd.DataFrame(cands, columns=list(CANDIDATE_COLUMNS))
    if dropped:
        msg = (f"{len(dropped)} comparison(s) left data out: " + "; ".join(dropped[:3])
               + (f"; and {len(dropped) - 3} more" if len(dropped) > 3 else ""))
        warnings.warn(msg, DataDroppedWarning, stacklevel=2)
    provenance = Provenance(
        method=f"tradeoffs/{method_c}/{test_c}", k=int(table["k"].max()) if len(table) else 0,
        warnings=tuple(dropped),
        options={"metrics": [p.to_dict() for p in plans], "method": method_c, "test": test_c,
                 "level": lv},
        input_hash=input_hash(*(p.runs for p in pairs)),
    )
    return Tradeoffs(baseline=baseline_label, primary=prim, metrics=tuple(plans), table=table,
                     candidates=candidates, method=method_c, test=test_c, level=lv,
                     provenance=provenance)


def tradeoffs(
    runs: pd.DataFrame | str | Path,
    *,
    baseline: str,
    metrics: Sequence[str],
    candidates: Sequence[str] | None = None,
    primary: str | None = None,
    margins: Mapping[str, str | float] | None = None,
    measures: Mapping[str, Measure] | None = None,
    metric_specs: Mapping[str, MetricSpec] | None = None,
    method: Method = "REML",
    test: Test = "knha",
    level: float = 95,
) -> Tradeoffs:
    r"""Compare candidates with one baseline on several metrics and find the acceptable ones.

    Parameters
    ----------
    runs : DataFrame or path
        Tidy runs table (``arm, task, seed, metric, value``...) holding every metric.
    baseline : str
        The reference arm.
    metrics : sequence of str
        The metrics; the first is the primary one unless ``primary`` says otherwise.
    candidates : sequence of str, optional
        Default: every arm but the baseline.
    primary : str, optional
        The metric a candidate must improve.
    margins : mapping, optional
        Non-inferiority margins of the other metrics: ``{"latency_ms": "+5%"}`` (relative to
        the baseline, read on the log-ratio scale) or ``{"accuracy": 0.002}`` (metric units).
        A metric without a margin must not be credibly worse at all (bound 0).
    measures : mapping, optional
        Effect measure per metric (``MD``, ``SMD``, ``ROM``) where no margin fixes it.
    metric_specs : mapping, optional
        :class:`~consilience.compare.MetricSpec` per metric; names in
        :data:`COST_TOKENS` default to lower-is-better.
    method, test, level :
        Pooling options of :func:`consilience.compare` (REML with Knapp-Hartung by default).

    Returns
    -------
    Tradeoffs
        ``table`` (per candidate and metric), ``candidates`` (decisions, Pareto front).

    Warns
    -----
    DataDroppedWarning
        Once, counting the comparisons that left tasks or runs out.

    Notes
    -----
    For a metric with effect :math:`\theta` (positive = better) and margin bound :math:`-\delta`
    the status is *improved* when the :math:`1-\alpha` CI lies above 0, *non-inferior* when it
    lies above :math:`-\delta`, *regression* when it lies below :math:`-\delta`, and
    *inconclusive* otherwise. A relative margin :math:`m` (``"+5%"``) is
    :math:`\delta = \log(1 + m)` for lower-is-better metrics and :math:`-\log(1 - m)` for
    higher-is-better ones on the ROM scale :math:`\theta = \pm\log(\bar x_C / \bar x_B)`. The
    Pareto front uses point estimates and ignores uncertainty; read it with the intervals.

    References
    ----------
    Piaggio, G. et al. (2012). Reporting of noninferiority and equivalence randomized trials:
    extension of the CONSORT 2010 statement. JAMA, 308(24), 2594-2604.

    Validated against: metafor 3.8-1 ``escalc("ROM")`` + ``rma(test="knha")`` for the ROM rows
    and ``rma()`` for the MD rows (``tests/reference/quality``).
    """
    frame = read_runs(runs) if not isinstance(runs, pd.DataFrame) else runs
    if "arm" not in frame.columns:
        raise InputError(f"runs has no 'arm' column; columns: {list(map(str, frame.columns))}. "
                         "Pass a tidy runs table with arm, task, seed, metric and value columns.")
    arms = sorted(map(str, frame["arm"].dropna().unique()))
    if baseline not in arms:
        raise InputError(f"baseline {baseline!r} is not an arm of the runs; arms: {arms}. "
                         "Pass one of them as the baseline.")
    chosen = [a for a in arms if a != baseline] if candidates is None else list(candidates)
    unknown = [c for c in chosen if c not in arms]
    if unknown or baseline in chosen or not chosen:
        raise InputError(f"candidates must be arms other than the baseline {baseline!r}; got "
                         f"{chosen} (arms: {arms}).")
    pairs = [ComparisonPair(c, frame, baseline, c) for c in chosen]
    return tradeoffs_by_pair(pairs, metrics=metrics, primary=primary, margins=margins,
                             measures=measures, metric_specs=metric_specs,
                             baseline_label=baseline, method=method, test=test, level=level)
