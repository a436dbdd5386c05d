"""The typer application and the helpers every command shares.

Exit codes: 0 success, 2 bad input (message on stderr), 1 anything unexpected.
"""

from __future__ import annotations

import functools
import json
import sys
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import typer

from consilience.errors import ConsilienceError, ConsilienceWarning, InputError

app = typer.Typer(
    name="consilience",
    help="Evidence synthesis for ML experiments: which model improvements are real.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def handles_errors(func: F) -> F:
    """Turn our documented errors into exit code 2 with the message on stderr; show warnings."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConsilienceWarning)
            try:
                result = func(*args, **kwargs)
            except (ConsilienceError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
                for w in caught:
                    typer.echo(f"warning: {w.message}", err=True)
                fail(str(exc))
            for w in caught:
                if issubclass(w.category, ConsilienceWarning):
                    typer.echo(f"warning: {w.message}", err=True)
            return result

    return wrapper  # type: ignore[return-value]


def read_table(path: Path, *, what: str = "input") -> pd.DataFrame:
    """Read a CSV, Parquet or JSON table with errors that name the file."""
    if str(path) == "-":
        return pd.read_csv(sys.stdin)
    if not path.exists():
        raise InputError(f"{what} file '{path}' does not exist. Check the path.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".json", ".jsonl"):
            return pd.read_json(path, lines=suffix == ".jsonl")
        return pd.read_csv(path)
    except ImportError as exc:
        raise InputError(f"cannot read '{path}': {exc}. Install the parquet extra: pip install 'consilience[parquet]'.") from exc
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot parse {what} file '{path}' as {suffix.lstrip('.') or 'csv'}: {exc}") from exc


def require_columns(frame: pd.DataFrame, columns: Iterable[tuple[str, str]], path: Path) -> None:
    """Check that the table read from ``path`` has the columns that options name.

    ``columns`` holds ``(option, column)`` pairs; the first column missing raises
    :class:`InputError` naming it, the table's columns and the option to correct.
    """
    for option, col in columns:
        if col not in frame.columns:
            raise InputError(f"column {col!r} is not in '{path}'. Available columns: "
                             f"{list(map(str, frame.columns))}. Name one of them with {option}.")


def echo_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, allow_nan=False))


def show_result(result: Any, as_json: bool) -> None:
    """Print a result: its ``to_dict()`` as JSON with ``--json``, else its text summary."""
    if as_json:
        echo_json(result.to_dict())
    else:
        typer.echo(str(result.summary()))


def format_frame(frame: pd.DataFrame) -> str:
    """A table as text without the index, floats to four decimals."""
    return str(frame.to_string(index=False, float_format=lambda x: f"{x:.4f}"))


def split_list(value: str | None) -> list[str]:
    if not value:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]
