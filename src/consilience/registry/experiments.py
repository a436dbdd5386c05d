"""Experiments: one change tried against a baseline, with a status from plan to decision.

Accepting an experiment makes it the *current baseline*: experiments added afterwards without an
explicit baseline are measured against it. The current baseline is the most recent of the
accepted experiments and the roots (experiments with no baseline that were not turned down),
ordered by when they became a baseline (acceptance time, or creation time for a root).
"""

from __future__ import annotations

import difflib
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consilience._validation import check_choice
from consilience.errors import ConsilienceWarning, InputError
from consilience.registry.models import EXPERIMENT_STATUSES, Experiment, Run, utcnow
from consilience.registry.runs_table import RUN_COLUMNS

__all__ = [
    "FRAME_COLUMNS",
    "ExperimentRecord",
    "StaleBaselineWarning",
    "add_experiment",
    "all_records",
    "baseline_order",
    "check_moderators",
    "current_baseline",
    "experiments_frame",
    "get_experiment",
    "record_of",
    "set_status",
]

FRAME_COLUMNS = (
    "name",
    "status",
    "baseline",
    "hypothesis",
    "change",
    "tags",
    "moderators",
    "planned_seeds",
    "planned_n_eval",
    "planned_tasks",
    "min_effect",
    "n_runs",
    "created_at",
    "updated_at",
    "accepted_at",
)
"""Columns of :meth:`Registry.experiments`."""

_MODERATOR_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_NOT_BASELINES = ("rejected", "neutral", "failed")


class StaleBaselineWarning(ConsilienceWarning):
    """An experiment was accepted although it was measured against an older baseline."""


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment as stored in the registry.

    Attributes
    ----------
    name, status, baseline : str
        ``baseline`` is the name of the experiment it is measured against (``None`` for a root).
    hypothesis, change : str or None
        What is expected, and the single change made.
    moderators : dict
        Study-level covariates (``model_family``, ``data_domain``, ...), one column each in the
        runs table.
    tags : tuple of str
    planned_seeds, planned_n_eval, planned_tasks : int or None
        Seeds per task, evaluation examples and number of tasks planned.
    min_effect : float or None
        Smallest effect that matters for this experiment.
    created_at, updated_at, status_changed_at, accepted_at : datetime
        Timezone-aware UTC; ``accepted_at`` is ``None`` unless accepted.
    """

    name: str
    status: str
    baseline: str | None
    hypothesis: str | None
    change: str | None
    moderators: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    planned_seeds: int | None = None
    planned_n_eval: int | None = None
    planned_tasks: int | None = None
    min_effect: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    status_changed_at: datetime | None = None
    accepted_at: datetime | None = None

    def __repr__(self) -> str:
        base = f" baseline={self.baseline!r}" if self.baseline else " (root)"
        return f"<Experiment {self.name!r} {self.status}{base}>"

    @property
    def became_baseline_at(self) -> datetime | None:
        """When it became a baseline: accepted, or created as a root."""
        return self.accepted_at if self.accepted_at is not None else self.created_at

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary with ISO-8601 timestamps."""

        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        return {
            "name": self.name,
            "status": self.status,
            "baseline": self.baseline,
            "hypothesis": self.hypothesis,
            "change": self.change,
            "moderators": dict(self.moderators),
            "tags": list(self.tags),
            "planned_seeds": self.planned_seeds,
            "planned_n_eval": self.planned_n_eval,
            "planned_tasks": self.planned_tasks,
            "min_effect": self.min_effect,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "status_changed_at": iso(self.status_changed_at),
            "accepted_at": iso(self.accepted_at),
        }


