"""Probability of improvement and performance profiles (rliable), with stratified bootstrap intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience._validation import as_float_vector, check_choice, check_level
from consilience.compare._bootstrap import (
    ScoreSet,
    arm_generator,
    count_chunks,
    percentile_ci,
    score_sets,
)
from consilience.compare.aggregates import check_reps, common_tasks
from consilience.compare.metrics import MetricSpec
from consilience.compare.runs import column_options, validate_runs
from consilience.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["PerformanceProfile", "ProbabilityOfImprovement", "performance_profile", "probability_of_improvement"]

ProfileKind = Literal["runs", "tasks"]


@dataclass(frozen=True, repr=False)
class ProbabilityOfImprovement:
    """Result of :func:`probability_of_improvement`.

    Attributes
    ----------
    x, y, metric, direction : str
    estimate, ci_low, ci_high, level : float
        P(X > Y) averaged over tasks, its percentile interval and level (fraction).
    reps, seed, n_tasks : int
    per_task : DataFrame
        Columns ``task, estimate`` (P(X > Y) on each task).
    provenance : Provenance
    """

    x: str
    y: str
    metric: str
    direction: str
    estimate: float
    ci_low: float
    ci_high: float
    level: float
    reps: int
    seed: int
    n_tasks: int
    per_task: pd.DataFrame = field(repr=False)
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        return (f"<ProbabilityOfImprovement P({self.x} > {self.y})={self.estimate:.3f} "
                f"[{self.ci_low:.3f}, {self.ci_high:.3f}] tasks={self.n_tasks}>")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: getattr(self, k) for k in ("x", "y", "estimate", "ci_low", "ci_high", "level", "n_tasks")}])

    def to_dict(self) -> dict[str, Any]:
        keys = ("x", "y", "metric", "direction", "estimate", "ci_low", "ci_high", "level", "reps", "seed", "n_tasks")
        out = {k: json_safe(getattr(self, k)) for k in keys}
        out["per_task"] = json_safe(self.per_task)
        out["provenance"] = self.provenance.to_dict()
        return out

    def summary(self) -> Summary:
        pct = round(self.level * 100)
        return Summary(title=f"Probability of improvement of {self.x} over {self.y}",
                       lines=[("metric", f"{self.metric} ({self.direction} is better)"), ("estimate", self.estimate),
                              (f"{pct}% CI", f"[{self.ci_low:.4f}, {self.ci_high:.4f}]"), ("tasks", self.n_tasks),
                              ("bootstrap", f"{self.reps} replicates, seed {self.seed}")],
                       tables=[("per task", self.per_task)], notes=list(self.provenance.warnings))


@dataclass(frozen=True, repr=False)
class PerformanceProfile:
    """Result of :func:`performance_profile`: ``table`` with ``arm, tau, estimate, ci_low, ci_high, level``."""

    metric: str
    direction: str
    kind: str
    level: float
    reps: int
    seed: int
    table: pd.DataFrame = field(repr=False)
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        return (f"<PerformanceProfile {self.metric} kind={self.kind} arms={self.table['arm'].nunique()} "
                f"taus={self.table['tau'].nunique()}>")

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "direction": self.direction, "kind": self.kind, "level": self.level,
                "reps": self.reps, "seed": self.seed, "profile": json_safe(self.table),
                "provenance": self.provenance.to_dict()}

    def summary(self) -> Summary:
        return Summary(title=f"Performance profile ({self.kind}) of {self.metric}",
                       lines=[("bootstrap", f"{self.reps} replicates, seed {self.seed}")],
                       tables=[("profile", self.table)], notes=list(self.provenance.warnings))

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Performance profiles with their bootstrap bands; ``options`` are the keywords of
        :func:`consilience.report.plots.profile_plot` (arms, legend)."""
        from consilience.report.plots import profile_plot

        return profile_plot(self, ax, **options)


def _comparison_operator(xs: ScoreSet, ys: ScoreSet, sign: float) -> tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray]:
    """Block-diagonal (Nx, Ny) matrix of 1 / 0.5 / 0 for x better / tied / worse, per task."""
    ix, iy = np.meshgrid(np.arange(xs.n), np.arange(ys.n), indexing="ij")
    same = xs.task_index[ix] == ys.task_index[iy]
    ix, iy = ix[same], iy[same]
    diff = sign * (xs.scores[ix] - ys.scores[iy])
    win = (diff > 0) + 0.5 * (diff == 0)
    p = sparse.csr_matrix((win, (ix, iy)), shape=(xs.n, ys.n))
    ind_y = sparse.csr_matrix((np.ones(ys.n), (np.arange(ys.n), ys.task_index)), shape=(ys.n, len(ys.tasks)))
    return p, ind_y, (xs.n_per_task * ys.n_per_task).astype(float)


