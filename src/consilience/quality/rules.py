"""Automatic checklist judgements: what the recorded runs themselves say about risk of bias.

Each function takes evidence a registry (or any runs table) holds and returns an
:class:`~consilience.quality.checklist.ItemJudgement` with ``source="auto"``, a note that states
the evidence in words and the numbers in ``evidence``. Two items cannot be judged from runs at
all (:data:`NOT_AUTOMATIC`); they stay ``unknown`` until a person answers them. The rules are
listed with their thresholds in ``docs/risk_of_bias.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from consilience.design import power_proportions
from consilience.design.proportions import cohens_h
from consilience.quality.checklist import ItemJudgement

__all__ = [
    "EVAL_ALPHA",
    "EVAL_POWER",
    "MISSING_RUNS_HIGH",
    "NOT_AUTOMATIC",
    "SINGLE_RUN_HIGH",
    "TUNING_TOLERANCE",
    "judge_eval_size",
    "judge_preregistration",
    "judge_reporting",
    "judge_seeds",
    "judge_tuning",
    "not_judged",
    "required_eval_size",
]

TUNING_TOLERANCE = 0.10
"""Budgets within 10% of each other (relative to the larger) count as equal."""
EVAL_POWER = 0.8
"""Power an evaluation set must reach for ``min_effect``."""
EVAL_ALPHA = 0.05
"""Two-sided type-I error rate of that test."""
MISSING_RUNS_HIGH = 0.2
"""Share of planned runs missing above which ``reported`` is ``high``."""
SINGLE_RUN_HIGH = 0.1
"""Share of tasks with a single run in an arm above which ``seeds_randomised`` is ``high``."""

NOT_AUTOMATIC: dict[str, str] = {
    "test_set_untouched": "not recorded in the registry: check that hyper-parameters, "
    "checkpoints and early stopping were chosen on validation data only",
    "no_leakage": "not recorded in the registry: check for test items or near duplicates in "
    "the training and pre-training data, and for features computed on the test data",
}
"""The items the registry cannot judge, with what a reviewer has to check."""


def _auto(item: str, judgement: str, note: str, **evidence: object) -> ItemJudgement:
    return ItemJudgement(item, judgement, note, source="auto", evidence=evidence)


def not_judged(item: str) -> ItemJudgement:
    """``unknown``, with what to check, for an item in :data:`NOT_AUTOMATIC`."""
    return _auto(item, "unknown", NOT_AUTOMATIC[item])


def _done(runs: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    ok = runs["status"].astype(str).eq("complete") & runs["value"].notna()
    return runs.loc[ok & runs["arm"].isin(list(arms))]


def judge_seeds(runs: pd.DataFrame, *, baseline: str, candidate: str) -> ItemJudgement:
    """``seeds_randomised`` from the seeds each arm ran on each task.

    Parameters
    ----------
    runs : DataFrame
        The experiment's runs: ``arm, task, seed, status, value`` (every metric).
    baseline, candidate : str
        The two arms.

    Returns
    -------
    ItemJudgement
        ``high`` when more than :data:`SINGLE_RUN_HIGH` of the tasks have a single run in an arm
        (one draw of the random sources says nothing about their spread); ``some concerns`` when
        fewer do, or when the arms ran different seeds on some task (neither arm's seeds a
        subset of the other's: seeds may have been chosen per arm; a missing seed is a
        ``reported`` matter); ``low`` when every task has at least two seeds and the same seeds
        in both arms; ``unknown`` without complete runs. What a seed re-draws is not recorded:
        ``low`` assumes it re-draws every source of variation.

    Validated against: hand-built runs tables in ``tests/quality/test_rules.py``.
    """
    item = "seeds_randomised"
    done = _done(runs, [baseline, candidate])
    if done.empty:
        return _auto(item, "unknown", "no complete runs yet")
    units = done.drop_duplicates(["arm", "task", "seed"])
    per = units.groupby(["task", "arm"], observed=True).size().unstack("arm")
    per = per.reindex(columns=[baseline, candidate]).fillna(0)
    shared = per[(per > 0).all(axis=1)]
    n_tasks = len(shared)
    single = int((shared < 2).any(axis=1).sum())
    seeded = units.dropna(subset=["seed"])
    sets: dict[tuple[Any, Any], frozenset[Any]] = {
        (task, arm): frozenset(group["seed"].tolist())
        for (task, arm), group in seeded.groupby(["task", "arm"], observed=True)
    }
    differ = 0
    for task in shared.index:
        b, c = sets.get((task, baseline)), sets.get((task, candidate))
        if b is not None and c is not None and not (b <= c or c <= b):
            differ += 1
    evidence = {"tasks": n_tasks, "min_seeds": int(shared.min().min()) if n_tasks else 0,
                "max_seeds": int(shared.max().max()) if n_tasks else 0,
                "tasks_with_one_run": single, "tasks_with_different_seeds": differ}
    if n_tasks == 0:
        return _auto(item, "unknown", "no task has complete runs of both arms", **evidence)
    one_run = (f"{single} of {n_tasks} tasks have a single run in an arm: one draw of the "
               "random sources cannot show their spread")
    if single > SINGLE_RUN_HIGH * n_tasks:
        return _auto(item, "high", one_run, **evidence)
    if single or differ:
        words = [one_run] if single else []
        if differ:
            words.append(f"the arms ran different seeds on {differ} of {n_tasks} tasks: seeds "
                         "may have been chosen per arm")
        return _auto(item, "some concerns", "; ".join(words), **evidence)
    return _auto(item, "low", f"{evidence['min_seeds']}-{evidence['max_seeds']} seeds per arm "
                 f"on each of {n_tasks} tasks, the same seeds in both arms (assumes each seed "
                 "re-draws every source of variation; override if it does not)", **evidence)


def judge_tuning(
    baseline_budget: float | None, candidate_budget: float | None, *, source: str
) -> ItemJudgement:
    """``equal_tuning_budget`` from recorded tuning budgets (any unit, the same for both arms).

    Returns
    -------
    ItemJudgement
        ``unknown`` when either budget is missing; ``low`` when they differ by at most
        :data:`TUNING_TOLERANCE` of the larger; ``high`` when the candidate got more (the gain
        may be the extra tuning); ``some concerns`` when the baseline got more (a bias against
        the candidate, which still misleads a claim of equivalence).

    Validated against: the cases in ``tests/quality/test_rules.py``.
    """
    item = "equal_tuning_budget"
    if baseline_budget is None or candidate_budget is None:
        return _auto(item, "unknown", "no tuning budget recorded: add a 'tuning_budget' column "
                     "to the runs imported, or the moderators tuning_budget_baseline and "
                     "tuning_budget_candidate")
    b, c = float(baseline_budget), float(candidate_budget)
    evidence = {"baseline": b, "candidate": c, "source": source,
                "tolerance": TUNING_TOLERANCE}
    big = max(abs(b), abs(c))
    if big == 0 or abs(c - b) <= TUNING_TOLERANCE * big:
        return _auto(item, "low", f"tuning budgets {b:g} (baseline) and {c:g} (candidate) "
                     f"from {source}", **evidence)
    if c > b:
        return _auto(item, "high", f"the candidate was tuned with {c / b if b else math.inf:.3g}x "
                     f"the baseline's budget ({c:g} vs {b:g}, {source}): the gain may be the "
                     "extra tuning", **evidence)
    return _auto(item, "some concerns", f"the baseline was tuned with more budget ({b:g} vs "
                 f"{c:g}, {source}): biased against the candidate", **evidence)


def required_eval_size(p_baseline: np.ndarray, min_effect: float) -> np.ndarray:
    """Evaluation examples per arm that detect ``min_effect`` at each baseline accuracy.

    Uses :func:`consilience.design.power_proportions` once (at p = 0.5) and scales it by Cohen's
    h: the two-proportion z test's power depends on :math:`|h|\\sqrt{n}` only, so
    :math:`n(p) = n(0.5)\\,h(0.5)^2 / h(p)^2`. The change is ``+min_effect`` unless that leaves
    (0, 1), then ``-min_effect``.

    Validated against: :func:`consilience.design.power_proportions` at each p
    (``tests/quality/test_rules.py``).
    """
    d = float(min_effect)
    ref = power_proportions(effect=d, power=EVAL_POWER, baseline=0.5, alpha=EVAL_ALPHA)
    h_ref = abs(float(cohens_h(0.5 + d, 0.5)))
    p = np.clip(np.asarray(p_baseline, dtype=float), 1e-9, 1 - 1e-9)
    other = np.where(p + d < 1.0, p + d, p - d)
    h = np.abs(cohens_h(other, p))
    return np.asarray(float(ref.n) * (h_ref / h) ** 2, dtype=float)


def judge_eval_size(
    tasks: pd.DataFrame,
    *,
    min_effect: float | None,
    metric: str | None,
    planned_n_eval: int | None = None,
) -> ItemJudgement:
    """``eval_size_adequate``: are the evaluation sets large enough for the claimed effect?

    The claim of an experiment is its pooled effect over tasks, so the rule asks whether the
    test-set sampling noise of that pooled estimate lets it detect ``min_effect``: with equal
    task weights its variance is :math:`\\sum_t 2p_t(1-p_t)/n_t / k^2` (two independent
    evaluations per task, the conservative case) and the power is
    :math:`\\Phi(\\text{min\\_effect}/\\text{se} - z_{1-\\alpha/2})`. Seeds are counted as
    evaluations on one shared test set (the registry cannot tell whether a seed also redraws the
    split), so the rule errs towards concern. Per-task adequacy
    (:func:`required_eval_size`) is reported beside it: when no single task can detect the
    effect, per-task wins in the task table are mostly test-set noise.

    Parameters
    ----------
    tasks : DataFrame
        One row per task: ``task``, ``n_eval`` (examples evaluated; NaN if unknown) and
        ``p_baseline`` (the baseline's mean accuracy on it). May be empty (no runs yet).
    min_effect : float or None
        The experiment's smallest effect that matters, on the accuracy scale.
    metric : str or None
        The proportion metric the tasks describe (for the note).
    planned_n_eval : int, optional
        Used, with p = 0.5 (the largest variance), when no run records ``n_eval``.

    Returns
    -------
    ItemJudgement
        ``low`` when the pooled estimate's test-set noise alone leaves power >= 0.8 for
        ``min_effect`` (always the case when every task's ``n_eval`` reaches
        :func:`required_eval_size`); ``some concerns`` for power in [0.5, 0.8); ``high`` below;
        ``unknown`` without ``min_effect``, a proportion metric or any evaluation size.

    Validated against: :func:`consilience.design.power_proportions` through
    :func:`required_eval_size`, and the cases in ``tests/quality/test_rules.py``.
    """
    item = "eval_size_adequate"
    if min_effect is None or not math.isfinite(min_effect) or min_effect <= 0:
        return _auto(item, "unknown", "no min_effect recorded for the experiment: set one to "
                     "judge the evaluation size")
    if not 0 < min_effect < 0.5:
        return _auto(item, "unknown", f"min_effect {min_effect:g} is not a difference in "
                     "accuracy below 0.5; the evaluation size is judged for proportions only")
    frame = tasks.dropna(subset=["n_eval"]) if len(tasks) else tasks
    source = "runs"
    if frame.empty:
        if planned_n_eval is None:
            why = ("no proportion metric (accuracy, error) in the runs" if metric is None
                   else f"no n_eval recorded for {metric}")
            return _auto(item, "unknown", f"{why} and no planned_n_eval")
        frame = pd.DataFrame({"task": ["(planned)"], "n_eval": [float(planned_n_eval)],
                              "p_baseline": [0.5]})
        source = "planned_n_eval at p = 0.5"
    p = frame["p_baseline"].fillna(0.5).to_numpy(dtype=float)
    need = np.ceil(required_eval_size(p, min_effect) - 1e-9)
    have = frame["n_eval"].to_numpy(dtype=float)
    ok = have >= need
    share = float(ok.mean())
    k = len(frame)
    se_pooled = math.sqrt(float(np.sum(2 * p * (1 - p) / np.maximum(have, 1.0)))) / k
    z = float(stats.norm.ppf(1 - EVAL_ALPHA / 2))
    pooled_power = float(stats.norm.cdf(min_effect / se_pooled - z)) if se_pooled > 0 else 1.0
    evidence = {"metric": metric, "min_effect": min_effect, "power": EVAL_POWER,
                "alpha": EVAL_ALPHA, "tasks": k, "tasks_adequate": int(ok.sum()),
                "median_n_eval": float(np.median(have)),
                "median_n_required": float(np.median(need)), "pooled_se": se_pooled,
                "pooled_power": pooled_power, "source": source}
    words = (f"pooled over {k} task{'s' if k != 1 else ''}, test-set noise leaves power "
             f"{pooled_power:.2f} to detect {min_effect:g}; {int(ok.sum())} of {k} evaluation "
             f"sets reach the size that detects it alone (median {np.median(have):,.0f} "
             f"examples, {np.median(need):,.0f} needed; {source})")
    if share == 1.0 or pooled_power >= EVAL_POWER:
        if share < 0.5:
            words += ": per-task wins are mostly test-set noise, the pooled estimate is not"
        return _auto(item, "low", words, **evidence)
    if pooled_power >= 0.5:
        return _auto(item, "some concerns", words, **evidence)
    return _auto(item, "high", words + ": the claimed effect is within test-set noise",
                 **evidence)


def judge_preregistration(
    protocols: Sequence[tuple[str, datetime]], first_run_at: datetime | None
) -> ItemJudgement:
    """``preregistered`` from the locked protocols covering the experiment.

    Parameters
    ----------
    protocols : sequence of (name, locked_at)
        Locked protocols whose inclusion criteria select the experiment.
    first_run_at : datetime or None
        When its first run was imported (None: no runs yet).

    Returns
    -------
    ItemJudgement
        ``low`` when a protocol was locked before the first run was imported (or before any
        run); ``high`` when every covering protocol was locked afterwards (a plan written after
        results were available); ``some concerns`` when no protocol covers it.

    Validated against: the cases in ``tests/quality/test_rules.py``.
    """
    item = "preregistered"
    if not protocols:
        return _auto(item, "some concerns", "no locked protocol covers this experiment: its "
                     "metric, tasks and decision rule were not fixed in advance")
    ordered = sorted(protocols, key=lambda p: p[1])
    name, locked = ordered[0]
    evidence = {"protocols": [p[0] for p in ordered], "locked_at": locked.isoformat(),
                "first_run_at": None if first_run_at is None else first_run_at.isoformat()}
    if first_run_at is None or locked <= first_run_at:
        when = ("before any run" if first_run_at is None
                else f"before the first run was imported ({first_run_at:%Y-%m-%d %H:%M} UTC)")
        return _auto(item, "low", f"protocol {name!r} locked {locked:%Y-%m-%d %H:%M} UTC, "
                     f"{when}", **evidence)
    return _auto(item, "high", f"protocol {name!r} was locked {locked:%Y-%m-%d %H:%M} UTC, after "
                 f"the first run was imported ({first_run_at:%Y-%m-%d %H:%M} UTC): the plan may "
                 "have been written knowing the results", **evidence)


def judge_reporting(
    runs: pd.DataFrame,
    *,
    baseline: str,
    candidate: str,
    planned_seeds: int | None,
    status: str | None = None,
) -> ItemJudgement:
    """``reported``: is every planned run in the registry with a result?

    Parameters
    ----------
    runs : DataFrame
        The experiment's runs of every status: ``arm, task, seed, status, value``.
    baseline, candidate : str
    planned_seeds : int or None
        Seeds planned per arm and task; default: the most any arm ran on any task.
    status : str, optional
        The experiment's status (for the note).

    Returns
    -------
    ItemJudgement
        With planned runs = tasks (run by either arm) x 2 arms x planned seeds and missing =
        planned runs without a complete result: ``low`` when none is missing, ``some concerns``
        up to :data:`MISSING_RUNS_HIGH`, ``high`` above (failures, timeouts and unreported seeds
        are rarely missing at random); ``unknown`` without runs.

    Validated against: the cases in ``tests/quality/test_rules.py``.
    """
    item = "reported"
    mine = runs.loc[runs["arm"].isin([baseline, candidate])]
    if mine.empty:
        return _auto(item, "unknown", "no runs yet" + (f" (status {status})" if status else ""))
    units = mine.drop_duplicates(["arm", "task", "seed"])
    tasks = int(units["task"].nunique())
    done = _done(mine, [baseline, candidate]).drop_duplicates(["arm", "task", "seed"])
    most = int(units.groupby(["arm", "task"], observed=True).size().max())
    seeds = int(planned_seeds) if planned_seeds else most
    planned = tasks * 2 * seeds
    complete = int(min(len(done), planned))
    failed = int(len(units) - len(done))
    missing = 1.0 - complete / planned if planned else 0.0
    evidence = {"tasks": tasks, "seeds_planned": seeds, "runs_planned": planned,
                "runs_complete": complete, "runs_failed": failed, "missing_share": missing,
                "status": status}
    words = (f"{complete} of {planned} planned runs ({tasks} tasks x 2 arms x {seeds} seeds) "
             f"have a result; {failed} failed or were killed"
             + (f"; experiment {status}" if status else ""))
    if complete == planned:
        return _auto(item, "low", words, **evidence)
    if missing <= MISSING_RUNS_HIGH:
        return _auto(item, "some concerns", words, **evidence)
    return _auto(item, "high", words + f" ({missing:.0%} missing)", **evidence)
