"""Per-task effects: one effect size and sampling variance per task, from raw runs.

The design is chosen per task from the data: runs are *paired* by seed when both arms ran the
same seeds (two or more), *unpaired* otherwise, and *single* when each arm has one run. Direction
is applied here, once: a positive effect always means the candidate is better.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, cast

import numpy as np
import pandas as pd
from scipy import stats

from consilience._validation import check_choice, check_level
from consilience.compare.metrics import MetricSpec
from consilience.compare.runs import RunsTable, validate_runs
from consilience.errors import DataDroppedWarning, InputError

__all__ = ["DOMINANT_SHARE", "TASK_COLUMNS", "Measure", "TestVariance", "dominance_note", "task_effects"]

Measure = Literal["MD", "SMD", "ROM"]
TestVariance = Literal["auto", "off"]

TASK_COLUMNS = (
    "arm", "task", "design", "n_baseline", "n_candidate", "n_pairs", "mean_baseline", "mean_candidate",
    "sd_baseline", "sd_candidate", "yi", "vi", "se", "ci_low", "ci_high", "seed_variance", "test_variance",
    "test_variance_source",
)


def _run_level(frame: pd.DataFrame) -> pd.DataFrame:
    """Collapse per-item correctness rows to one accuracy per run (n_eval = number of items)."""
    if "item" not in frame.columns:
        return frame
    has_item = frame["item"].notna()
    if not has_item.any():
        return frame.drop(columns="item")
    items = frame.loc[has_item]
    runs = items.groupby(["arm", "task", "seed"], sort=False, observed=True)["value"].agg(["mean", "size"]).reset_index()
    runs = runs.rename(columns={"mean": "value", "size": "n_eval"})
    plain = frame.loc[~has_item].drop(columns="item")
    clash = plain.merge(runs[["arm", "task", "seed"]], on=["arm", "task", "seed"])
    if len(clash):
        first = clash.iloc[0]
        raise InputError(
            f"run {first['arm']}/{first['task']}/seed {first['seed']} has both per-item rows and a run-level row; "
            "give each run either per-item correctness (with 'item') or one aggregate value."
        )
    keep = ["arm", "task", "seed", "value"] + (["n_eval"] if "n_eval" in plain.columns else [])
    return pd.concat([plain[keep], runs], ignore_index=True)


def _item_variance(frame: pd.DataFrame, baseline: str, sign: float) -> pd.DataFrame:
    """McNemar-style variance of the paired difference in accuracy, per (candidate arm, task)."""
    items = frame.loc[frame["item"].notna()] if "item" in frame.columns else frame.iloc[0:0]
    if items.empty:
        return pd.DataFrame(columns=["arm", "task", "item_variance"])
    per_item = items.groupby(["arm", "task", "item"], sort=False, observed=True)["value"].mean().reset_index()
    base = per_item.loc[per_item["arm"] == baseline, ["task", "item", "value"]]
    cand = per_item.loc[per_item["arm"] != baseline]
    paired = cand.merge(base, on=["task", "item"], suffixes=("", "_b"))
    paired["d"] = sign * (paired["value"] - paired["value_b"])
    g = paired.groupby(["arm", "task"], sort=False, observed=True)["d"]
    out = (g.var(ddof=0) / g.size()).rename("item_variance").reset_index()
    return out


def _binomial_variance(p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """p(1-p)/n with p shrunk by half an item, (pn + 0.5)/(n + 1), so 0% and 100% keep a variance."""
    adj = (p * n + 0.5) / (n + 1.0)
    return np.asarray(adj * (1.0 - adj) / n, dtype=float)


def _check_effect_options(measure: str, test_variance: str, level: float) -> tuple[Measure, float]:
    """Validate ``measure``, ``test_variance`` and ``level``; return the canonical measure and level."""
    measure_c = check_choice("measure", measure, ("MD", "SMD", "ROM"))
    check_choice("test_variance", test_variance, ("auto", "off"))
    return cast(Measure, measure_c), check_level(level)


def _check_pair(baseline: str, candidate: str) -> None:
    if baseline == candidate:
        raise InputError(f"'baseline' and 'candidate' must differ; got {baseline!r} for both. "
                         "Pass the reference arm as baseline and the arm under test as candidate.")


DOMINANT_SHARE = 0.5
"""A task whose share of the pooled weight exceeds this gets a note (:func:`dominance_note`)."""


def dominance_note(tasks: pd.DataFrame, tau2: float) -> str | None:
    """A note when one task carries most of the random-effects weight ``1/(vi + tau²)``.

    The typical case is a task at the ceiling: both arms score the same on every seed (say 100%
    accuracy), so its variance is only the small test-set term and it can outweigh every other
    task together. The pooled estimate then mostly reports that one task; the note names it,
    its share and its variance, and suggests checking it or comparing without it.
    """
    vi = tasks["vi"].to_numpy(dtype=float)
    if vi.size < 2 or not np.isfinite(tau2):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        w = 1.0 / (vi + max(float(tau2), 0.0))
        share = w / np.nansum(w)
    if not np.isfinite(share).any():
        return None
    i = int(np.nanargmax(share))
    if not share[i] > DOMINANT_SHARE:
        return None
    row = tasks.iloc[i]
    seed_var = float(row["seed_variance"]) if "seed_variance" in tasks.columns else np.nan
    why = (", which is only its test-set variance: both arms scored the same on every seed"
           if seed_var == 0 and float(row.get("test_variance", 0.0)) > 0 else "")
    return (f"task {row['task']!r} carries {100 * share[i]:.0f}% of the pooled weight (variance "
            f"{vi[i]:.2g}{why}); the pooled estimate mostly reflects that one task. Check it, or "
            f"compare without it.")


def effects_from_table(
    table: RunsTable,
    *,
    baseline: str,
    candidates: Sequence[str],
    measure: Measure = "MD",
    level: float = 0.95,
    test_variance: TestVariance = "auto",
) -> tuple[pd.DataFrame, list[str]]:
    """Vectorised kernel behind :func:`task_effects` for many candidates against one baseline.

    Returns the per-task table (columns :data:`TASK_COLUMNS`) and the notes on dropped tasks.
    """
    spec: MetricSpec = table.spec
    sign = spec.sign
    raw = table.frame
    runs = _run_level(raw)
    runs = runs.loc[runs["arm"].isin([baseline, *candidates])]
    has_n_eval = "n_eval" in runs.columns
    if not has_n_eval:
        runs = runs.assign(n_eval=np.nan)

    by_arm = runs.groupby(["arm", "task"], sort=True, observed=True).agg(
        n=("value", "size"), mean=("value", "mean"), var=("value", "var"), n_eval=("n_eval", "mean")
    ).reset_index()
    base = by_arm.loc[by_arm["arm"] == baseline].drop(columns="arm")
    cand = by_arm.loc[by_arm["arm"] != baseline]
    merged = cand.merge(base, on="task", how="outer", suffixes=("_c", "_b"), indicator=True)

    notes: list[str] = []
    one_sided = (merged["_merge"] != "both").to_numpy()
    n_arm = cand.groupby("arm").size().reindex(list(candidates), fill_value=0)
    n_both = merged.loc[~one_sided].groupby("arm").size().reindex(list(candidates), fill_value=0)
    parts = []
    for arm in candidates:
        no_base, no_cand = int(n_arm[arm] - n_both[arm]), int(len(base) - n_both[arm])
        if no_base or no_cand:
            parts.append(f"{arm!r}: {no_base + no_cand} of {int(n_arm[arm]) + no_cand} tasks run by one arm only "
                         f"({no_cand} without {arm!r}, {no_base} without the baseline)")
    if parts:
        msg = "; ".join(parts) + " left out (an effect needs both arms)"
        warnings.warn(msg, DataDroppedWarning, stacklevel=3)
        notes.append(msg)
    t = merged.loc[~one_sided].drop(columns="_merge").reset_index(drop=True)
    if t.empty:
        raise InputError(
            f"no task has runs of both the baseline {baseline!r} and candidate(s) {list(candidates)}. "
            "Check the arm names and that both arms ran on the same tasks."
        )

    base_runs = runs.loc[runs["arm"] == baseline, ["task", "seed", "value"]]
    pairs = runs.loc[runs["arm"] != baseline, ["arm", "task", "seed", "value"]].merge(
        base_runs, on=["task", "seed"], suffixes=("", "_b"))
    pairs["d"] = sign * (pairs["value"] - pairs["value_b"])
    pstats = pairs.groupby(["arm", "task"], sort=False, observed=True)["d"].agg(
        n_pairs="size", mean_d="mean", var_d="var").reset_index()
    t = t.merge(pstats, on=["arm", "task"], how="left")
    t["n_pairs"] = t["n_pairs"].fillna(0).astype(int)

    n_c, n_b = t["n_c"].to_numpy(dtype=float), t["n_b"].to_numpy(dtype=float)
    single = (n_c == 1) & (n_b == 1)
    paired = (t["n_pairs"].to_numpy() == n_c) & (n_c == n_b) & (n_c >= 2)
    if measure != "MD":
        paired[:] = False
    design = np.where(single, "single", np.where(paired, "paired", "unpaired"))

    var_c, var_b = t["var_c"].to_numpy(dtype=float), t["var_b"].to_numpy(dtype=float)
    # An arm with one run borrows the other arm's run-to-run variance (equal-variance assumption).
    var_c = np.where(n_c == 1, var_b, var_c)
    var_b = np.where(n_b == 1, var_c, var_b)
    seed_var = np.where(paired, t["var_d"].to_numpy(dtype=float) / np.maximum(n_c, 1), var_c / n_c + var_b / n_b)
    seed_var = np.where(single, 0.0, seed_var)
    yi = np.where(paired, t["mean_d"].to_numpy(dtype=float), sign * (t["mean_c"] - t["mean_b"]).to_numpy(dtype=float))

    p_c, p_b = t["mean_c"].to_numpy(dtype=float), t["mean_b"].to_numpy(dtype=float)
    binom = _binomial_variance(p_c, t["n_eval_c"].to_numpy(dtype=float)) + _binomial_variance(
        p_b, t["n_eval_b"].to_numpy(dtype=float))
    use_test = spec.kind == "proportion" and test_variance == "auto" and measure == "MD"
    item_var = t[["arm", "task"]].merge(_item_variance(raw, baseline, sign), on=["arm", "task"],
                                        how="left")["item_variance"].to_numpy(dtype=float)
    if use_test:
        test_var = np.where(np.isfinite(item_var), item_var, binom)
        source = np.where(np.isfinite(item_var), "items", np.where(np.isfinite(binom), "binomial", "none"))
    else:
        test_var = np.full(len(t), np.nan)
        source = np.full(len(t), "none")
    test_var = np.where(np.isfinite(test_var), test_var, 0.0)

    if measure == "MD":
        vi = seed_var + test_var
    else:
        from consilience.effects import (
            effect_sizes,  # deferred: the effects layer is heavier to import
        )

        es = effect_sizes(measure, m1i=p_c, sd1i=np.sqrt(var_c), n1i=n_c, m2i=p_b, sd2i=np.sqrt(var_b), n2i=n_b)
        yi = sign * es["yi"].to_numpy(dtype=float)
        vi = es["vi"].to_numpy(dtype=float)
        seed_var = vi.copy()

    no_variance = single & (source == "none")
    if no_variance.any():
        tasks = sorted(set(t.loc[no_variance, "task"]))
        raise InputError(
            f"task(s) {tasks[:5]}{' and more' if len(tasks) > 5 else ''} have one run per arm and no test-set "
            f"variance (metric {table.metric!r}, kind {spec.kind!r}, measure {measure!r}): the effect has no "
            "variance. Run more seeds, or give 'n_eval' (test-set size) for a proportion metric with measure 'MD'."
        )
    zero = np.isfinite(vi) & (vi <= 0)
    if zero.any():
        tasks = sorted(set(t.loc[zero, "task"]))
        raise InputError(
            f"task(s) {tasks[:5]} have zero variance (every run identical in both arms). A meta-analysis cannot "
            "weight them; give 'n_eval' for a proportion metric, or leave these tasks out."
        )

    se = np.sqrt(vi)
    z = stats.norm.isf((1 - level) / 2)
    out = pd.DataFrame({
        "arm": t["arm"].astype(str).to_numpy(), "task": t["task"].astype(str).to_numpy(), "design": design,
        "n_baseline": n_b.astype(int), "n_candidate": n_c.astype(int), "n_pairs": t["n_pairs"].to_numpy(),
        "mean_baseline": p_b, "mean_candidate": p_c,
        "sd_baseline": np.sqrt(t["var_b"].to_numpy(dtype=float)), "sd_candidate": np.sqrt(t["var_c"].to_numpy(dtype=float)),
        "yi": yi, "vi": vi, "se": se, "ci_low": yi - z * se, "ci_high": yi + z * se,
        "seed_variance": seed_var, "test_variance": test_var, "test_variance_source": source,
    })
    return out.sort_values(["arm", "task"], kind="stable").reset_index(drop=True), notes


def task_effects(
    runs: pd.DataFrame | str | Path,
    *,
    baseline: str,
    candidate: str,
    metric: str | None = None,
    measure: Measure = "MD",
    level: float = 95,
    test_variance: TestVariance = "auto",
    metrics: Mapping[str, MetricSpec] | None = None,
    arm_col: str = "arm",
    task_col: str = "task",
    seed_col: str = "seed",
    metric_col: str = "metric",
    value_col: str = "value",
) -> pd.DataFrame:
    r"""Per-task effect of ``candidate`` over ``baseline`` with its sampling variance.

    Parameters
    ----------
    runs : DataFrame or path
        Tidy runs table (see :func:`~consilience.compare.runs.validate_runs`).
    baseline, candidate : str
        The two arms.
    metric : str, optional
        Metric to compare; may be omitted when the table holds one.
    measure : {"MD", "SMD", "ROM"}
        Raw mean difference (default), standardised mean difference (Hedges' g) or log ratio of
        means, the last two computed by :func:`consilience.effects.effect_sizes`.
    level : float
        Level of the per-task confidence intervals (normal quantile), percent or fraction.
    test_variance : {"auto", "off"}
        ``"auto"`` adds the test-set sampling variance for proportion metrics with ``n_eval`` or
        per-item rows (measure MD only); ``"off"`` keeps the seed variance alone.
    metrics : mapping, optional
        :class:`~consilience.compare.metrics.MetricSpec` overrides.
    arm_col, task_col, seed_col, metric_col, value_col : str
        Names of the core columns in ``runs``.

    Returns
    -------
    DataFrame
        One row per task, sorted by task, with columns

        - ``arm``: the candidate arm; ``task``: the task;
        - ``design``: ``paired`` (same seeds, two or more), ``unpaired`` or ``single`` (one run
          per arm);
        - ``n_baseline``, ``n_candidate``: runs per arm; ``n_pairs``: runs matched by seed;
        - ``mean_baseline``, ``mean_candidate``, ``sd_baseline``, ``sd_candidate``: per-arm mean
          and standard deviation (ddof 1; NaN for one run) of the metric on its own scale;
        - ``yi``: effect, positive = candidate better; ``vi``: its sampling variance; ``se``;
        - ``ci_low``, ``ci_high``: the task's normal-theory interval at ``level``;
        - ``seed_variance``, ``test_variance``: the two parts of ``vi`` (for SMD/ROM ``vi`` is
          all seed variance);
        - ``test_variance_source``: ``items``, ``binomial`` or ``none``.

    Raises
    ------
    InputError
        Invalid runs (see ``validate_runs``); no task with both arms; a task with one run per
        arm and no test-set variance; a task whose variance is zero.

    Warns
    -----
    DataDroppedWarning
        Tasks run by only one of the two arms, counted.

    Notes
    -----
    With sign :math:`s = +1` (higher is better) or :math:`-1`, per task:

    - paired (seeds :math:`j = 1..n` shared): :math:`d_j = s(x^{C}_j - x^{B}_j)`,
      :math:`y = \bar d`, :math:`v_{seed} = \mathrm{var}(d)/n`;
    - unpaired: :math:`y = s(\bar x^C - \bar x^B)`,
      :math:`v_{seed} = s_C^2/n_C + s_B^2/n_B`; an arm with one run borrows the other arm's
      :math:`s^2`;
    - test-set variance (proportion metrics, MD): :math:`p_C(1-p_C)/N_C + p_B(1-p_B)/N_B`
      with arm means :math:`p` and test-set sizes :math:`N` = ``n_eval``, where
      :math:`p` is shrunk by half an item, :math:`(pN + 0.5)/(N + 1)`, so that an arm at 0% or
      100% keeps a positive variance (the usual 0.5 correction for empty cells); with per-item
      correctness :math:`c_{ai}` (averaged over seeds) the paired McNemar-style variance
      :math:`\frac{1}{N}\,\mathrm{var}_0(s(c_{Ci} - c_{Bi}))`, which equals
      :math:`[(p_{10} + p_{01}) - (p_{10} - p_{01})^2]/N` for single runs;
    - :math:`v = v_{seed} + v_{test}`; seed noise (training) and test-set noise (which items
      were drawn) are independent sources (Bouthillier et al., 2021). The binomial term treats
      the arms' test sets as independent, which is conservative when they share one.

    References
    ----------
    Bouthillier, X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys.
    McNemar, Q. (1947). Note on the sampling error of the difference between correlated
    proportions or percentages. Psychometrika, 12(2), 153-157.

    Validated against: numpy/pandas closed forms in ``tests/compare/test_task_effects.py`` and
    metafor's ``escalc`` via :func:`consilience.effects.effect_sizes` (SMD, ROM).
    """
    measure_c, lv = _check_effect_options(measure, test_variance, level)
    _check_pair(baseline, candidate)
    table = validate_runs(runs, metric=metric, arms=[baseline, candidate], metrics=metrics, arm_col=arm_col,
                          task_col=task_col, seed_col=seed_col, metric_col=metric_col, value_col=value_col)
    frame, _ = effects_from_table(table, baseline=baseline, candidates=[candidate], measure=measure_c,
                                  level=lv, test_variance=test_variance)
    return frame
