"""Analysis snapshots: results stored with the hash of the runs they were computed from.

The living analysis (``consilience update``) stores one snapshot per run of a protocol; the
dashboard shows the newest and marks it stale when the runs' hash has changed since.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consilience._results import json_safe
from consilience.errors import InputError
from consilience.registry.experiments import get_experiment
from consilience.registry.models import Experiment, Protocol, Snapshot, utcnow
from consilience.registry.protocol_store import get_protocol

__all__ = ["SnapshotRecord", "add_snapshot", "list_snapshots"]


@dataclass(frozen=True)
class SnapshotRecord:
    """A stored analysis result.

    Attributes
    ----------
    id : int
    protocol, experiment : str or None
        What the result is about (at least one is set).
    input_hash : str
        Hash of the runs analysed.
    created_at : datetime
    created_by : str
    result : dict
        The result's JSON-safe ``to_dict()``.
    """

    id: int
    protocol: str | None
    experiment: str | None
    input_hash: str
    created_at: datetime
    created_by: str
    result: Mapping[str, Any]

    def __repr__(self) -> str:
        subject = self.protocol or self.experiment
        return f"<Snapshot {self.id} {subject!r} input_hash={self.input_hash} {self.created_at:%Y-%m-%d}>"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "protocol": self.protocol,
            "experiment": self.experiment,
            "input_hash": self.input_hash,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "result": dict(self.result),
        }


def add_snapshot(
    session: Session,
    protocol: str | None,
    result: Mapping[str, Any],
    input_hash: str,
    *,
    experiment: str | None,
    actor: str,
) -> int:
    """Insert a snapshot; returns its id."""
    if protocol is None and experiment is None:
        raise InputError("A snapshot needs a protocol or an experiment to belong to; pass one.")
    if not isinstance(result, Mapping):
        raise TypeError(
            f"'result' must be a mapping (a result's to_dict()); got {type(result).__name__}."
        )
    if not isinstance(input_hash, str) or not input_hash.strip() or len(input_hash) > 64:
        raise InputError(
            f"'input_hash' must be 1-64 characters of text; got {input_hash!r}. "
            "Use consilience._results.input_hash(runs)."
        )
    payload = json_safe(dict(result))
    json.dumps(payload, allow_nan=False)
    row = Snapshot(
        protocol_id=get_protocol(session, protocol).id if protocol is not None else None,
        experiment_id=get_experiment(session, experiment).id if experiment is not None else None,
        result=payload,
        input_hash=input_hash.strip(),
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row.id


def list_snapshots(
    session: Session, protocol: str | None, *, experiment: str | None
) -> list[SnapshotRecord]:
    """Snapshots newest first, filtered by protocol and/or experiment name."""
    stmt = (
        select(Snapshot, Protocol.name, Experiment.name)
        .outerjoin(Protocol, Snapshot.protocol_id == Protocol.id)
        .outerjoin(Experiment, Snapshot.experiment_id == Experiment.id)
        .order_by(Snapshot.created_at.desc(), Snapshot.id.desc())
    )
    if protocol is not None:
        stmt = stmt.where(Protocol.name == protocol)
    if experiment is not None:
        stmt = stmt.where(Experiment.name == experiment)
    out = []
    for snap, proto_name, exp_name in session.execute(stmt):
        out.append(
            SnapshotRecord(
                id=snap.id,
                protocol=proto_name,
                experiment=exp_name,
                input_hash=snap.input_hash,
                created_at=snap.created_at,
                created_by=snap.created_by,
                result=dict(snap.result),
            )
        )
    return out