def _setup(runs: Any, metric: str | None, arms: Sequence[str] | None, metrics: Mapping[str, MetricSpec] | None,
           cols: dict[str, str]) -> tuple[Any, dict[str, ScoreSet], list[str], str | None]:
    table = validate_runs(runs, metric=metric, arms=arms, metrics=metrics, **cols)
    use = list(arms) if arms is not None else table.arms
    frame, tasks, note = common_tasks(table, use)
    return table, score_sets(frame, tasks), tasks, note


def probability_of_improvement(
    runs: pd.DataFrame | str | Path,
    *,
    x: str,
    y: str,
    metric: str | None = None,
    reps: int = 2000,
    level: float = 95,
    seed: int = 0,
    metrics: Mapping[str, MetricSpec] | None = None,
    arm_col: str = "arm", task_col: str = "task", seed_col: str = "seed", metric_col: str = "metric",
    value_col: str = "value",
) -> ProbabilityOfImprovement:
    r"""Probability that a run of ``x`` beats a run of ``y`` on a task, averaged over tasks.

    Parameters
    ----------
    runs : DataFrame or path
        Tidy runs table; only tasks run by both arms are used.
    x, y : str
        The two arms.
    metric : str, optional
        Metric; may be omitted when the table holds one. Direction is honoured ("beats" means
        lower for lower-is-better metrics).
    reps, level, seed :
        Bootstrap replicates, confidence level, seed (see :func:`aggregate`).
    metrics, arm_col, task_col, seed_col, metric_col, value_col :
        As in :func:`aggregate`.

    Returns
    -------
    ProbabilityOfImprovement
        ``estimate, ci_low, ci_high`` and ``per_task`` (``task, estimate``).

    Notes
    -----
    Per task, :math:`P_t = \frac{1}{n_x n_y}\sum_{i,j}\left([x_i > y_j] + \tfrac12[x_i = y_j]\right)`
    (the Mann-Whitney :math:`U` of ``x`` over :math:`n_x n_y`), and the estimate is the mean over
    tasks. The interval resamples the runs of ``x`` and of ``y`` independently within each task
    (rliable's ``StratifiedIndependentBootstrap``).

    References
    ----------
    Agarwal, R. et al. (2021). Deep reinforcement learning at the edge of the statistical
    precipice. NeurIPS 34.

    Validated against: rliable 1.2.0 ``metrics.probability_of_improvement`` (exact) and its
    interval from ``library.get_interval_estimates`` (within Monte-Carlo error),
    ``tests/reference/rliable``.
    """
    lv, reps = check_level(level), check_reps(reps)
    if x == y:
        raise InputError(f"'x' and 'y' must differ; got {x!r} for both. Pass two different arms.")
    cols = column_options(arm_col, task_col, seed_col, metric_col, value_col)
    table, sets, tasks, note = _setup(runs, metric, [x, y], metrics, cols)
    xs, ys = sets[x], sets[y]
    p, ind_y, pairs = _comparison_operator(xs, ys, table.spec.sign)
    per_task_p = np.asarray(ind_y.T @ np.asarray(p.sum(axis=0)).ravel()).ravel() / pairs
    estimate = float(np.mean(per_task_p))

    rng = arm_generator(seed, f"{x}>{y}")
    values = []
    for cx in count_chunks(xs, reps, rng):
        cy = np.concatenate(list(count_chunks(ys, cx.shape[0], rng)), axis=0)
        z = np.asarray(p.T @ cx.T.astype(float)).T
        per = np.asarray((z * cy) @ ind_y) / pairs
        values.append(per.mean(axis=1))
    low, high = percentile_ci(np.concatenate(values), lv)
    provenance = Provenance(method="stratified-independent-bootstrap/percentile", k=len(tasks),
                            n_dropped=table.n_dropped, dropped_reason=table.dropped_reason,
                            warnings=tuple(w for w in (*table.warnings, note) if w),
                            options={"x": x, "y": y, "metric": table.metric, "reps": reps, "level": lv, "seed": seed},
                            input_hash=input_hash(table.frame))
    return ProbabilityOfImprovement(x=x, y=y, metric=table.metric, direction=table.spec.direction, estimate=estimate,
                                    ci_low=float(low), ci_high=float(high), level=lv, reps=reps, seed=int(seed),
                                    n_tasks=len(tasks), per_task=pd.DataFrame({"task": list(xs.tasks), "estimate": per_task_p}),
                                    provenance=provenance)


