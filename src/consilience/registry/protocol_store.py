"""Storing locked protocols and checking analyses against them (session-level functions).

A protocol name can be locked once. Locking the same bytes again is a no-op; locking different
content under a locked name is refused, because a pre-registration that can change afterwards
registers nothing. Use ``consilience protocol diff`` to see what differs, and lock changed plans
under a new name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from consilience.errors import InputError
from consilience.registry.deviations import Deviation, check_options, check_runs, diff_specs
from consilience.registry.models import Experiment, Protocol, utcnow
from consilience.registry.protocol import ProtocolRecord, parse_protocol, sha256_hex

__all__ = ["deviations", "get_protocol", "list_protocols", "lock", "read_protocol_file"]


def read_protocol_file(path: str | os.PathLike[str]) -> tuple[bytes, str, dict[str, Any]]:
    """Read a protocol file: its bytes, text and parsed spec (named after the file if unnamed)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"Protocol file '{p}' does not exist. Check the path.")
    data = p.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Protocol file '{p}' is not UTF-8 text ({exc}). Save it as UTF-8."
        ) from exc
    return data, text, parse_protocol(text, where=str(p), default_name=p.stem)


def _record(row: Protocol) -> ProtocolRecord:
    return ProtocolRecord(
        name=row.name,
        sha256=row.sha256,
        locked_at=row.locked_at,
        locked_by=row.locked_by,
        spec=dict(row.spec),
        content=row.content,
    )


def get_protocol(session: Session, name: str) -> Protocol:
    """The locked protocol ``name`` or an error listing the locked ones."""
    row = session.scalars(select(Protocol).where(Protocol.name == name)).first()
    if row is None:
        names = list(session.scalars(select(Protocol.name).order_by(Protocol.name)))
        raise InputError(
            f"No locked protocol named {name!r} (locked: {names or 'none'}). Lock one with "
            "`consilience protocol lock PROTOCOL.yaml`."
        )
    return row


def lock(
    session: Session, path: str | os.PathLike[str], *, name: str | None, actor: str
) -> tuple[ProtocolRecord, bool]:
    """Lock the protocol in ``path``; returns the record and whether it was newly locked."""
    data, text, spec = read_protocol_file(path)
    if name is not None:
        spec["name"] = name
    digest = sha256_hex(data)
    existing = session.scalars(select(Protocol).where(Protocol.name == spec["name"])).first()
    if existing is not None:
        if existing.sha256 == digest:
            return _record(existing), False
        changes = diff_specs(existing.spec, spec)
        what = "; ".join(d.message for d in changes) or "only the file's text (comments, layout)"
        raise InputError(
            f"Protocol {spec['name']!r} is already locked (sha256 {existing.sha256[:12]}, "
            f"{existing.locked_at:%Y-%m-%d %H:%M} UTC) and '{path}' differs: {what}. A locked "
            "protocol cannot change; lock the new plan under another name."
        )
    row = Protocol(
        name=spec["name"],
        content=text,
        spec=spec,
        sha256=digest,
        locked_at=utcnow(),
        locked_by=actor,
    )
    session.add(row)
    session.flush()
    return _record(row), True


def record(session: Session, name: str) -> ProtocolRecord:
    """The public record of a locked protocol."""
    return _record(get_protocol(session, name))


def list_protocols(session: Session) -> pd.DataFrame:
    """Locked protocols: ``name, primary_metric, sha256, locked_at, locked_by``."""
    rows = session.scalars(select(Protocol).order_by(Protocol.locked_at, Protocol.id))
    data = [
        {
            "name": r.name,
            "primary_metric": r.spec.get("primary_metric"),
            "sha256": r.sha256,
            "locked_at": r.locked_at,
            "locked_by": r.locked_by,
        }
        for r in rows
    ]
    return pd.DataFrame(
        data, columns=["name", "primary_metric", "sha256", "locked_at", "locked_by"]
    )


def deviations(
    session: Session,
    name: str,
    file_or_options: str | os.PathLike[str] | Mapping[str, Any],
    runs: pd.DataFrame | None,
) -> list[Deviation]:
    """Every deviation of an analysis (a protocol file or its options, and its runs)."""
    locked = record(session, name)
    out: list[Deviation] = []
    if not locked.intact:
        out.append(
            Deviation(
                "sha256",
                locked.sha256,
                sha256_hex(locked.content.encode()),
                message="the stored protocol text no longer matches its locked "
                "SHA-256; the registry was edited outside consilience",
            )
        )
    if isinstance(file_or_options, Mapping):
        out += check_options(locked.spec, file_or_options, where=f"protocol {name!r}")
    elif isinstance(file_or_options, (str, os.PathLike)):
        _, _, spec = read_protocol_file(file_or_options)
        out += diff_specs(locked.spec, spec)
    else:
        raise TypeError(
            "file_or_options must be a protocol file path or a mapping of analysis "
            f"options; got {type(file_or_options).__name__}."
        )
    if runs is not None:
        statuses = {n: st for n, st in session.execute(select(Experiment.name, Experiment.status))}
        out += check_runs(locked.spec, runs, statuses)
    return out
