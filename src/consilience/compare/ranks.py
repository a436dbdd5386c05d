"""Many models on many tasks: Friedman test, Nemenyi critical difference, pairwise Wilcoxon-Holm."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from consilience._results import Provenance, Summary, input_hash, json_safe
from consilience.compare.metrics import MetricSpec
from consilience.compare.multiple_testing import adjust_p_values
from consilience.compare.runs import validate_runs
from consilience.errors import DataDroppedWarning, InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["RankTests", "block_design", "rank_tests"]


@dataclass(frozen=True, repr=False)
class RankTests:
    """Result of :func:`rank_tests`.

    Attributes
    ----------
    metric, direction : str
    alpha : float
        Significance level of the critical difference and of the Holm-adjusted decisions.
    n_tasks, n_arms : int
        Blocks (tasks) and treatments (arms).
    statistic, df, p_value : float
        Friedman chi-square statistic (tie-corrected), its degrees of freedom (arms - 1) and p-value.
    cd : float
        Nemenyi critical difference of average ranks at ``alpha``.
    ranks : DataFrame
        ``arm, mean_rank, median, mean`` (rank 1 = best), best first.
    pairwise : DataFrame
        ``arm_a, arm_b, rank_difference, p_nemenyi, nemenyi_significant, statistic, p_value,
        p_holm, holm_significant, better``.
    blocks : DataFrame
        The tasks x arms table of per-task mean scores that was ranked.
    provenance : Provenance
    """

    metric: str
    direction: str
    alpha: float
    n_tasks: int
    n_arms: int
    statistic: float
    df: int
    p_value: float
    cd: float
    ranks: pd.DataFrame = field(repr=False)
    pairwise: pd.DataFrame = field(repr=False)
    blocks: pd.DataFrame = field(repr=False)
    provenance: Provenance = field(repr=False)

    def __repr__(self) -> str:
        return (f"<RankTests {self.metric} arms={self.n_arms} tasks={self.n_tasks} friedman p={self.p_value:.3g} "
                f"cd={self.cd:.3f} best={self.ranks['arm'].iloc[0]!r}>")

    def to_frame(self) -> pd.DataFrame:
        return self.ranks.copy()

    def to_dict(self) -> dict[str, Any]:
        keys = ("metric", "direction", "alpha", "n_tasks", "n_arms", "statistic", "df", "p_value", "cd")
        out = {k: json_safe(getattr(self, k)) for k in keys}
        out["ranks"] = json_safe(self.ranks)
        out["pairwise"] = json_safe(self.pairwise)
        out["provenance"] = self.provenance.to_dict()
        return out

    def summary(self) -> Summary:
        return Summary(
            title=f"Rank tests on {self.metric} ({self.n_arms} arms, {self.n_tasks} tasks)",
            lines=[("Friedman chi2", f"{self.statistic:.4f} (df = {self.df}, p = {self.p_value:.4g})"),
                   (f"Nemenyi CD (alpha {self.alpha})", self.cd)],
            tables=[("average ranks (1 = best)", self.ranks),
                    ("pairwise", self.pairwise[["arm_a", "arm_b", "rank_difference", "nemenyi_significant",
                                                "p_holm", "holm_significant", "better"]])],
            notes=list(self.provenance.warnings))

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Critical-difference diagram; ``options`` are the keywords of
        :func:`consilience.report.plots.critical_difference_plot` (test, digits)."""
        from consilience.report.plots import critical_difference_plot

        return critical_difference_plot(self, ax, **options)


def block_design(frame: pd.DataFrame, arms: Sequence[str]) -> tuple[pd.DataFrame, str | None]:
    """Tasks x arms table of mean scores over seeds; tasks missing an arm are left out."""
    wide = frame.pivot_table(index="task", columns="arm", values="value", aggfunc="mean", observed=True)
    wide = wide.reindex(columns=list(arms))
    complete = wide.notna().all(axis=1)
    note = None
    if not complete.all():
        note = f"{int((~complete).sum())} of {len(wide)} tasks without runs of every arm left out"
        warnings.warn(note, DataDroppedWarning, stacklevel=3)
    return wide.loc[complete], note


