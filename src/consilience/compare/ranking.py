"""``rank()``: every candidate against one baseline, with multiplicity-adjusted p-values."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience.compare.comparison import Method, Test, _check_options, _fields, pool_tasks
from consilience.compare.metrics import MetricSpec
from consilience.compare.multiple_testing import adjust_p_values
from consilience.compare.runs import validate_runs
from consilience.compare.task_effects import (
    Measure,
    TestVariance,
    dominance_note,
    effects_from_table,
)
from consilience.errors import InputError, SmallSampleWarning

__all__ = ["RANKING_COLUMNS", "Ranking", "rank"]

RANKING_COLUMNS = (
    "rank", "arm", "k", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "p_value",
    "p_holm", "p_bh", "prob_better", "robustness", "verdict", "cost_gpu_hours", "cost_usd",
    "gpu_hours_per_gain", "usd_per_gain",
)


@dataclass(frozen=True, repr=False)
class Ranking:
    """Result of :func:`rank`: one row per candidate, most robust first.

    Attributes
    ----------
    baseline, metric, direction, method, test, level : the comparison's setting.
    table : DataFrame
        Columns :data:`RANKING_COLUMNS` (see :func:`rank`).
    tasks : DataFrame
        Per-task effects of every candidate (``arm`` names the candidate).
    provenance : Provenance
    """

    baseline: str
    metric: str
    direction: str
    method: str
    test: str
    level: float
    table: pd.DataFrame = field(repr=False)
    tasks: pd.DataFrame = field(repr=False)
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        top = self.table["arm"].iloc[0] if len(self.table) else "-"
        return f"<Ranking vs {self.baseline} ({self.metric}) candidates={len(self.table)} top={top!r}>"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "metric": self.metric, "direction": self.direction,
                "method": self.method, "test": self.test, "level": self.level,
                "ranking": json_safe(self.table), "provenance": self.provenance.to_dict()}

    def summary(self) -> Summary:
        cols = ["rank", "arm", "k", "estimate", "ci_low", "ci_high", "i2", "p_holm", "prob_better", "verdict"]
        return Summary(title=f"Ranking against {self.baseline} ({self.metric}, {self.direction} is better)",
                       lines=[("model", f"random effects ({self.method}), test={self.test}"),
                              ("candidates", len(self.table))],
                       tables=[("candidates, most robust first", self.table[cols])],
                       notes=["robustness = P(candidate beats the baseline on a new task)",
                              *self.provenance.warnings])


def _costs(frame: pd.DataFrame, baseline: str, arms: list[str], estimate: np.ndarray) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for col, per_gain in (("cost_gpu_hours", "gpu_hours_per_gain"), ("cost_usd", "usd_per_gain")):
        if col in frame.columns:
            mean = frame.groupby("arm")[col].mean()
            cost = mean.reindex(arms).to_numpy(dtype=float)
            extra = cost - float(mean.get(baseline, np.nan))
        else:
            cost = extra = np.full(len(arms), np.nan)
        out[col] = cost
        with np.errstate(divide="ignore", invalid="ignore"):
            out[per_gain] = np.where(estimate > 0, extra / estimate, np.nan)
    return out


def rank(
    runs: pd.DataFrame | str | Path,
    *,
    baseline: str,
    metric: str | None = None,
    candidates: Sequence[str] | None = None,
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
) -> Ranking:
    r"""Compare every candidate with ``baseline`` and rank them by robustness.

    Parameters
    ----------
    runs : DataFrame or path
        Tidy runs table.
    baseline : str
        The reference arm.
    metric : str, optional
        Metric to rank on; may be omitted when the table holds one.
    candidates : sequence of str, optional
        Arms to rank (default: every arm but the baseline).
    method, test, threshold, rope, level, measure, test_variance, metrics :
        As in :func:`~consilience.compare.comparison.compare`.
    arm_col, task_col, seed_col, metric_col, value_col : str
        Names of the core columns in ``runs``.

    Returns
    -------
    Ranking
        ``table`` with one row per candidate and columns

        - ``rank`` (1 = most robust), ``arm``, ``k`` (tasks pooled);
        - ``estimate, se, ci_low, ci_high, pi_low, pi_high, tau2, i2, p_value``: the pooled
          comparison with the baseline (positive = better);
        - ``p_holm``, ``p_bh``: ``p_value`` adjusted over the candidates (Holm; Benjamini-Hochberg);
        - ``prob_better``: probability of beating the baseline on a new task;
        - ``robustness``: the sort key, equal to ``prob_better``;
        - ``verdict``: as :func:`~consilience.compare.verdict.verdict` (unadjusted intervals);
        - ``cost_gpu_hours``, ``cost_usd``: mean cost per run of the candidate (NaN without the
          column);
        - ``gpu_hours_per_gain``, ``usd_per_gain``: extra mean cost per run over the baseline
          divided by ``estimate`` (NaN when the estimate is not positive).

    Warns
    -----
    SmallSampleWarning
        A candidate sharing too few tasks with the baseline to be pooled (fewer than 2 for
        ``knha``); its row has ``k`` set and NaN elsewhere, verdict ``inconclusive``.

    Notes
    -----
    The robustness score is the predictive probability :math:`P(\theta_{new} > 0)`: it rewards
    a large average gain, a precise one and a consistent one (small :math:`\tau^2`) at once, and
    reads as "the chance this candidate helps on the next task". Ties are broken by the
    estimate. Adjusted p-values control the error rate of the family of candidate-vs-baseline
    tests (Holm: family-wise; BH: false discovery rate); intervals and verdicts are per
    comparison.

    Validated against: statsmodels ``multipletests`` (holm, fdr_bh) for the adjusted p-values and
    :func:`compare` for every row (``tests/compare/test_ranking.py``).
    """
    method_c, test_c, measure_c, lv = _check_options(method, test, measure, test_variance, level, threshold, rope)
    wanted = None if candidates is None else [baseline, *candidates]
    table = validate_runs(runs, metric=metric, arms=wanted, metrics=metrics, arm_col=arm_col, task_col=task_col,
                          seed_col=seed_col, metric_col=metric_col, value_col=value_col)
    if baseline not in table.arms:
        raise InputError(f"arm [{baseline!r}] not found in the runs table. Arms present: {table.arms}. "
                         "Pass one of them as baseline.")
    arms = [a for a in table.arms if a != baseline] if candidates is None else [str(c) for c in candidates]
    if baseline in arms:
        raise InputError(f"'candidates' must not include the baseline {baseline!r}; got {arms}. "
                         "Leave the baseline out of candidates.")
    if not arms:
        raise InputError(f"no candidate arms besides the baseline {baseline!r}; arms present: {table.arms}. "
                         "Rank at least one other arm (candidates=[...]), or add its runs to the table.")
    tasks, notes = effects_from_table(table, baseline=baseline, candidates=arms, measure=measure_c,
                                      level=lv, test_variance=test_variance)
    rows = []
    meta_notes: list[str] = []
    min_tasks = 2 if test_c == "knha" else 1
    for arm in arms:  # one meta-analysis per candidate; the per-task work above is one groupby
        sub = tasks.loc[tasks["arm"] == arm]
        if len(sub) < min_tasks:
            msg = (f"{arm}: {len(sub)} task(s) shared with the baseline, not pooled "
                   f"(test={test_c!r} needs {min_tasks}); its row is empty")
            warnings.warn(msg, SmallSampleWarning, stacklevel=2)
            meta_notes.append(msg)
            rows.append({"arm": arm, "k": len(sub), "verdict": "inconclusive"})
            continue
        meta = pool_tasks(sub, method=method_c, test=test_c, level=lv)
        dominance = dominance_note(sub, meta.tau2)
        meta_notes += [f"{arm}: {w}" for w in (*meta.provenance.warnings, dominance) if w]
        rows.append({"arm": arm, **_fields(meta, sub, test=test_c, level=lv, threshold=threshold, rope=rope)})
    pooled = [c for c in RANKING_COLUMNS if c not in ("rank", "p_holm", "p_bh", "robustness")]
    out = pd.DataFrame(rows).reindex(columns=pooled[:pooled.index("verdict") + 1])
    out["p_holm"] = adjust_p_values(out["p_value"].to_numpy(dtype=float), method="holm")
    out["p_bh"] = adjust_p_values(out["p_value"].to_numpy(dtype=float), method="bh")
    out["robustness"] = out["prob_better"].astype(float)
    est = out["estimate"].to_numpy(dtype=float)
    for key, values in _costs(table.frame, baseline, arms, est).items():
        out[key] = values
    out = out.sort_values(["robustness", "estimate"], ascending=False, na_position="last", kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["k"] = out["k"].astype(int)
    out = out[list(RANKING_COLUMNS)].reset_index(drop=True)
    provenance = Provenance(
        method=f"rank/{method_c}/{test_c}", k=int(tasks["task"].nunique()), n_dropped=table.n_dropped,
        dropped_reason=table.dropped_reason, warnings=tuple(w for w in (*table.warnings, *notes, *meta_notes) if w),
        options={"baseline": baseline, "metric": table.metric, "candidates": arms, "measure": measure_c,
                 "method": method_c, "test": test_c, "level": lv, "threshold": threshold, "rope": rope,
                 "test_variance": test_variance, "robustness": "prob_better"},
        input_hash=input_hash(table.frame),
    )
    return Ranking(baseline=baseline, metric=table.metric, direction=table.spec.direction, method=method_c,
                   test=test_c, level=lv, table=out, tasks=tasks, provenance=provenance)
