"""Deviations: every way an analysis departs from its locked protocol.

An analysis under a locked protocol reports its options (or the protocol file it ran with) and
the runs it used; :func:`check_options`, :func:`diff_specs` and :func:`check_runs` compare them
with the locked protocol field by field. Each difference is a :class:`Deviation`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from consilience.errors import InputError
from consilience.registry.protocol import normalise_spec

__all__ = ["OPTION_ALIASES", "Deviation", "check_options", "check_runs", "diff_specs"]

OPTION_ALIASES: dict[str, str] = {
    "metric": "primary_metric",
    "primary_metric": "primary_metric",
    "secondary_metrics": "secondary_metrics",
    "direction": "direction",
    "method": "model.method",
    "test": "model.test",
    "level": "model.level",
    "experiments": "inclusion.experiments",
    "arms": "inclusion.arms",
    "tasks": "inclusion.tasks",
    "run_statuses": "inclusion.run_statuses",
    "experiment_statuses": "inclusion.experiment_statuses",
    "rope": "rope",
    "min_effect": "min_effect",
    "stopping_rule": "stopping_rule",
}
"""Flat analysis options accepted by :func:`check_options`, and the protocol field each checks."""


@dataclass(frozen=True)
class Deviation:
    """One way an analysis departs from its locked protocol.

    Attributes
    ----------
    field : str
        Dotted protocol field (``model.method``, ``inclusion.tasks``, ``primary_metric``).
    locked, used : object
        The pre-registered value and the one actually used (JSON-safe).
    message : str
        One sentence for a report.
    kind : {'option', 'data'}
        ``option``: an analysis setting differs; ``data``: the runs analysed break the
        inclusion criteria or leave out pre-registered ones.
    """

    field: str
    locked: Any
    used: Any
    message: str
    kind: Literal["option", "data"] = "option"

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "locked": self.locked,
            "used": self.used,
            "message": self.message,
            "kind": self.kind,
        }


def _flatten(spec: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in spec.items():
        if key in ("inclusion", "model") and isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _describe(field: str, locked: Any, used: Any) -> str:
    if isinstance(locked, list) and isinstance(used, list):
        added = sorted(set(used) - set(locked))
        removed = sorted(set(locked) - set(used))
        parts = ([f"added {added}"] if added else []) + ([f"removed {removed}"] if removed else [])
        return f"{field}: {', '.join(parts)} (locked {locked})"
    return f"{field}: locked {locked!r}, used {used!r}"


def diff_specs(
    locked: Mapping[str, Any], used: Mapping[str, Any], *, only_present: bool = False
) -> list[Deviation]:
    """Field-by-field differences between a locked protocol and another (or partial) spec."""
    a, b = _flatten(locked), _flatten(used)
    fields = sorted(b) if only_present else sorted(set(a) | set(b), key=lambda f: (f not in a, f))
    out = []
    for f in fields:
        if f == "name" or a.get(f) == b.get(f):
            continue
        out.append(
            Deviation(
                field=f, locked=a.get(f), used=b.get(f), message=_describe(f, a.get(f), b.get(f))
            )
        )
    return out


def check_options(
    locked: Mapping[str, Any], options: Mapping[str, Any], *, where: str
) -> list[Deviation]:
    """Compare the options an analysis used with the locked protocol.

    ``options`` is either protocol-shaped (``{"model": {"method": "DL"}}``) or flat, with the
    keys of :data:`OPTION_ALIASES` (``{"metric": "accuracy", "method": "DL", "tasks": [...]}``).
    Only the options given are compared.
    """
    nested: dict[str, Any] = {}
    for key, value in options.items():
        path = OPTION_ALIASES.get(key) if key not in ("inclusion", "model") else key
        if path is None:
            close = difflib.get_close_matches(
                str(key), list(OPTION_ALIASES) + ["inclusion", "model"], n=1
            )
            hint = f"Did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"{where}: unknown analysis option {key!r}. {hint}"
                f"Known options: {sorted(OPTION_ALIASES)}."
            )
        if "." in path:
            outer, inner = path.split(".")
            nested.setdefault(outer, {})[inner] = value
        elif isinstance(value, Mapping) and path in nested:
            nested[path].update(value)
        else:
            nested[path] = value
    return diff_specs(locked, normalise_spec(nested, where, partial=True), only_present=True)


def check_runs(
    locked: Mapping[str, Any],
    runs: pd.DataFrame,
    experiment_status: Mapping[str, str] | None = None,
) -> list[Deviation]:
    """Check the runs an analysis used against the protocol's metrics and inclusion criteria.

    Reports runs outside an inclusion list, pre-registered experiments and tasks missing from
    the runs (a silently dropped task is a deviation), a missing primary metric and metrics
    analysed that were never registered.
    """
    out: list[Deviation] = []
    inclusion = locked.get("inclusion") or {}
    columns = {
        "experiments": "experiment",
        "arms": "arm",
        "tasks": "task",
        "run_statuses": "status",
    }
    for key, column in columns.items():
        allowed = inclusion.get(key)
        if allowed is None or column not in runs.columns:
            continue
        present = sorted({str(v) for v in runs[column].dropna().unique()})
        outside = sorted(set(present) - set(allowed))
        if outside:
            out.append(
                Deviation(
                    f"inclusion.{key}",
                    allowed,
                    present,
                    kind="data",
                    message=f"inclusion.{key}: runs with {column} {outside} are "
                    f"outside the pre-registered {allowed}",
                )
            )
        if key in ("experiments", "tasks"):
            absent = sorted(set(allowed) - set(present))
            if absent:
                out.append(
                    Deviation(
                        f"inclusion.{key}",
                        allowed,
                        present,
                        kind="data",
                        message=f"inclusion.{key}: pre-registered {absent} missing "
                        "from the runs analysed",
                    )
                )
    allowed_status = inclusion.get("experiment_statuses")
    if allowed_status is not None and experiment_status and "experiment" in runs.columns:
        used = sorted({str(e) for e in runs["experiment"].dropna().unique()})
        bad = sorted(e for e in used if experiment_status.get(e) not in allowed_status)
        if bad:
            out.append(
                Deviation(
                    "inclusion.experiment_statuses",
                    allowed_status,
                    {e: experiment_status.get(e) for e in bad},
                    kind="data",
                    message=f"inclusion.experiment_statuses: experiments {bad} have "
                    f"a status outside {allowed_status}",
                )
            )
    if "metric" in runs.columns:
        metrics = sorted({str(m) for m in runs["metric"].dropna().unique()})
        primary = locked.get("primary_metric")
        if primary not in metrics:
            out.append(
                Deviation(
                    "primary_metric",
                    primary,
                    metrics,
                    kind="data",
                    message=f"primary_metric: {primary!r} is absent from the runs "
                    f"analysed (metrics: {metrics})",
                )
            )
        registered = {primary, *(locked.get("secondary_metrics") or [])}
        extra = sorted(set(metrics) - registered)
        if extra:
            out.append(
                Deviation(
                    "secondary_metrics",
                    sorted(registered),
                    metrics,
                    kind="data",
                    message=f"metrics {extra} analysed but not pre-registered",
                )
            )
    return out
