"""Alerts: registered experiments that need attention.

Planned or running designs whose power for their ``min_effect`` is below a threshold (with the
fix from :func:`consilience.registry.planning.plan_experiment`), and finished comparisons whose
verdict is inconclusive (with what would settle them).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from consilience._results import Summary, json_safe
from consilience.design._common import check_probability
from consilience.errors import InputError
from consilience.registry.analysis import compare_experiment
from consilience.registry.planning import (
    COMPARED,
    PLANNABLE,
    ExperimentPlan,
    _count,
    _design,
    plan_experiment,
)

if TYPE_CHECKING:
    from consilience.registry.store import Registry

__all__ = ["ALERT_COLUMNS", "Alert", "AlertList", "alerts"]

ALERT_COLUMNS = (
    "experiment", "status", "kind", "power", "min_effect", "reason", "fix", "verdict", "k",
    "seeds", "n_eval", "achieved_power",
)
"""Columns of :meth:`AlertList.to_frame`."""


@dataclass(frozen=True)
class Alert:
    """One experiment that needs attention.

    Attributes
    ----------
    experiment, status : str
    kind : {'underpowered', 'inconclusive'}
    power : float
        Power of its design for ``min_effect`` (NaN when it could not be planned).
    min_effect : float or None
    reason, fix : str
        One sentence each.
    verdict : str or None
        The comparison's verdict (inconclusive alerts).
    k, seeds, n_eval : int or None
        The plan's recommended design (None when it could not be planned).
    achieved_power : float
        Power of the recommended design (NaN when not planned).
    """

    experiment: str
    status: str
    kind: Literal["underpowered", "inconclusive"]
    reason: str
    fix: str
    power: float = math.nan
    min_effect: float | None = None
    verdict: str | None = None
    k: int | None = None
    seeds: int | None = None
    n_eval: int | None = None
    achieved_power: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary with the keys :data:`ALERT_COLUMNS`."""
        return {name: json_safe(getattr(self, name)) for name in ALERT_COLUMNS}


