"""What each dashboard page shows, as JSON-safe payloads: the API returns them and the pages
render them, so both always say the same thing.

Every payload is built from cached analyses (:class:`~consilience.web.state.Dashboard`) and
carries ``notes``: the warnings raised while computing it (rows dropped, too few tasks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from consilience._results import json_safe
from consilience.errors import InputError
from consilience.report.document import (
    forest_figure,
    funnel_figure,
    history_figure,
    progress_figure,
)
from consilience.report.figures import SvgFigure, svg_figure
from consilience.report.history import snapshot_history
from consilience.report.narrative import describe, executive_summary
from consilience.web.state import Computed, Dashboard

__all__ = [
    "LEADERBOARD_FILTERS",
    "NotFound",
    "alerts_view",
    "experiment_figures",
    "experiment_view",
    "experiments_view",
    "leaderboard_view",
    "progress_figures",
    "progress_view",
]

LEADERBOARD_FILTERS = ("status", "verdict")
"""Leaderboard filters besides the moderators (any moderator column filters by equality)."""

PLANNABLE = ("planned", "running")


class NotFound(LookupError):
    """The page or resource asked for does not exist (404)."""


def _leaderboard(d: Dashboard, metric: str) -> Computed:
    from consilience.registry.analysis import leaderboard

    return d.cached(("leaderboard", metric), lambda: leaderboard(d.registry, metric=metric))


def _comparison(d: Dashboard, name: str, metric: str) -> Computed:
    from consilience.registry.analysis import compare_experiment

    return d.cached(("comparison", name, metric),
                    lambda: compare_experiment(d.registry, name, metric=metric))


def _experiments(d: Dashboard) -> pd.DataFrame:
    found = d.cached(("experiments",), d.registry.experiments)
    return found.value if found.value is not None else pd.DataFrame()


def _payload(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` made JSON-safe (numpy numbers, NaN, timestamps, frames as records)."""
    out: dict[str, Any] = json_safe(value)
    return out


def _notes(*computed: Computed) -> list[str]:
    out: list[str] = []
    for c in computed:
        for n in c.notes:
            if n not in out:
                out.append(n)
    return out


def require_experiment(d: Dashboard, name: str) -> None:
    """Raise :class:`NotFound` unless ``name`` is a registered experiment."""
    table = _experiments(d)
    if table.empty or name not in set(table["name"]):
        raise NotFound(f"No experiment named {name!r} in this registry.")


def experiments_view(d: Dashboard, metric: str) -> dict[str, Any]:
    """Every experiment with its status and, where compared, its verdict on ``metric``.

    Returns
    -------
    dict
        ``metric``, ``metrics`` (with complete runs), ``current_baseline``, ``experiments``
        (one record per experiment: ``name, status, baseline, change, hypothesis, n_runs,
        created_at, k, estimate, ci_low, ci_high, prob_better, verdict``), ``summary`` (the
        executive summary of the compared ones) and ``notes``.
    """
    table = _experiments(d)
    board = _leaderboard(d, metric)
    compared: dict[str, Mapping[str, Any]] = {}
    frame = board.value if isinstance(board.value, pd.DataFrame) else pd.DataFrame()
    for found in frame.to_dict(orient="records"):
        compared[str(found["experiment"])] = {str(k): v for k, v in found.items()}
    rows = []
    for rec in table.to_dict(orient="records"):
        row = compared.get(str(rec["name"]), {})
        rows.append({
            "name": rec["name"], "status": rec["status"], "baseline": rec["baseline"],
            "change": rec["change"], "hypothesis": rec["hypothesis"], "n_runs": rec["n_runs"],
            "created_at": rec["created_at"], "k": row.get("k"), "estimate": row.get("estimate"),
            "ci_low": row.get("ci_low"), "ci_high": row.get("ci_high"),
            "prob_better": row.get("prob_better"), "verdict": row.get("verdict"),
        })
    summary = executive_summary(_with_thresholds(frame, table), metric=metric) if len(frame) \
        else None
    return _payload({
        "metric": metric, "metrics": d.metrics(), "current_baseline": _current_baseline(d),
        "experiments": rows, "summary": summary.to_dict() if summary else None,
        "notes": _notes(board), "error": board.error,
    })