def rank_tests(
    runs: pd.DataFrame | str | Path,
    *,
    metric: str | None = None,
    arms: Sequence[str] | None = None,
    alpha: float = 0.05,
    metrics: Mapping[str, MetricSpec] | None = None,
    arm_col: str = "arm", task_col: str = "task", seed_col: str = "seed", metric_col: str = "metric",
    value_col: str = "value",
) -> RankTests:
    r"""Friedman test, Nemenyi critical difference and pairwise Wilcoxon signed-rank tests with Holm.

    Parameters
    ----------
    runs : DataFrame or path
        Tidy runs table. Each task is one block; an arm's score on a task is its mean over seeds.
    metric : str, optional
        Metric; may be omitted when the table holds one. Ranks follow its direction (rank 1 =
        best).
    arms : sequence of str, optional
        Arms to compare (default all; at least three for the Friedman test).
    alpha : float, default 0.05
        Significance level of the critical difference and the Holm decisions.
    metrics, arm_col, task_col, seed_col, metric_col, value_col :
        As in :func:`~consilience.compare.comparison.compare`.

    Returns
    -------
    RankTests
        Friedman ``statistic, df, p_value``, Nemenyi ``cd``, ``ranks`` (``arm, mean_rank, median,
        mean``) and ``pairwise`` with columns

        - ``arm_a``, ``arm_b``: the pair (``arm_a`` ranked better on average);
        - ``rank_difference``: difference of average ranks (positive);
        - ``p_nemenyi``: Nemenyi p-value, :math:`P(Q_{k,\infty} > \sqrt2\,|\Delta R|/\sqrt{k(k+1)/(6N)})`;
        - ``nemenyi_significant``: ``rank_difference > cd``;
        - ``statistic``, ``p_value``: two-sided Wilcoxon signed-rank test on the paired task scores
          (scipy defaults: zero differences dropped, exact distribution for small samples); a
          pair with identical scores on every task gets ``p_value`` 1 and ``statistic`` NaN;
        - ``p_holm``, ``holm_significant``: Holm-adjusted over all pairs, and ``p_holm < alpha``;
        - ``better``: the arm with the better median paired difference (``None`` when it is 0).

    Raises
    ------
    InputError
        Fewer than three arms or two complete tasks.

    Notes
    -----
    With :math:`N` tasks, :math:`k` arms and average ranks :math:`R_j` (ties get average
    ranks),

    .. math:: \chi^2_F = \frac{12N}{k(k+1)}\sum_j \left(R_j - \frac{k+1}{2}\right)^2 \Big/
              \left(1 - \frac{\sum (t^3 - t)}{N k (k^2 - 1)}\right),

    on :math:`k - 1` df, and :math:`CD = q_{\alpha}(k, \infty)\sqrt{k(k+1)/(12N)}` with
    :math:`q` the studentized range quantile (Demšar, 2006). Benavoli et al. (2016) show that
    mean-rank post-hoc tests depend on which other arms are compared and recommend pairwise
    Wilcoxon signed-rank tests with Holm's correction, which are reported alongside.

    References
    ----------
    Demšar, J. (2006). Statistical comparisons of classifiers over multiple data sets. JMLR 7, 1-30.
    Benavoli, A., Corani, G. and Mangili, F. (2016). Should we really use post-hoc tests based on
    mean-ranks? JMLR 17(5), 1-10.

    Validated against: scipy 1.17 ``friedmanchisquare``, ``wilcoxon`` with statsmodels
    ``multipletests(method="holm")``, and autorank 1.3.0 (mean ranks, Friedman p-value, CD),
    ``tests/reference/autorank``.
    """
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise InputError(f"The 'alpha' parameter must be a number in (0, 1). Got {alpha!r} instead. "
                         "Pass e.g. alpha=0.05.")
    table = validate_runs(runs, metric=metric, arms=arms, metrics=metrics, arm_col=arm_col, task_col=task_col,
                          seed_col=seed_col, metric_col=metric_col, value_col=value_col)
    use = list(arms) if arms is not None else table.arms
    if len(use) < 3:
        raise InputError(f"rank tests need at least three arms; got {use}. Use compare() for two arms.")
    blocks, note = block_design(table.frame, use)
    n, k = blocks.shape
    if n < 2:
        raise InputError(f"rank tests need at least two tasks run by every arm; got {n}. Select arms that share tasks.")
    sign = table.spec.sign
    x = blocks.to_numpy(dtype=float)
    r = stats.rankdata(-sign * x, axis=1)
    mean_rank = r.mean(axis=0)

    _, tie_counts = np.unique(np.column_stack([np.repeat(np.arange(n), k), r.ravel()]), axis=0, return_counts=True)
    ties = float(np.sum(tie_counts.astype(float) ** 3 - tie_counts))
    correction = 1.0 - ties / (n * k * (k * k - 1.0))
    chi2 = 12.0 * n / (k * (k + 1.0)) * np.sum((mean_rank - (k + 1.0) / 2.0) ** 2) / correction
    p_friedman = float(stats.chi2.sf(chi2, k - 1))
    se_rank = np.sqrt(k * (k + 1.0) / (12.0 * n))
    cd = float(stats.studentized_range.ppf(1 - alpha, k, np.inf) * se_rank)

    ia, ib = np.triu_indices(k, 1)
    swap = mean_rank[ia] > mean_rank[ib]
    a = np.where(swap, ib, ia)
    b = np.where(swap, ia, ib)
    diff = mean_rank[b] - mean_rank[a]
    p_nem = np.asarray(stats.studentized_range.sf(diff / se_rank, k, np.inf), dtype=float)
    d = sign * (x[:, a] - x[:, b])
    # A pair whose scores are identical on every task has no signed ranks: p = 1, statistic NaN.
    informative = np.any(d != 0, axis=0)
    w_stat = np.full(d.shape[1], np.nan)
    p_w = np.ones(d.shape[1])
    if informative.any():
        w = stats.wilcoxon(d[:, informative], axis=0)
        w_stat[informative] = w.statistic
        p_w[informative] = w.pvalue
    p_holm = adjust_p_values(p_w, method="holm")
    med = np.median(d, axis=0)
    names = np.asarray(use, dtype=object)
    better = np.where(med > 0, names[a], np.where(med < 0, names[b], np.full(med.shape, None, dtype=object)))
    pairwise = pd.DataFrame({
        "arm_a": names[a], "arm_b": names[b], "rank_difference": diff, "p_nemenyi": np.minimum(p_nem, 1.0),
        "nemenyi_significant": diff > cd, "statistic": w_stat,
        "p_value": p_w, "p_holm": p_holm, "holm_significant": p_holm < alpha, "better": better,
    }).sort_values("rank_difference", ascending=False, kind="stable").reset_index(drop=True)
    ranks = pd.DataFrame({"arm": use, "mean_rank": mean_rank, "median": np.median(x, axis=0), "mean": x.mean(axis=0)})
    ranks = ranks.sort_values("mean_rank", kind="stable").reset_index(drop=True)
    provenance = Provenance(method="friedman/nemenyi/wilcoxon-holm", k=n, n_dropped=table.n_dropped,
                            dropped_reason=table.dropped_reason, warnings=tuple(v for v in (*table.warnings, note) if v),
                            options={"metric": table.metric, "arms": use, "alpha": alpha},
                            input_hash=input_hash(blocks.reset_index()))
    return RankTests(metric=table.metric, direction=table.spec.direction, alpha=alpha, n_tasks=n, n_arms=k,
                     statistic=float(chi2), df=k - 1, p_value=p_friedman, cd=cd, ranks=ranks, pairwise=pairwise,
                     blocks=blocks, provenance=provenance)