def performance_profile(
    runs: pd.DataFrame | str | Path,
    *,
    metric: str | None = None,
    arms: Sequence[str] | None = None,
    taus: Any = None,
    kind: ProfileKind = "runs",
    reps: int = 2000,
    level: float = 95,
    seed: int = 0,
    metrics: Mapping[str, MetricSpec] | None = None,
    arm_col: str = "arm", task_col: str = "task", seed_col: str = "seed", metric_col: str = "metric",
    value_col: str = "value",
) -> PerformanceProfile:
    r"""Performance profile: the fraction of runs (or tasks) scoring better than each threshold.

    Parameters
    ----------
    runs : DataFrame or path
        Tidy runs table; arms are profiled over the tasks they all ran.
    metric, arms : optional
        Metric and arms to profile.
    taus : array-like, optional
        Thresholds; default 101 points spanning the observed scores.
    kind : {"runs", "tasks"}
        ``"runs"``: score distribution over all runs and tasks (rliable's default);
        ``"tasks"``: distribution of per-task mean scores.
    reps, level, seed, metrics, arm_col, task_col, seed_col, metric_col, value_col :
        As in :func:`aggregate` (rliable uses 2,000 replicates for profiles).

    Returns
    -------
    PerformanceProfile
        ``table`` with columns ``arm, tau, estimate, ci_low, ci_high, level``.

    Notes
    -----
    ``runs``: :math:`F(\tau) = \frac1N\sum_{r,t}[x_{rt} > \tau]`; ``tasks``:
    :math:`\frac1T\sum_t[\bar x_t > \tau]`. For lower-is-better metrics ``>`` becomes ``<`` (the
    fraction doing better than :math:`\tau`). Intervals: stratified bootstrap percentiles.

    Validated against: rliable 1.2.0 ``library.create_performance_profile`` (point estimates
    exact; intervals within Monte-Carlo error), ``tests/reference/rliable``.
    """
    lv, reps = check_level(level), check_reps(reps)
    kind_c = check_choice("kind", kind, ("runs", "tasks"))
    cols = column_options(arm_col, task_col, seed_col, metric_col, value_col)
    table, sets, tasks, note = _setup(runs, metric, arms, metrics, cols)
    sign = table.spec.sign
    if taus is None:
        every = np.concatenate([s.scores for s in sets.values()])
        grid = np.linspace(every.min(), every.max(), 101)
    else:
        grid = as_float_vector("taus", taus)
    rows = []
    for arm, ss in sets.items():
        better = (ss.scores[:, None] > grid[None, :]) if sign > 0 else (ss.scores[:, None] < grid[None, :])
        if kind_c == "runs":
            point = better.mean(axis=0)
            op = better.astype(float) / ss.n
        else:
            means = np.mean(ss.matrix(), axis=0) if ss.balanced else np.nanmean(ss.matrix(), axis=0)
            point = ((means[:, None] > grid) if sign > 0 else (means[:, None] < grid)).mean(axis=0)
            op = sparse.csr_matrix((ss.scores / ss.n_per_task[ss.task_index], (np.arange(ss.n), ss.task_index)),
                                   shape=(ss.n, len(ss.tasks)))
        parts = []
        for counts in count_chunks(ss, reps, arm_generator(seed, arm)):
            c = counts.astype(float)
            if kind_c == "runs":
                parts.append(c @ op)
            else:
                tm = np.asarray(op.T @ c.T).T
                hit = (tm[:, :, None] > grid) if sign > 0 else (tm[:, :, None] < grid)
                parts.append(hit.mean(axis=1))
        low, high = percentile_ci(np.concatenate(parts, axis=0), lv)
        rows.append(pd.DataFrame({"arm": arm, "tau": grid, "estimate": point, "ci_low": low, "ci_high": high, "level": lv}))
    provenance = Provenance(method=f"performance-profile/{kind_c}", k=len(tasks), n_dropped=table.n_dropped,
                            dropped_reason=table.dropped_reason, warnings=tuple(w for w in (*table.warnings, note) if w),
                            options={"metric": table.metric, "kind": kind_c, "reps": reps, "level": lv, "seed": seed},
                            input_hash=input_hash(table.frame))
    return PerformanceProfile(metric=table.metric, direction=table.spec.direction, kind=kind_c, level=lv, reps=reps,
                              seed=int(seed), table=pd.concat(rows, ignore_index=True), provenance=provenance)
