"""The group analyses an engine can run: a function, its output schema and its warnings."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from consilience.errors import ConsilienceWarning
from consilience.scale.compare import COMPARE_SCHEMA, announce_compare, compare_per_group
from consilience.scale.meta import META_SCHEMA, announce_meta, meta_per_group
from consilience.scale.schema import OutputSchema

__all__ = ["ANALYSES", "ROW", "GroupAnalysis", "run_partition"]

#: Column the Dask engine adds to number rows in input order (reserved).
ROW = "__consilience_row__"


@dataclass(frozen=True)
class GroupAnalysis:
    """A DataFrame-to-DataFrame analysis of groups, as the engines see it.

    Attributes
    ----------
    name : str
        The ``analysis=`` value that selects it.
    function : callable
        ``function(frame, *, by, **options) -> DataFrame``: one row per group of ``frame``, the
        ``by`` columns then the columns of ``schema``. It must give each group the same numbers
        whichever other groups share the frame (engines split groups across partitions).
    schema : OutputSchema
        The declared result columns after the grouping columns.
    announce : callable
        Emits the analysis' warnings from a (combined) result.
    needs : callable
        The input columns the analysis reads, given its options (checked before any work).
    """

    name: str
    function: Callable[..., pd.DataFrame]
    schema: OutputSchema
    announce: Callable[[pd.DataFrame], None]
    needs: Callable[[Mapping[str, Any]], list[str]]

    def run_quiet(self, frame: pd.DataFrame, by: Sequence[str],
                  options: Mapping[str, Any]) -> pd.DataFrame:
        """The analysis of one frame with its warnings silenced (the engine announces them)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConsilienceWarning)
            return self.function(frame, by=list(by), **options)


ANALYSES: dict[str, GroupAnalysis] = {
    "meta": GroupAnalysis("meta", meta_per_group, META_SCHEMA, announce_meta,
                          lambda options: [options["yi"], options["vi"]]),
    "compare": GroupAnalysis("compare", compare_per_group, COMPARE_SCHEMA, announce_compare,
                             lambda options: ["arm", "task", "seed", "metric", "value"]),
}


def run_partition(frame: pd.DataFrame, *, analysis: str, by: tuple[str, ...],
                  options: Mapping[str, Any]) -> pd.DataFrame:
    """Run analysis ``analysis`` on one partition (a worker-side entry point for Dask).

    Rows are first put back in input order (column :data:`ROW`), which a shuffle does not keep.
    """
    if ROW in frame.columns:
        frame = frame.sort_values(ROW, kind="stable").drop(columns=ROW)
    return ANALYSES[analysis].run_quiet(frame, by, options)
