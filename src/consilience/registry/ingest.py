"""Writing a checked runs table into the registry: one transaction, idempotent.

A run is identified by ``(source, external_id)``. Importing a run already stored with the same
values changes nothing (``unchanged``); with different values it is updated (``updated``); a new
run is inserted. The caller holds the write transaction, so either every row lands or none does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from consilience.errors import InputError
from consilience.registry.models import Experiment, Run, utcnow
from consilience.registry.runs_table import RUN_COLUMNS, RowLabel

__all__ = ["CHUNK_SIZE", "ImportReport", "ProgressCallback", "write_runs"]

CHUNK_SIZE = 1000
"""Rows written per statement batch; progress is reported after each batch."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(rows_done, rows_total)`` after each batch."""

_KEY_COLUMNS = ("experiment", "source", "external_id")
_COMPARED = (
    "experiment_id",
    *(c for c in RUN_COLUMNS if c not in _KEY_COLUMNS),
    "extra",
)
"""Stored columns compared on re-import: a run whose values all match is ``unchanged``."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    Attributes
    ----------
    origin : str
        The file or tracking URI imported.
    sources : tuple of str
        ``source`` values of the rows.
    total, inserted, updated, unchanged : int
        Rows read, and how each was handled (``total = inserted + updated + unchanged``).
    experiments : tuple of str
        Experiments the rows belong to.
    """

    origin: str
    sources: tuple[str, ...]
    total: int
    inserted: int
    updated: int
    unchanged: int
    experiments: tuple[str, ...]

    def __repr__(self) -> str:
        return (
            f"<ImportReport {self.origin!r} total={self.total} inserted={self.inserted} "
            f"updated={self.updated} unchanged={self.unchanged}>"
        )

    def __str__(self) -> str:
        return (
            f"{self.origin}: {self.total} rows, {self.inserted} inserted, {self.updated} "
            f"updated, {self.unchanged} unchanged ({len(self.experiments)} experiment(s))"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "sources": list(self.sources),
            "total": self.total,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "experiments": list(self.experiments),
        }


def _experiment_ids(
    session: Session, runs: pd.DataFrame, where: str, label: RowLabel
) -> dict[str, int]:
    names = sorted(set(runs["experiment"]))
    ids: dict[str, int] = {}
    for start in range(0, len(names), 500):
        chunk = names[start : start + 500]
        for exp_id, name in session.execute(
            select(Experiment.id, Experiment.name).where(Experiment.name.in_(chunk))
        ):
            ids[name] = exp_id
    unknown = [n for n in names if n not in ids]
    if unknown:
        first = int(runs.index[runs["experiment"] == unknown[0]][0])
        row = int(runs["row"].iloc[first])
        raise InputError(
            f"{where}, {label(row)}, column 'experiment': experiment {unknown[0]!r} is not in the "
            f"registry (unknown: {unknown[:5]}). Register it first with `consilience experiment "
            f"add {unknown[0]} --hypothesis ... --change ...`; nothing was imported."
        )
    return ids


def _existing(
    session: Session, source: str, external_ids: Sequence[str]
) -> dict[str, tuple[int, tuple[Any, ...]]]:
    """``{external_id: (id, values of _COMPARED)}`` of the stored runs among ``external_ids``."""
    cols = [Run.external_id, Run.id] + [getattr(Run, c) for c in _COMPARED]
    found: dict[str, tuple[int, tuple[Any, ...]]] = {}
    for start in range(0, len(external_ids), 500):
        chunk = list(external_ids[start : start + 500])
        stmt = select(*cols).where(Run.source == source, Run.external_id.in_(chunk))
        for external_id, run_id, *values in session.execute(stmt):
            found[external_id] = (run_id, tuple(values))
    return found


def _has_runs(session: Session, source: str) -> bool:
    return session.execute(select(Run.id).where(Run.source == source).limit(1)).first() is not None


def write_runs(
    session: Session,
    runs: pd.DataFrame,
    *,
    origin: str,
    label: RowLabel,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Upsert a normalised runs table (see :func:`normalise_runs`) inside ``session``'s transaction.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        With a write transaction begun; the caller commits.
    runs : pandas.DataFrame
        Output of :func:`consilience.registry.runs_table.normalise_runs`.
    origin : str
        The file or URI, for messages and the audit log.
    label : callable
        Row labels for error messages.
    progress : callable, optional
        ``progress(done, total)`` after each batch of :data:`CHUNK_SIZE` rows.

    Returns
    -------
    ImportReport
    """
    runs = runs.reset_index(drop=True)
    total = len(runs)
    ids = _experiment_ids(session, runs, origin, label) if total else {}
    now = utcnow()
    inserted = updated = unchanged = 0
    # One tuple of compared values per row, zipped from column lists (much faster than
    # DataFrame.to_dict(orient="records")); dicts are built only for the rows written.
    columns = [runs["experiment"].map(ids).tolist()] + [runs[c].tolist() for c in _COMPARED[1:]]
    values = list(zip(*columns, strict=True))
    sources = runs["source"].tolist()
    external_ids = runs["external_id"].tolist()
    # Sources with no stored run need no look-up of existing rows (the common first import).
    stored = {s: _has_runs(session, s) for s in set(sources)}
    table = cast(Any, Run).__table__
    for start in range(0, total, CHUNK_SIZE):
        by_source: dict[str, list[int]] = {}
        for i in range(start, min(start + CHUNK_SIZE, total)):
            by_source.setdefault(sources[i], []).append(i)
        new_rows: list[dict[str, Any]] = []
        changed_rows: list[dict[str, Any]] = []
        for source, positions in by_source.items():
            existing = (
                _existing(session, source, [external_ids[i] for i in positions])
                if stored[source]
                else {}
            )
            for i in positions:
                old = existing.get(external_ids[i])
                if old is None:
                    new_rows.append(
                        {
                            **dict(zip(_COMPARED, values[i], strict=True)),
                            "source": source,
                            "external_id": external_ids[i],
                            "imported_at": now,
                        }
                    )
                elif old[1] != values[i]:
                    changed_rows.append(
                        {
                            **dict(zip(_COMPARED, values[i], strict=True)),
                            "id": old[0],
                            "imported_at": now,
                        }
                    )
                else:
                    unchanged += 1
        if new_rows:
            # A Core insert of the table: one executemany, without the ORM's per-row bookkeeping.
            session.execute(insert(table), new_rows)
            inserted += len(new_rows)
        if changed_rows:
            session.execute(update(Run), changed_rows)
            updated += len(changed_rows)
        if progress is not None:
            progress(min(start + CHUNK_SIZE, total), total)
    return ImportReport(
        origin=origin,
        sources=tuple(sorted(set(sources))),
        total=total,
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        experiments=tuple(sorted(ids)),
    )
