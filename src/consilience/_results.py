"""Shared machinery for result objects: JSON-safe dictionaries, provenance and summaries.

Every public result is a frozen dataclass. This module gives them one face: ``to_dict()`` is
JSON-safe (NaN becomes ``None``, numpy scalars become Python numbers), ``summary()`` returns a
:class:`Summary` that prints as text, renders as HTML in Jupyter and as Markdown for pull requests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Provenance", "Summary", "input_hash", "json_safe", "package_version"]


def package_version() -> str:
    from consilience import __version__

    return __version__


def json_safe(value: Any) -> Any:
    """Convert numpy/pandas values, tuples and NaN to plain JSON-serialisable Python."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return [json_safe(r) for r in value.to_dict(orient="records")]
    if isinstance(value, (np.ndarray, pd.Series)):
        return [json_safe(v) for v in np.asarray(value).tolist()]
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return None if (math.isnan(f) or math.isinf(f)) else f
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def input_hash(*arrays: Any) -> str:
    """SHA-256 over the bytes of the inputs (arrays as float64, frames as CSV), hex, first 16 chars."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"\x00none")
        elif isinstance(a, pd.DataFrame):
            h.update(a.to_csv(index=False).encode())
        elif isinstance(a, str):
            h.update(a.encode())
        else:
            h.update(np.ascontiguousarray(np.asarray(a, dtype=float)).tobytes())
        h.update(b"\x1f")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Provenance:
    """How a result was made: enough to reproduce it and to notice when it is stale."""

    method: str
    k: int
    n_dropped: int = 0
    dropped_reason: str | None = None
    warnings: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    input_hash: str = ""
    version: str = field(default_factory=package_version)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "k": self.k,
            "n_dropped": self.n_dropped,
            "dropped_reason": self.dropped_reason,
            "warnings": list(self.warnings),
            "options": json_safe(dict(self.options)),
            "input_hash": self.input_hash,
            "version": self.version,
        }


def _fmt(v: Any, digits: int) -> str:
    if v is None:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "—"
        if f != 0 and (abs(f) < 10 ** (-digits) or abs(f) >= 1e6):
            return f"{f:.{max(digits - 1, 1)}e}"
        return f"{f:.{digits}f}"
    return str(v)


@dataclass(frozen=True)
class Summary:
    """A printable summary: a title, key-value lines and tables.

    ``str()`` gives a fixed-width text layout (metafor-like), ``_repr_html_`` an HTML table for
    Jupyter (all user strings escaped), ``to_markdown()`` GitHub-flavoured Markdown.
    """

    title: str
    lines: Sequence[tuple[str, Any]] = ()
    tables: Sequence[tuple[str, pd.DataFrame]] = ()
    notes: Sequence[str] = ()
    digits: int = 4

    def _table_text(self, frame: pd.DataFrame) -> str:
        cells = [[str(c) for c in frame.columns]]
        for row in frame.itertuples(index=False):
            cells.append([_fmt(v, self.digits) for v in row])
        widths = [max(len(r[j]) for r in cells) for j in range(len(cells[0]))]
        out = []
        for i, r in enumerate(cells):
            out.append("  ".join(c.rjust(w) if i else c.rjust(w) for c, w in zip(r, widths)))
        return "\n".join(out)

    def __str__(self) -> str:
        parts = [self.title, "=" * len(self.title)]
        if self.lines:
            width = max(len(k) for k, _ in self.lines)
            parts += [f"{k.ljust(width)} : {_fmt(v, self.digits)}" for k, v in self.lines]
        for name, frame in self.tables:
            parts += ["", name, self._table_text(frame)]
        if self.notes:
            parts += [""] + [f"Note: {n}" for n in self.notes]
        return "\n".join(parts)

    def __repr__(self) -> str:
        return self.__str__()

    def _repr_html_(self) -> str:
        esc = html.escape
        out = [f"<div class='consilience-summary'><h4>{esc(self.title)}</h4>"]
        if self.lines:
            out.append("<table>")
            out += [f"<tr><th>{esc(k)}</th><td>{esc(_fmt(v, self.digits))}</td></tr>" for k, v in self.lines]
            out.append("</table>")
        for name, frame in self.tables:
            out.append(f"<h5>{esc(name)}</h5><table><tr>")
            out += [f"<th>{esc(str(c))}</th>" for c in frame.columns]
            out.append("</tr>")
            for row in frame.itertuples(index=False):
                out.append("<tr>" + "".join(f"<td>{esc(_fmt(v, self.digits))}</td>" for v in row) + "</tr>")
            out.append("</table>")
        out += [f"<p>Note: {esc(n)}</p>" for n in self.notes]
        out.append("</div>")
        return "".join(out)

    def to_markdown(self) -> str:
        def cell(s: str) -> str:
            return s.replace("|", "\\|")

        out = [f"### {cell(self.title)}", ""]
        if self.lines:
            out += ["| quantity | value |", "|---|---|"]
            out += [f"| {cell(k)} | {cell(_fmt(v, self.digits))} |" for k, v in self.lines]
        for name, frame in self.tables:
            out += ["", f"**{cell(name)}**", ""]
            out.append("| " + " | ".join(cell(str(c)) for c in frame.columns) + " |")
            out.append("|" + "---|" * len(frame.columns))
            for row in frame.itertuples(index=False):
                out.append("| " + " | ".join(cell(_fmt(v, self.digits)) for v in row) + " |")
        out += [""] + [f"_Note: {cell(n)}_" for n in self.notes]
        return "\n".join(out).rstrip() + "\n"
