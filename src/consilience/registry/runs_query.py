"""Reading the runs table back: the tidy frame every analysis starts from."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from consilience.registry.models import Experiment, Run
from consilience.registry.runs_table import RUN_COLUMNS

__all__ = ["fetch_runs"]

_TEXT = ("experiment", "arm", "task", "metric", "status", "item", "source", "external_id")
_ORDER = ["experiment", "metric", "task", "arm", "seed", "item", "source", "external_id"]


def fetch_runs(
    session: Session,
    experiment: str | Sequence[str] | None = None,
    metric: str | Sequence[str] | None = None,
    status: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Select runs, with one column per moderator of the experiments returned.

    See :meth:`consilience.registry.Registry.runs` for the columns.
    """
    cols = [Experiment.name.label("experiment")] + [getattr(Run, c) for c in RUN_COLUMNS[1:]]
    stmt = select(*cols).join(Experiment, Run.experiment_id == Experiment.id)
    for column, wanted in (
        (Experiment.name, experiment),
        (Run.metric, metric),
        (Run.status, status),
    ):
        if wanted is not None:
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            stmt = stmt.where(column.in_(values))
    rows = session.execute(stmt).all()
    moderators = {
        name: dict(mods or {})
        for name, mods in session.execute(select(Experiment.name, Experiment.moderators))
    }
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(RUN_COLUMNS))
    for col in ("seed", "n_eval"):
        frame[col] = frame[col].astype("Int64")
    for col in ("value", "cost_gpu_hours", "cost_usd"):
        frame[col] = frame[col].astype(float)
    for col in _TEXT:
        frame[col] = frame[col].astype("str")
    # A total order (source + external_id is unique), so the same runs always hash the same.
    frame = frame.sort_values(_ORDER, na_position="last", kind="stable").reset_index(drop=True)
    # Moderators are per experiment: look each one up once per experiment, then spread it over
    # the runs by their experiment's position.
    codes, used = pd.factorize(frame["experiment"])
    for key in sorted({k for e in used for k in moderators.get(e, {})}):
        per_experiment = np.empty(len(used), dtype=object)
        for j, e in enumerate(used):  # a loop over experiments
            per_experiment[j] = moderators[e].get(key)
        frame[key] = per_experiment[codes].tolist()
    return frame
