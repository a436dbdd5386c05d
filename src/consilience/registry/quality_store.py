"""Risk-of-bias judgements in the registry: a person's answers, the registry's own, and the table.

Every judgement is a row of ``risk_of_bias``: experiment, item, judgement, note, evidence and
its source, ``manual`` (a person, :func:`assess`) or ``auto`` (the registry from its evidence,
:func:`auto_assess`). Both are kept; a person's judgement wins over the automatic one for the
same item, so re-running :func:`auto_assess` after new runs never overwrites a reviewer. Every
write is in the audit log (``quality.assess``, ``quality.auto``).

The checklist, its rule and the automatic rules are in :mod:`consilience.quality` and
``docs/risk_of_bias.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consilience._results import json_safe
from consilience.compare.metrics import resolve_metric
from consilience.errors import InputError
from consilience.quality.checklist import (
    ITEMS,
    ItemJudgement,
    RiskOfBias,
    parse_answers,
)
from consilience.quality.rules import (
    judge_eval_size,
    judge_preregistration,
    judge_reporting,
    judge_seeds,
    judge_tuning,
    not_judged,
)
from consilience.registry import experiments as _exp
from consilience.registry.analysis import experiment_arms, protocol_runs
from consilience.registry.models import Experiment, RiskOfBiasJudgement, Run, utcnow

if TYPE_CHECKING:
    from consilience.registry.store import Registry

__all__ = [
    "RISK_COLUMNS",
    "assess",
    "assessment",
    "auto_assess",
    "auto_judgements",
    "overall_risk",
    "risk_of_bias",
]

RISK_COLUMNS: tuple[str, ...] = (
    "experiment", "status", "overall", *ITEMS, *(f"{i}_note" for i in ITEMS), "manual_items",
    "assessed_at",
)
"""Columns of :func:`risk_of_bias`."""


def _item(row: RiskOfBiasJudgement) -> ItemJudgement:
    return ItemJudgement(
        item=row.item,
        judgement=row.judgement,
        note=row.note,
        source=row.source,
        evidence=dict(row.evidence or {}),
        assessed_by=row.assessed_by,
        assessed_at=row.assessed_at,
    )


def _effective(rows: Sequence[RiskOfBiasJudgement]) -> list[ItemJudgement]:
    """Per item, the manual judgement if there is one, else the automatic one."""
    best: dict[str, RiskOfBiasJudgement] = {}
    for row in rows:
        if row.item not in best or row.source == "manual":
            best[row.item] = row
    return [_item(r) for r in best.values() if r.item in ITEMS]


def _store(
    session: Session, exp_id: int, judged: Sequence[ItemJudgement], *, source: str, actor: str
) -> None:
    existing = {
        r.item: r
        for r in session.scalars(
            select(RiskOfBiasJudgement).where(
                RiskOfBiasJudgement.experiment_id == exp_id,
                RiskOfBiasJudgement.source == source,
            )
        )
    }
    now = utcnow()
    for j in judged:
        row = existing.get(j.item)
        if row is None:
            row = RiskOfBiasJudgement(experiment_id=exp_id, item=j.item, source=source)
            session.add(row)
        row.judgement = j.judgement
        row.note = j.note
        row.evidence = json_safe(dict(j.evidence))
        row.assessed_by = actor
        row.assessed_at = now
    session.flush()


def _read(session: Session, exp_id: int) -> list[RiskOfBiasJudgement]:
    return list(
        session.scalars(
            select(RiskOfBiasJudgement).where(RiskOfBiasJudgement.experiment_id == exp_id)
        )
    )


def assess(
    registry: Registry,
    experiment: str,
    answers: Mapping[str, str | Sequence[str | None]],
    *,
    actor: str | None = None,
) -> RiskOfBias:
    """Record a person's checklist judgements for an experiment.

    Parameters
    ----------
    registry : Registry
    experiment : str
        A registered experiment.
    answers : mapping
        ``{item: (judgement, note)}`` or ``{item: judgement}``; items of
        :data:`~consilience.quality.checklist.ITEMS`, judgements ``low``, ``some concerns``,
        ``high`` or ``unknown``. Items not given keep their earlier judgements.
    actor : str, optional
        Who judged (default: the registry's actor).

    Returns
    -------
    RiskOfBias
        The experiment's checklist after the change (manual judgements over automatic ones).
    """
    parsed = parse_answers(answers)
    who = actor or registry.actor
    judged = [ItemJudgement(i, j, n, source="manual") for i, (j, n) in parsed.items()]
    with registry._write() as s:
        exp = _exp.get_experiment(s, experiment)
        _store(s, exp.id, judged, source="manual", actor=who)
        registry._audit(s, "quality.assess", experiment,
                        {"by": who, "items": {i: {"judgement": j, "note": n}
                                              for i, (j, n) in parsed.items()}})
        rows = _read(s, exp.id)
    return RiskOfBias.from_items(experiment, _effective(rows))


def assessment(registry: Registry, experiment: str) -> RiskOfBias:
    """The stored checklist of one experiment (``unknown`` for items never judged)."""
    with registry._read() as s:
        exp = _exp.get_experiment(s, experiment)
        rows = _read(s, exp.id)
    return RiskOfBias.from_items(experiment, _effective(rows))


def _tuning(session: Session, exp: Experiment, base: str, cand: str) -> ItemJudgement:
    budgets: dict[str, list[float]] = {base: [], cand: []}
    stmt = select(Run.arm, Run.extra).where(Run.experiment_id == exp.id)
    for arm, extra in session.execute(stmt):
        value = (extra or {}).get("tuning_budget")
        if arm in budgets and isinstance(value, (int, float)) and np.isfinite(value):
            budgets[arm].append(float(value))
    if budgets[base] and budgets[cand]:
        return judge_tuning(float(np.mean(budgets[base])), float(np.mean(budgets[cand])),
                            source="the runs' tuning_budget")
    mods = dict(exp.moderators or {})
    b, c = mods.get("tuning_budget_baseline"), mods.get("tuning_budget_candidate")
    try:
        pair = (float(b), float(c)) if b is not None and c is not None else (None, None)
    except (TypeError, ValueError):
        pair = (None, None)
    return judge_tuning(*pair, source="the experiment's moderators")


def _eval_tasks(runs: pd.DataFrame, base: str) -> tuple[pd.DataFrame, str | None]:
    metric = None
    for name in sorted(set(runs["metric"])):
        try:
            if resolve_metric(name).kind == "proportion":
                metric = name
                break
        except InputError:
            continue
    cols = ["task", "n_eval", "p_baseline"]
    if metric is None:
        return pd.DataFrame(columns=cols), None
    done = runs.loc[(runs["metric"] == metric) & (runs["status"] == "complete")
                    & runs["value"].notna()]
    if done.empty:
        return pd.DataFrame(columns=cols), metric
    n_eval = done.groupby("task")["n_eval"].min().astype(float)
    p = done.loc[done["arm"] == base].groupby("task")["value"].mean()
    out = pd.DataFrame({"n_eval": n_eval, "p_baseline": p.reindex(n_eval.index)})
    return out.rename_axis("task").reset_index()[cols], metric


def _covering_protocols(registry: Registry, experiment: str) -> list[tuple[str, datetime]]:
    out = []
    for name in registry.protocols()["name"]:
        record = registry.protocol(str(name))
        listed = (record.spec.get("inclusion") or {}).get("experiments") or []
        if experiment in listed or experiment in set(protocol_runs(registry, record.spec)[
                "experiment"]):
            out.append((record.name, record.locked_at))
    return out


def auto_judgements(registry: Registry, experiment: str) -> list[ItemJudgement]:
    """What the registry can judge by itself about ``experiment``, without storing it.

    Returns
    -------
    list of ItemJudgement
        All seven items (``source="auto"``): seeds, tuning budgets, evaluation size, protocol
        timing and reporting from the evidence (see :mod:`consilience.quality.rules`);
        ``test_set_untouched`` and ``no_leakage`` as ``unknown`` with what to check.
    """
    record = registry.experiment(experiment)
    runs = registry.runs(experiment)
    try:
        base, cand = experiment_arms(runs, experiment, record.baseline) if len(runs) else ("", "")
        arms_error = None if len(runs) else "no runs yet"
    except InputError as exc:
        base, cand, arms_error = "", "", str(exc)
    with registry._read() as s:
        exp = _exp.get_experiment(s, experiment)
        first = s.scalar(select(func.min(Run.imported_at)).where(Run.experiment_id == exp.id))
        if arms_error is None:
            tuning = _tuning(s, exp, base, cand)
            seeds = judge_seeds(runs, baseline=base, candidate=cand)
            reported = judge_reporting(runs, baseline=base, candidate=cand,
                                       planned_seeds=record.planned_seeds, status=record.status)
        else:
            tuning, seeds, reported = (
                ItemJudgement(item, "unknown", arms_error, source="auto")
                for item in ("equal_tuning_budget", "seeds_randomised", "reported")
            )
    tasks, metric = _eval_tasks(runs, base) if len(runs) else (
        pd.DataFrame(columns=["task", "n_eval", "p_baseline"]), None)
    size = judge_eval_size(tasks, min_effect=record.min_effect, metric=metric,
                           planned_n_eval=record.planned_n_eval)
    prereg = judge_preregistration(_covering_protocols(registry, experiment), first)
    found = {j.item: j for j in (seeds, tuning, size, prereg, reported)}
    return [found.get(item) or not_judged(item) for item in ITEMS]


def auto_assess(registry: Registry, experiment: str) -> RiskOfBias:
    """Judge what the registry can judge by itself and store it (``source="auto"``).

    Re-running replaces the earlier automatic judgements; a person's judgements (from
    :func:`assess`) are kept and still win.

    Parameters
    ----------
    registry : Registry
    experiment : str

    Returns
    -------
    RiskOfBias
        The experiment's checklist after the change.

    Notes
    -----
    The evidence: the seeds each arm ran on each task (``seeds_randomised``); tuning budgets
    from a ``tuning_budget`` run column or the moderators ``tuning_budget_baseline`` and
    ``tuning_budget_candidate`` (``equal_tuning_budget``); each task's ``n_eval`` against the
    examples :func:`consilience.design.power_proportions` needs for ``min_effect``
    (``eval_size_adequate``); whether a locked protocol covering the experiment was locked
    before its first run was imported (``preregistered``); planned against complete runs
    (``reported``). The thresholds are in :mod:`consilience.quality.rules`.
    """
    judged = auto_judgements(registry, experiment)
    with registry._write() as s:
        exp = _exp.get_experiment(s, experiment)
        _store(s, exp.id, judged, source="auto", actor="consilience")
        registry._audit(s, "quality.auto", experiment,
                        {j.item: j.judgement for j in judged})
        rows = _read(s, exp.id)
    return RiskOfBias.from_items(experiment, _effective(rows))


def risk_of_bias(registry: Registry, experiments: Sequence[str] | None = None) -> pd.DataFrame:
    """The risk-of-bias table: one row per experiment.

    Parameters
    ----------
    registry : Registry
    experiments : sequence of str, optional
        Only these (default: every experiment, oldest first).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RISK_COLUMNS`: ``experiment, status, overall``, one column per item with
        its judgement, one ``<item>_note`` column per item with the evidence or the reviewer's
        note, ``manual_items`` (items judged by a person, comma-separated) and ``assessed_at``
        (the newest judgement; null when never assessed). Experiments never assessed have
        every item ``unknown`` and overall ``unknown``.
    """
    table = registry.experiments()
    names = list(table["name"]) if experiments is None else list(experiments)
    status = dict(zip(table["name"], table["status"]))
    with registry._read() as s:
        ids = {str(n): int(i) for n, i in s.execute(select(Experiment.name, Experiment.id))}
        unknown = [n for n in names if n not in ids]
        if unknown:
            _exp.get_experiment(s, unknown[0])  # raises with the known names
        rows = list(s.scalars(select(RiskOfBiasJudgement)))
    by_exp: dict[int, list[RiskOfBiasJudgement]] = {}
    for r in rows:
        by_exp.setdefault(r.experiment_id, []).append(r)
    out: list[dict[str, Any]] = []
    for name in names:
        mine = by_exp.get(ids[name], [])
        rob = RiskOfBias.from_items(name, _effective(mine))
        row: dict[str, Any] = {"experiment": name, "status": status.get(name),
                               "overall": rob.overall}
        row.update(rob.judgements)
        row.update({f"{i.item}_note": i.note for i in rob.items})
        row["manual_items"] = ",".join(i.item for i in rob.items if i.source == "manual")
        times = [r.assessed_at for r in mine]
        row["assessed_at"] = max(times) if times else None
        out.append(row)
    return pd.DataFrame(out, columns=list(RISK_COLUMNS))


def overall_risk(registry: Registry) -> dict[str, str]:
    """``{experiment: overall judgement}`` for every experiment (``unknown`` if unassessed)."""
    table = risk_of_bias(registry)
    return dict(zip(table["experiment"], table["overall"]))
