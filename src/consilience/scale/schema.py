"""Declared output schemas of the group analyses: column names and dtypes, fixed in advance.

A distributed engine must know the columns and dtypes of a result before computing it (Dask's
``meta=``), and a result must have the same columns whatever the data, so every group analysis
declares its output as an :class:`OutputSchema`. The grouping columns come first and keep the
dtypes of the input; the analysis columns follow, with the declared dtypes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["STRING", "OutputSchema", "normalise_keys"]

#: The dtype pandas gives a column of Python strings (``str`` in pandas 3, ``object`` before).
STRING: Any = pd.Series(["x"]).dtype


@dataclass(frozen=True)
class OutputSchema:
    """Columns and dtypes of a group analysis' result, after the grouping columns.

    Attributes
    ----------
    columns : tuple of (str, dtype)
        Column names in order with their dtypes (``"float64"``, ``"int64"``, ``"bool"`` or
        :data:`STRING`).
    """

    columns: tuple[tuple[str, Any], ...]

    @classmethod
    def from_mapping(cls, columns: Mapping[str, Any]) -> OutputSchema:
        return cls(tuple(columns.items()))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def dtypes(self) -> dict[str, Any]:
        return dict(self.columns)

    def empty(self, keys: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
        """A result with no rows: the grouping columns (dtypes of ``keys``), then the schema's."""
        key_dtypes = keys.dtypes.to_dict() if isinstance(keys, pd.DataFrame) else dict(keys)
        data = {name: pd.Series([], dtype=dtype) for name, dtype in key_dtypes.items()}
        data.update({name: pd.Series([], dtype=dtype) for name, dtype in self.columns})
        return pd.DataFrame(data)

    def conform(self, frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
        """``frame`` with exactly the grouping columns then the schema's, in the declared dtypes.

        Raises
        ------
        ValueError
            When a declared column is missing (a bug in the analysis, not in the input).
        """
        missing = [name for name in self.names if name not in frame.columns]
        if missing:
            raise ValueError(f"analysis result lacks declared column(s) {missing}.")
        out = frame[[*by, *self.names]]
        casts = {name: dtype for name, dtype in self.columns if out[name].dtype != dtype}
        return out.astype(casts) if casts else out.copy()


def normalise_keys(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Give text grouping columns the default string dtype, whatever reader or engine made them.

    pandas, pyarrow and Dask read the same text column as ``object``, ``str`` or
    ``string[pyarrow]``; results of different engines compare equal only with one dtype.
    """
    casts = {col: STRING for col in by
             if (frame[col].dtype == np.dtype("O") or isinstance(frame[col].dtype, pd.StringDtype))
             and frame[col].dtype != STRING}
    return frame.astype(casts) if casts else frame