def _current_baseline(d: Dashboard) -> str | None:
    found = d.cached(("current-baseline",), d.registry.current_baseline)
    return found.value if isinstance(found.value, str) else None


def _with_thresholds(board: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Leaderboard rows with each experiment's ``min_effect`` as the verdict's ``threshold``."""
    if board.empty:
        return board
    thresholds = dict(zip(table["name"], table["min_effect"]))
    values = [thresholds.get(n) for n in board["experiment"]]
    return board.assign(threshold=[float(v) if v is not None and pd.notna(v) else 0.0
                                   for v in values])


def leaderboard_view(d: Dashboard, metric: str, filters: Mapping[str, str]) -> dict[str, Any]:
    """The leaderboard on ``metric``, filtered.

    Parameters
    ----------
    d : Dashboard
    metric : str
    filters : mapping of str to str
        ``status``, ``verdict`` or a moderator column, each kept by equality of its text.

    Returns
    -------
    dict
        ``metric``, ``metrics``, ``filters`` (as applied), ``choices`` (the values each filter
        can take), ``moderators`` (the moderator columns), ``rows`` (the leaderboard's columns,
        see :func:`consilience.registry.analysis.leaderboard`), ``n_total`` (rows before
        filtering), ``notes`` and ``error``.

    Raises
    ------
    InputError
        A filter that is neither ``status``, ``verdict`` nor a moderator column.
    """
    from consilience.registry.analysis import LEADERBOARD_COLUMNS

    board = _leaderboard(d, metric)
    frame = board.value if isinstance(board.value, pd.DataFrame) else pd.DataFrame(
        columns=list(LEADERBOARD_COLUMNS))
    moderators = [c for c in frame.columns if c not in LEADERBOARD_COLUMNS]
    allowed = [*LEADERBOARD_FILTERS, *moderators]
    unknown = sorted(set(filters) - set(allowed))
    if unknown:
        raise InputError(f"unknown leaderboard filter {unknown}; filter by one of {allowed} "
                         f"(?status=accepted&model_family=vit).")
    choices = {c: sorted({str(v) for v in frame[c].dropna()}) for c in allowed
               if c in frame.columns}
    kept = frame
    applied: dict[str, str] = {}
    for key, value in filters.items():
        if value == "":
            continue
        kept = kept.loc[kept[key].astype(str) == value]
        applied[key] = value
    table = _experiments(d)
    kept = _with_thresholds(kept.reset_index(drop=True), table)
    return _payload({
        "metric": metric, "metrics": d.metrics(), "filters": applied, "choices": choices,
        "moderators": moderators, "rows": kept, "n_total": len(frame),
        "costs": bool(len(frame)) and bool(frame["usd_per_gain"].notna().any()),
        "notes": _notes(board), "error": board.error,
    })


def _audit_of(d: Dashboard, name: str, limit: int = 20) -> list[dict[str, Any]]:
    log = d.cached(("audit", name), lambda: d.registry.audit_log(limit=2000))
    frame = log.value if isinstance(log.value, pd.DataFrame) else pd.DataFrame()
    if frame.empty:
        return []
    mine = frame.loc[frame["target"] == name].head(limit)
    return [{**json_safe(r), "summary": audit_summary(str(r["action"]), r["details"])}
            for r in mine.to_dict(orient="records")]


def audit_summary(action: str, details: Any) -> str:
    """One line about an audit entry: what changed, from what to what."""
    if not isinstance(details, Mapping):
        return ""
    if action == "experiment.status":
        note = f" ({details['note']})" if details.get("note") else ""
        return f"status {details.get('from')} → {details.get('to')}{note}"
    before, after = details.get("from"), details.get("to")
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        changes = [f"{k} {before.get(k)} → {after.get(k)}" for k in after
                   if before.get(k) != after.get(k)]
        plan = details.get("plan")
        fix = f". {plan['fix']}" if isinstance(plan, Mapping) and plan.get("fix") else ""
        return ("; ".join(changes) or "no change") + fix
    if action == "experiment.add":
        return f"registered with status {details.get('status')}"
    shown = [f"{k}: {v}" for k, v in details.items() if not isinstance(v, (Mapping, list))]
    return ", ".join(shown[:6])


def _plan(d: Dashboard, name: str, metric: str) -> Computed:
    def compute() -> Any:
        from consilience.registry.planning import plan_experiment

        return plan_experiment(d.registry, name, metric=metric)

    try:
        return d.cached(("plan", name, metric), compute)
    except ImportError as exc:
        return Computed(None, f"planning is not available: {exc}", ())


def experiment_view(d: Dashboard, name: str, metric: str) -> dict[str, Any]:
    """One experiment: its record, comparison, plain-language finding, power and plan.

    Returns
    -------
    dict
        ``experiment`` (the record), ``metric``, ``comparison`` (``Comparison.to_dict()``
        with ``tasks``) or ``comparison_error``, ``finding`` (see
        :class:`~consilience.report.narrative.Finding`), ``power`` (planned and run seeds,
        seeds or tasks that would settle it, the plan's current and achievable power and its
        fix), ``plan`` (``ExperimentPlan.to_dict()``) or ``plan_error``, ``plannable``
        (whether a plan can be applied), ``history`` (its audit entries, newest first),
        ``snapshots`` and ``notes``.

    Raises
    ------
    NotFound
        No such experiment.
    """
    require_experiment(d, name)
    record = d.registry.experiment(name)
    comp = _comparison(d, name, metric)
    plan = _plan(d, name, metric)
    comparison = comp.value
    finding = None
    seeds_run = None
    if comparison is not None:
        finding = describe(comparison, subject=name, baseline=record.baseline).to_dict()
        tasks = comparison.tasks
        if "n_candidate" in tasks.columns and len(tasks):
            seeds_run = float(tasks["n_candidate"].median())
    plan_value = plan.value
    power = {
        "planned_seeds": record.planned_seeds, "planned_n_eval": record.planned_n_eval,
        "min_effect": record.min_effect, "seeds_run": seeds_run,
        "seeds_needed": getattr(comparison, "seeds_needed", None),
        "tasks_needed": getattr(comparison, "tasks_needed", None),
        "current_power": getattr(plan_value, "current_power", None),
        "min_detectable_effect": getattr(plan_value, "min_detectable_effect", None),
        "recommended_k": getattr(plan_value, "k", None),
        "recommended_seeds": getattr(plan_value, "seeds", None),
        "recommended_n_eval": getattr(plan_value, "n_eval", None),
        "achieved_power": getattr(plan_value, "achieved_power", None),
        "fix": getattr(plan_value, "fix", None),
    }
    snaps = d.cached(("snapshots", name), lambda: d.registry.snapshots(experiment=name))
    history = snapshot_history(snaps.value or []) if snaps.value else pd.DataFrame()
    return _payload({
        "experiment": record.to_dict(), "metric": metric, "metrics": d.metrics(),
        "comparison": comparison.to_dict() if comparison is not None else None,
        "comparison_error": comp.error, "finding": finding, "power": power,
        "plan": plan_value.to_dict() if plan_value is not None else None,
        "plan_error": plan.error, "plannable": record.status in PLANNABLE,
        "history": _audit_of(d, name), "snapshots": history,
        "notes": _notes(comp, plan),
    })


def experiment_figures(d: Dashboard, name: str, metric: str) -> dict[str, SvgFigure]:
    """Forest, funnel and power figures of one experiment (cached; a large forest plot takes
    seconds to draw)."""
    require_experiment(d, name)

    def compute() -> dict[str, SvgFigure]:
        out: dict[str, SvgFigure] = {}
        comp = _comparison(d, name, metric).value
        if comp is not None:
            out["forest"] = forest_figure("forest", comp.meta)
            out["funnel"] = funnel_figure("funnel", comp.meta)
        plan = _plan(d, name, metric).value
        if plan is not None:
            out["power"] = svg_figure("power", "Power of the design", "power_curve_plot", plan,
                                      width=5.6, height=3.6, rect=(0.13, 0.15, 0.62, 0.78))
        return out

    found = d.cached(("figures", name, metric), compute)
    return dict(found.value or {})


def progress_view(d: Dashboard) -> dict[str, Any]:
    """The chain of baselines and the living analyses.

    Returns
    -------
    dict
        ``current``, ``steps`` (each baseline with the experiments tried against it),
        ``log`` (one row per experiment tried: ``baseline, experiment, status, change,
        hypothesis, created_at, accepted_at``), ``protocols`` (each locked protocol's
        ``name, sha256, primary_metric, locked_at, history`` with one row per snapshot) and
        ``notes``.
    """
    lineage = d.cached(("lineage",), d.registry.lineage)
    protos = d.cached(("protocols",), lambda: _protocols(d))
    value = lineage.value
    return _payload({
        "current": value.current if value is not None else None,
        "steps": value.to_dict()["steps"] if value is not None else [],
        "unattached": value.to_dict()["unattached"] if value is not None else [],
        "log": value.to_frame() if value is not None else [],
        "protocols": protos.value or [], "notes": _notes(lineage, protos),
        "error": lineage.error or protos.error,
    })


def _protocols(d: Dashboard) -> list[dict[str, Any]]:
    out = []
    for pname in sorted(d.registry.protocols()["name"]):
        proto = d.registry.protocol(str(pname))
        snaps = d.registry.snapshots(str(pname))
        out.append({"name": proto.name, "sha256": proto.sha256,
                    "primary_metric": proto.spec.get("primary_metric"),
                    "locked_at": proto.locked_at, "locked_by": proto.locked_by,
                    "history": snapshot_history(snaps)})
    return out


def progress_figures(d: Dashboard) -> dict[str, SvgFigure]:
    """The baseline-progress chart and one living-analysis chart per protocol."""
    def compute() -> dict[str, SvgFigure]:
        lineage = d.registry.lineage()
        out = {"progress": progress_figure("progress", lineage.to_frame())}
        for j, pname in enumerate(sorted(d.registry.protocols()["name"])):
            snaps = d.registry.snapshots(str(pname))
            if snaps:
                out[str(pname)] = history_figure(f"history-{j}", snaps,
                                                 title=f"Living analysis: {pname}")
        return out

    found = d.cached(("progress-figures",), compute)
    return dict(found.value or {})


def alerts_view(d: Dashboard, metric: str) -> dict[str, Any]:
    """Experiments that need attention (:func:`consilience.registry.alerts.alerts`).

    Returns
    -------
    dict
        ``metric``, ``alerts`` (records: ``experiment, status, kind, power, min_effect,
        reason, fix, verdict, k, seeds, n_eval, achieved_power``), ``skipped`` (experiment and
        reason), ``power_threshold``, ``notes`` and ``error``.
    """
    def compute() -> Any:
        from consilience.registry.alerts import alerts

        return alerts(d.registry, metric=metric)

    try:
        found = d.cached(("alerts", metric), compute)
    except ImportError as exc:
        found = Computed(None, f"alerts are not available: {exc}", ())
    payload: dict[str, Any] = {"metric": metric, "metrics": d.metrics(), "alerts": [],
                               "skipped": [], "power_threshold": None}
    if found.value is not None:
        payload.update(found.value.to_dict())
    payload.update(notes=list(found.notes), error=found.error)
    return _payload(payload)


def finite(value: Any) -> bool:
    """Whether ``value`` is a finite number."""
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