@dataclass(frozen=True)
class AlertList:
    """Experiments that need attention, with the ones that could not be checked.

    Attributes
    ----------
    alerts : tuple of Alert
        Underpowered planned or running experiments first, then inconclusive comparisons;
        each group in registry order.
    skipped : tuple of (experiment, reason)
        Experiments that could not be checked, and why.
    power_threshold : float
    metric : str
    """

    alerts: tuple[Alert, ...]
    skipped: tuple[tuple[str, str], ...]
    power_threshold: float
    metric: str

    def __len__(self) -> int:
        return len(self.alerts)

    def __iter__(self) -> Iterator[Alert]:
        return iter(self.alerts)

    def __repr__(self) -> str:
        kinds = Counter(a.kind for a in self.alerts)
        body = " ".join(f"{k}={v}" for k, v in sorted(kinds.items())) or "none"
        return f"<AlertList {body} skipped={len(self.skipped)} threshold={self.power_threshold:g}>"

    def to_frame(self) -> pd.DataFrame:
        """One row per alert, columns :data:`ALERT_COLUMNS`."""
        frame = pd.DataFrame([a.to_dict() for a in self.alerts], columns=list(ALERT_COLUMNS))
        for col in ("k", "seeds", "n_eval"):
            frame[col] = frame[col].astype("Int64")
        for col in ("power", "min_effect", "achieved_power"):
            frame[col] = frame[col].astype(float)
        return frame

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``alerts`` (records), ``skipped``, ``power_threshold``, ``metric``."""
        return {
            "alerts": [a.to_dict() for a in self.alerts],
            "skipped": [{"experiment": e, "reason": r} for e, r in self.skipped],
            "power_threshold": self.power_threshold,
            "metric": self.metric,
        }

    def summary(self) -> Summary:
        """The alerts as a table, skipped experiments as notes."""
        cols = ["experiment", "kind", "power", "fix"]
        return Summary(
            title=f"Alerts ({len(self.alerts)}; power threshold {self.power_threshold:g})",
            tables=[("alerts", self.to_frame()[cols])] if self.alerts else [],
            notes=[f"{e} not checked: {r}" for e, r in self.skipped],
        )


def _current_design(plan: ExperimentPlan) -> str:
    out = _design(plan.current_k, plan.current_seeds, plan.current_n_eval)
    source = {"pilot": "its own runs", "baseline": "its baseline experiment",
              "registry": "the registry's other experiments"}[plan.source]
    return f"{out} (variances from {source})"


def _settle(comparison: Any, k_now: int) -> str:
    if comparison.seeds_needed is not None:
        return f"Run {_count(comparison.seeds_needed, 'seed')} per task to settle the estimate."
    if comparison.tasks_needed is not None and math.isfinite(comparison.tasks_needed):
        k = int(comparison.tasks_needed)
        return (f"Run it on {_count(k, 'task')} ({k - k_now:,} more) to settle the estimate; "
                "more seeds per task cannot.")
    return (
        "No amount of data settles it at this threshold: the estimate lies between -min_effect "
        "and +min_effect; declare a region of practical equivalence (compare --rope) to call "
        "it equivalent, or record the decision."
    )


def alerts(
    registry: Registry, *, power_threshold: float = 0.8, metric: str = "accuracy"
) -> AlertList:
    """Experiments whose design is underpowered or whose comparison is inconclusive.

    Parameters
    ----------
    registry : Registry
    power_threshold : float
        Planned and running experiments whose power for their ``min_effect`` is below it are
        ``underpowered`` (it is also the plans' target power).
    metric : str
        The metric compared.

    Returns
    -------
    AlertList
        ``underpowered`` alerts (planned/running), then ``inconclusive`` ones (complete,
        accepted, rejected, neutral with an inconclusive verdict on ``metric``). Experiments
        that cannot be planned or compared (no ``min_effect``, no runs) are in ``skipped``.

    Notes
    -----
    One :func:`plan_experiment` per planned or running experiment and one
    :func:`~consilience.registry.analysis.compare_experiment` per finished one (a loop over
    experiments; each is vectorised over its runs). The fix of an inconclusive alert comes from
    the comparison (seeds or tasks that would settle the observed estimate); its ``k``,
    ``seeds`` and ``n_eval`` are the plan's design for power at ``min_effect``.
    """
    threshold = check_probability("power_threshold", power_threshold, hint="Pass e.g. 0.8.")
    table = registry.experiments()
    found: list[Alert] = []
    later: list[Alert] = []
    skipped: list[tuple[str, str]] = []
    for name, status in zip(table["name"], table["status"]):  # a loop over experiments
        comparison = None
        if status in COMPARED:
            try:
                comparison = compare_experiment(registry, name, metric=metric)
            except InputError as exc:
                skipped.append((name, str(exc)))
                continue
            if comparison.verdict != "inconclusive":
                continue
        elif status not in PLANNABLE:
            continue
        try:
            plan: ExperimentPlan | None = plan_experiment(
                registry, name, target_power=threshold, metric=metric
            )
        except InputError as exc:
            if comparison is None:
                skipped.append((name, str(exc)))
                continue
            plan = None
        numbers: dict[str, Any] = {"power": math.nan}
        if plan is not None:
            numbers = {"power": plan.current_power, "min_effect": plan.min_effect, "k": plan.k,
                       "seeds": plan.seeds, "n_eval": plan.n_eval,
                       "achieved_power": plan.achieved_power}
        if comparison is not None:
            reason = (
                f"verdict inconclusive: estimate {comparison.estimate:+.3g} "
                f"[{comparison.ci_low:+.3g}, {comparison.ci_high:+.3g}] does not clear "
                f"±{comparison.threshold:g}."
            )
            later.append(Alert(name, status, "inconclusive", reason=reason,
                               fix=_settle(comparison, int(comparison.k)),
                               verdict=comparison.verdict, **numbers))
        elif plan is not None and plan.current_power < threshold:
            reason = (f"power {plan.current_power:.2f} < {threshold:.2f} to detect a "
                      f"{plan.min_effect:g} effect with {_current_design(plan)}.")
            found.append(Alert(name, status, "underpowered", reason=reason, fix=plan.fix,
                               **numbers))
    return AlertList(alerts=tuple(found + later), skipped=tuple(skipped),
                     power_threshold=threshold, metric=metric)
