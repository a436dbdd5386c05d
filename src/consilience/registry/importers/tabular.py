"""Import a long-format runs table from CSV, TSV, Parquet, JSON or JSON Lines.

The file holds one row per run and metric with the columns of
:data:`consilience.registry.runs_table.RUN_COLUMNS` (``experiment, arm, task, metric, value``
required). Text columns are read as text, so a task called ``01`` stays ``01``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from consilience.errors import InputError
from consilience.registry.ingest import ImportReport, ProgressCallback
from consilience.registry.runs_table import RowLabel

if TYPE_CHECKING:
    from consilience.registry.store import Registry

__all__ = ["FORMATS", "import_table", "read_runs_file"]

Format = Literal["csv", "tsv", "parquet", "json", "jsonl"]
FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_TEXT_COLUMNS = ("experiment", "arm", "task", "metric", "status", "item", "source", "external_id")


def _detect(path: Path, fmt: str | None) -> Format:
    if fmt is not None:
        allowed = sorted(set(FORMATS.values()))
        if fmt not in allowed:
            raise InputError(
                f"The 'format' parameter must be one of {allowed}. Got {fmt!r} instead."
            )
        return fmt
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise InputError(
            f"Cannot tell the format of '{path}' from its extension. Name it .csv, "
            ".parquet, .json or .jsonl, or pass the format explicitly."
        )
    return found


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    header = pd.read_csv(path, sep=sep, nrows=0).columns
    text = {c: "str" for c in header if str(c).strip().lower() in _TEXT_COLUMNS}
    return pd.read_csv(path, sep=sep, dtype=text)


def _read_json(path: Path, lines: bool) -> pd.DataFrame:
    with open(path, encoding="utf-8") as fh:
        if lines:
            records = []
            for i, line in enumerate(fh):
                if not line.strip():
                    continue
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise InputError(
                        f"{path}, line {i + 1}: not valid JSON ({exc.msg}). "
                        "Write one JSON object per line."
                    ) from exc
            data: Any = records
        else:
            try:
                data = json.load(fh)
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, "
                    f"column {exc.colno}). Fix the file's syntax."
                ) from exc
    if isinstance(data, dict) and all(isinstance(v, (dict, list)) for v in data.values()):
        return pd.DataFrame(data)  # pandas' to_json(orient="columns") layout
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        return pd.DataFrame.from_records(data)
    raise InputError(
        f'{path}: expected a list of run objects ([{{"experiment": ..., ...}}, ...]) '
        "or a mapping of columns; got something else. Write records, one per run "
        "and metric."
    )


def read_runs_file(
    path: str | os.PathLike[str], *, format: str | None = None
) -> tuple[pd.DataFrame, RowLabel]:
    """Read a runs file and say how its rows are named in error messages.

    Parameters
    ----------
    path : path-like
        The file.
    format : {'csv', 'tsv', 'parquet', 'json', 'jsonl'}, optional
        Default: from the extension.

    Returns
    -------
    frame : pandas.DataFrame
    label : callable
        Row position to ``"line N"`` (CSV, JSON Lines) or ``"row N"``/``"record N"``.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"Runs file '{p}' does not exist. Check the path.")
    fmt = _detect(p, format)
    try:
        if fmt in ("csv", "tsv"):
            frame = _read_delimited(p, "," if fmt == "csv" else "\t")
        elif fmt == "parquet":
            frame = pd.read_parquet(p)
        else:
            frame = _read_json(p, lines=fmt == "jsonl")
    except ImportError as exc:
        raise InputError(
            f"Cannot read '{p}': {exc}. Install the parquet extra: "
            "pip install 'consilience[parquet]'."
        ) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"'{p}' is not UTF-8 text ({exc}). Save it as UTF-8.") from exc
    except (ValueError, pd.errors.ParserError, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"Cannot parse '{p}' as {fmt}: {exc}. Check the file.") from exc
    labels: dict[str, RowLabel] = {
        "csv": lambda i: f"line {i + 2}",
        "tsv": lambda i: f"line {i + 2}",
        "jsonl": lambda i: f"record {i + 1}",
        "json": lambda i: f"record {i + 1}",
        "parquet": lambda i: f"row {i + 1}",
    }
    return frame, labels[fmt]


def import_table(
    registry: Registry,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    source: str = "table",
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a long-format runs file into ``registry`` in one transaction.

    Parameters
    ----------
    registry : Registry
    path : path-like
        CSV, TSV, Parquet, JSON (list of records) or JSON Lines file.
    format : str, optional
        Overrides detection from the extension.
    source : str
        ``source`` of rows without a ``source`` column. With the default external id (the row's
        experiment/arm/task/seed/metric/item), the same run imported again from any file with
        the same source is recognised and left unchanged.
    progress : callable, optional
        ``progress(done, total)`` after each batch.

    Returns
    -------
    ImportReport

    Raises
    ------
    InputError
        Naming the file, line/row, column, value and fix; nothing is written.
    """
    frame, label = read_runs_file(path, format=format)
    return registry.import_runs(
        frame, origin=str(path), source=source, label=label, progress=progress
    )
