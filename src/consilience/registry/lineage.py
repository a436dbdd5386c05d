"""Baseline lineage: the chain of baselines, with every experiment tried against each.

``consilience log`` prints it. Each step of the chain is an experiment that became the baseline
(a root, or an accepted candidate), followed by every experiment measured against it, whatever
its outcome: accepted, rejected, neutral, failed, or still planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from consilience.registry.experiments import ExperimentRecord, baseline_order

__all__ = ["Lineage", "LineageStep", "build_lineage"]


def _day(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d") if t is not None else "?"


@dataclass(frozen=True)
class LineageStep:
    """One baseline of the chain and the experiments tried against it.

    Attributes
    ----------
    baseline : ExperimentRecord
        The experiment that served as baseline.
    since : datetime
        When it became the baseline (acceptance, or creation for a root).
    tried : tuple of ExperimentRecord
        Experiments measured against it, oldest first, including failed and neutral ones.
    """

    baseline: ExperimentRecord
    since: datetime | None
    tried: tuple[ExperimentRecord, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.to_dict(),
            "since": self.since.isoformat() if self.since else None,
            "tried": [t.to_dict() for t in self.tried],
        }


@dataclass(frozen=True)
class Lineage:
    """The chain of baselines, oldest first.

    Attributes
    ----------
    steps : tuple of LineageStep
    current : str or None
        Name of the current baseline (the last step).
    unattached : tuple of ExperimentRecord
        Experiments measured against something that never served as a baseline (for instance a
        candidate that was later rejected), and roots that were turned down.
    """

    steps: tuple[LineageStep, ...]
    current: str | None
    unattached: tuple[ExperimentRecord, ...]

    def __repr__(self) -> str:
        n = sum(len(s.tried) for s in self.steps)
        return f"<Lineage baselines={len(self.steps)} tried={n} current={self.current!r}>"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (``consilience log --json``)."""
        return {
            "current": self.current,
            "steps": [s.to_dict() for s in self.steps],
            "unattached": [u.to_dict() for u in self.unattached],
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per experiment tried against a baseline of the chain.

        Columns ``baseline, experiment, status, change, hypothesis, created_at, accepted_at``;
        an accepted experiment appears under the baseline it beat, and again as a step.
        """
        rows: list[dict[str, Any]] = []
        for step in self.steps:
            for t in step.tried:
                rows.append(
                    {
                        "baseline": step.baseline.name,
                        "experiment": t.name,
                        "status": t.status,
                        "change": t.change,
                        "hypothesis": t.hypothesis,
                        "created_at": t.created_at,
                        "accepted_at": t.accepted_at,
                    }
                )
        columns = [
            "baseline",
            "experiment",
            "status",
            "change",
            "hypothesis",
            "created_at",
            "accepted_at",
        ]
        return pd.DataFrame(rows, columns=columns)

    def __str__(self) -> str:
        if not self.steps and not self.unattached:
            return "The registry has no experiments yet. Add one with `consilience experiment add`."
        lines: list[str] = []
        for i, step in enumerate(self.steps):
            b = step.baseline
            how = "root" if b.status != "accepted" else "accepted"
            marker = "  <- current baseline" if b.name == self.current else ""
            if i:
                lines.append("|")
            lines.append(f"o {b.name}  ({how} {_day(step.since)}){marker}")
            if b.change:
                lines.append(f"|   change: {b.change}")
            if not step.tried:
                lines.append("|   (nothing tried against it yet)")
            for t in step.tried:
                note = f"  {t.change}" if t.change else ""
                lines.append(f"|   - {t.name}  [{t.status}]  {_day(t.created_at)}{note}")
        if self.unattached:
            lines.append("")
            lines.append("Not on the baseline chain:")
            for u in self.unattached:
                against = f" against {u.baseline}" if u.baseline else ""
                lines.append(f"    {u.name} [{u.status}]{against}")
        return "\n".join(lines)


def build_lineage(records: Sequence[ExperimentRecord]) -> Lineage:
    """Arrange experiments into the chain of baselines.

    Parameters
    ----------
    records : sequence of ExperimentRecord
        Every experiment of the registry.

    Returns
    -------
    Lineage
    """
    order = baseline_order(records)
    chain_names = {r.name for r in order}
    children: dict[str, list[ExperimentRecord]] = {r.name: [] for r in order}
    unattached: list[ExperimentRecord] = []
    for r in sorted(records, key=lambda r: (r.created_at is None, r.created_at, r.name)):
        if r.baseline is not None and r.baseline in chain_names:
            children[r.baseline].append(r)
        elif r.name not in chain_names:
            unattached.append(r)
    steps = tuple(
        LineageStep(baseline=r, since=r.became_baseline_at, tried=tuple(children[r.name]))
        for r in order
    )
    return Lineage(
        steps=steps,
        current=order[-1].name if order else None,
        unattached=tuple(unattached),
    )
