"""The Dask engine: read or split the data, shuffle on the group keys, one analysis per partition.

Dask and distributed are optional; they are imported here, when the engine is used, with an
install hint when missing.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd

from consilience.errors import InputError, MissingDependencyError
from consilience.scale.analyses import ROW, GroupAnalysis, run_partition

__all__ = ["dask_frame", "import_dask", "run_dask", "with_row_numbers"]

_ROWS_PER_PARTITION = 100_000
_INSTALL = "pip install 'dask[dataframe]' distributed"


def import_dask() -> tuple[Any, Any]:
    """``(dask.dataframe, distributed)``, or :class:`MissingDependencyError` with the fix."""
    try:
        import dask.dataframe as dd
        import distributed
    except ImportError as exc:
        raise MissingDependencyError(
            f"engine='dask' needs dask[dataframe] and distributed, which are not installed "
            f"({exc}). Install them with: {_INSTALL}, or use engine='local'."
        ) from exc
    return dd, distributed


def dask_frame(data: pd.DataFrame | str | Path, npartitions: int | None) -> Any:
    """A Dask DataFrame of ``data``: split from a pandas frame, or read by Dask from a path.

    Parquet (a file, a directory of files or a glob, local or on shared storage) and CSV (a file
    or a glob) are read by the workers themselves; the path must be valid where they run.
    """
    dd, _ = import_dask()
    if isinstance(data, pd.DataFrame):
        n = npartitions or max(1, -(-len(data) // _ROWS_PER_PARTITION))
        return dd.from_pandas(data, npartitions=n, sort=False)
    text = str(data)
    lower = text.lower().rstrip("/")
    if lower.endswith((".csv", ".csv.gz")):
        return dd.read_csv(text)
    if lower.endswith((".parquet", ".pq")) or ("://" not in text and Path(text).is_dir()):
        return dd.read_parquet(text)
    raise InputError(f"cannot tell the format of '{text}': give a .parquet/.pq file or directory, "
                     f"or a .csv file, to engine='dask'.")


def with_row_numbers(frame: Any) -> Any:
    """``frame`` with a column numbering its rows in input order (a cumulative sum over the
    partitions), so that a partition can restore the input order of its groups' rows."""
    if ROW in frame.columns:
        raise InputError(f"the data has a column named {ROW!r}, a name the Dask engine reserves. "
                         f"Rename it.")
    return frame.assign(**{ROW: 1}).assign(**{ROW: lambda f: f[ROW].cumsum()})


def _client(scheduler: Any, distributed: Any) -> tuple[Any, bool]:
    """The client to compute with and whether this call opened it (and must close it)."""
    if scheduler is None:
        try:
            return distributed.default_client(), False
        except ValueError:  # no cluster in this process: Dask's local scheduler
            return None, False
    if isinstance(scheduler, distributed.Client):
        return scheduler, False
    if isinstance(scheduler, str):
        try:
            return distributed.Client(scheduler, timeout="20s", set_as_default=False), True
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}. Check the "
                             f"address (tcp://HOST:8786) and that 'dask scheduler' runs "
                             f"there.") from exc
    raise TypeError(f"'scheduler' must be an address such as 'tcp://10.0.0.5:8786' or a "
                    f"distributed.Client; got {type(scheduler).__name__}.")


def run_dask(frame: Any, *, analysis: GroupAnalysis, by: list[str], options: dict[str, Any],
             scheduler: Any, npartitions: int | None) -> pd.DataFrame:
    """Run ``analysis`` on every group of the Dask DataFrame ``frame`` and collect the rows.

    The rows are numbered in input order and shuffled on the ``by`` columns, so that each group
    lies wholly in one partition; each partition is then one call of the analysis
    (``map_partitions`` with the declared schema as ``meta``), which fits all its groups at once
    after putting their rows back in input order (the order of a group's rows is the order of
    its floating-point sums).
    """
    _, distributed = import_dask()
    meta = analysis.schema.empty(frame._meta[by])
    shuffled = with_row_numbers(frame).shuffle(on=by, npartitions=npartitions)
    task = functools.partial(run_partition, analysis=analysis.name, by=tuple(by), options=options)
    result = shuffled.map_partitions(task, meta=meta)
    client, opened = _client(scheduler, distributed)
    try:
        out = result.compute(scheduler=client) if client is not None else result.compute()
    finally:
        if opened:
            client.close()
    return pd.DataFrame(out)