def check_moderators(moderators: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate moderator names (snake_case, not a runs-table column) and scalar values."""
    out: dict[str, Any] = {}
    for key, value in (moderators or {}).items():
        if not isinstance(key, str) or not _MODERATOR_KEY.match(key):
            raise InputError(
                f"Moderator name {key!r} is not allowed: use snake_case (a lower-case letter, "
                "then letters, digits or underscores), e.g. model_family."
            )
        if key in RUN_COLUMNS:
            raise InputError(
                f"Moderator name {key!r} clashes with the runs-table column of the same name. "
                "Choose another name, e.g. model_" + key + "."
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(
                f"Moderator {key!r} must be finite; got {value!r}. Leave it out instead."
            )
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise InputError(
                f"Moderator {key!r} must be text, a number or true/false; got {value!r}. "
                "Store one value per moderator."
            )
        out[key] = value
    return out


def _check_count(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(
            f"'{name}' must be a positive whole number; got {value!r}. Give a count such as 5, "
            "or leave it out if it is not planned."
        )
    return value


def get_experiment(session: Session, name: str) -> Experiment:
    """The experiment called ``name``, or an error suggesting close names."""
    exp = session.scalars(select(Experiment).where(Experiment.name == name)).first()
    if exp is None:
        names = list(session.scalars(select(Experiment.name)))
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise InputError(
            f"Experiment {name!r} is not in the registry.{hint} Add it with "
            f"`consilience experiment add {name} --hypothesis ... --change ...`."
        )
    return exp


def all_records(session: Session) -> list[ExperimentRecord]:
    """Every experiment, oldest first."""
    rows = list(session.scalars(select(Experiment).order_by(Experiment.created_at, Experiment.id)))
    names = {e.id: e.name for e in rows}
    return [_record(e, names) for e in rows]


def _record(exp: Experiment, names: Mapping[int, str]) -> ExperimentRecord:
    return ExperimentRecord(
        name=exp.name,
        status=exp.status,
        baseline=names.get(exp.baseline_id) if exp.baseline_id is not None else None,
        hypothesis=exp.hypothesis,
        change=exp.change,
        moderators=dict(exp.moderators or {}),
        tags=tuple(exp.tags or ()),
        planned_seeds=exp.planned_seeds,
        planned_n_eval=exp.planned_n_eval,
        planned_tasks=exp.planned_tasks,
        min_effect=exp.min_effect,
        created_at=exp.created_at,
        updated_at=exp.updated_at,
        status_changed_at=exp.status_changed_at,
        accepted_at=exp.accepted_at,
    )


def record_of(session: Session, exp: Experiment) -> ExperimentRecord:
    """The public record of one experiment row."""
    names: dict[int, str] = {}
    if exp.baseline_id is not None:
        names[exp.baseline_id] = session.get_one(Experiment, exp.baseline_id).name
    return _record(exp, names)


def baseline_order(records: Iterable[ExperimentRecord]) -> list[ExperimentRecord]:
    """Experiments that served as baselines, in the order they became one."""
    nodes = [
        r
        for r in records
        if r.status == "accepted" or (r.baseline is None and r.status not in _NOT_BASELINES)
    ]
    return sorted(nodes, key=lambda r: (r.became_baseline_at or utcnow(), r.name))


def current_baseline(session: Session) -> str | None:
    """Name of the current baseline, or ``None`` in an empty registry."""
    order = baseline_order(all_records(session))
    return order[-1].name if order else None


def add_experiment(
    session: Session,
    name: str,
    *,
    hypothesis: str | None,
    change: str | None,
    baseline: str | None,
    no_baseline: bool,
    status: str,
    moderators: Mapping[str, Any] | None,
    tags: Sequence[str],
    planned_seeds: int | None,
    planned_n_eval: int | None,
    min_effect: float | None,
    planned_tasks: int | None = None,
) -> Experiment:
    """Insert an experiment (see :meth:`Registry.add_experiment` for the parameters)."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 200:
        raise InputError(f"An experiment name must be 1-200 characters of text; got {name!r}.")
    name = name.strip()
    status = check_choice("status", status, EXPERIMENT_STATUSES)
    if baseline is not None and no_baseline:
        raise InputError(
            f"Experiment {name!r} got baseline={baseline!r} and no_baseline=True; pass either a "
            "baseline or no_baseline=True, not both (no_baseline makes it a root)."
        )
    if min_effect is not None and (
        not isinstance(min_effect, (int, float)) or not math.isfinite(min_effect) or min_effect <= 0
    ):
        raise InputError(
            f"'min_effect' must be a positive number; got {min_effect!r}. Give the smallest "
            "improvement worth acting on, in metric units (e.g. 0.01), or leave it out."
        )
    tag_list = [str(t).strip() for t in tags if str(t).strip()]
    if session.scalars(select(Experiment.id).where(Experiment.name == name)).first() is not None:
        raise InputError(
            f"Experiment {name!r} already exists. Choose another name, or change its status with "
            f"`consilience experiment set-status {name} ...`."
        )
    baseline_id: int | None = None
    if baseline is not None:
        baseline_id = get_experiment(session, baseline).id
    elif not no_baseline:
        current = current_baseline(session)
        if current is not None:
            baseline_id = get_experiment(session, current).id
    now = utcnow()
    exp = Experiment(
        name=name,
        hypothesis=hypothesis,
        change=change,
        baseline_id=baseline_id,
        status=status,
        moderators=check_moderators(moderators),
        tags=tag_list,
        planned_seeds=_check_count("planned_seeds", planned_seeds),
        planned_n_eval=_check_count("planned_n_eval", planned_n_eval),
        planned_tasks=_check_count("planned_tasks", planned_tasks),
        min_effect=float(min_effect) if min_effect is not None else None,
        created_at=now,
        updated_at=now,
        status_changed_at=now,
        accepted_at=now if status == "accepted" else None,
    )
    session.add(exp)
    session.flush()
    return exp


def set_status(session: Session, name: str, status: str) -> tuple[Experiment, str]:
    """Change an experiment's status; returns the row and its previous status.

    Accepting an experiment whose baseline is no longer the current baseline emits a
    :class:`StaleBaselineWarning`: it becomes the new baseline, but its gain over the baseline it
    replaces was never measured.
    """
    status = check_choice("status", status, EXPERIMENT_STATUSES)
    exp = get_experiment(session, name)
    previous = exp.status
    if previous == status:
        return exp, previous
    now = utcnow()
    if status == "accepted":
        current = current_baseline(session)
        base = session.get_one(Experiment, exp.baseline_id).name if exp.baseline_id else None
        if current is not None and current not in (base, exp.name):
            warnings.warn(
                f"Experiment {name!r} was measured against {base!r}, but the current baseline is "
                f"{current!r}. It becomes the new baseline; its gain over {current!r} was not "
                "measured, so consider running it against that baseline too.",
                StaleBaselineWarning,
                stacklevel=3,
            )
        exp.accepted_at = now
    elif previous == "accepted":
        exp.accepted_at = None
    exp.status = status
    exp.status_changed_at = now
    exp.updated_at = now
    session.flush()
    return exp, previous


def experiments_frame(session: Session) -> pd.DataFrame:
    """Every experiment with its run count, one row each (columns :data:`FRAME_COLUMNS`)."""
    counts = {
        name: n
        for name, n in session.execute(
            select(Experiment.name, func.count(Run.id))
            .join(Run, Run.experiment_id == Experiment.id)
            .group_by(Experiment.name)
        )
    }
    rows = [
        {
            **r.to_dict(),
            "tags": list(r.tags),
            "moderators": dict(r.moderators),
            "created_at": r.created_at,
            "updated_at": r.updated_at,
            "accepted_at": r.accepted_at,
            "n_runs": int(counts.get(r.name, 0)),
        }
        for r in all_records(session)
    ]
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    for col in ("planned_seeds", "planned_n_eval", "planned_tasks", "n_runs"):
        frame[col] = frame[col].astype("Int64")
    frame["min_effect"] = frame["min_effect"].astype(float)
    return frame
