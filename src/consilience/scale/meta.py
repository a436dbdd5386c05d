"""``meta_per_group``: one pooled random-effects result per group of a table of effect sizes."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from consilience._validation import as_float_vector, require_columns
from consilience.errors import (
    ConsilienceWarning,
    ConvergenceWarning,
    DataDroppedWarning,
    SmallSampleWarning,
)
from consilience.pooling import meta_analyze_many
from consilience.pooling.model import Method, TestKind
from consilience.scale.schema import STRING, OutputSchema

__all__ = ["META_SCHEMA", "announce_meta", "meta_per_group"]

_FLOAT = "float64"

#: Columns of :func:`meta_per_group` after the grouping columns (those of
#: :func:`consilience.meta_analyze_many`).
META_SCHEMA = OutputSchema.from_mapping({
    "k": "int64", "n_dropped": "int64", "method": STRING, "test": STRING, "level": _FLOAT,
    "estimate": _FLOAT, "se": _FLOAT, "statistic": _FLOAT, "p_value": _FLOAT, "df": _FLOAT,
    "ci_low": _FLOAT, "ci_high": _FLOAT, "pi_low": _FLOAT, "pi_high": _FLOAT, "tau2": _FLOAT,
    "se_tau2": _FLOAT, "tau2_ci_low": _FLOAT, "tau2_ci_high": _FLOAT, "i2": _FLOAT,
    "i2_ci_low": _FLOAT, "i2_ci_high": _FLOAT, "h2": _FLOAT, "q": _FLOAT, "q_df": _FLOAT,
    "q_p_value": _FLOAT, "converged": "bool",
})


def by_columns(by: str | Sequence[str]) -> list[str]:
    """``by`` as a list of column names (a single name may be passed as a string)."""
    cols = [by] if isinstance(by, str) else list(by)
    if not cols or not all(isinstance(c, str) for c in cols):
        raise TypeError(f"'by' must be a column name or a list of column names; got {by!r}.")
    return cols


def _size_classes(frame: pd.DataFrame, by: list[str], yi: str, vi: str) -> list[np.ndarray]:
    """Row positions grouped by the number of usable studies of their group, smallest first."""
    y = as_float_vector(yi, frame[yi])
    v = as_float_vector(vi, frame[vi])
    codes = frame.groupby(by, sort=False, dropna=False).ngroup().to_numpy()
    usable = ~(np.isnan(y) | np.isnan(v))
    k_of_row = np.bincount(codes[usable], minlength=int(codes.max()) + 1)[codes]
    order = np.argsort(k_of_row, kind="stable")
    sizes = k_of_row[order]
    cuts = np.flatnonzero(np.diff(sizes)) + 1
    return np.split(order, cuts)


def meta_per_group(
    frame: pd.DataFrame,
    *,
    by: str | Sequence[str],
    yi: str = "yi",
    vi: str = "vi",
    method: Method = "REML",
    test: TestKind = "z",
    level: float = 95,
    tau2_ci: bool = True,
    backend: str | None = None,
) -> pd.DataFrame:
    """One row of pooled results per group of ``frame`` (a table of effect sizes).

    Parameters
    ----------
    frame : DataFrame
        One row per study: the grouping column(s), ``yi`` and ``vi``.
    by : str or list of str
        Grouping column(s); one meta-analysis per distinct combination.
    yi, vi : str
        Columns of effect sizes and sampling variances (SE², not SE).
    method, test, level, tau2_ci, backend :
        As in :func:`consilience.meta_analyze_many`.

    Returns
    -------
    DataFrame
        The ``by`` columns, then the columns of :data:`META_SCHEMA` (``k, n_dropped, method,
        test, level, estimate, se, statistic, p_value, df, ci_low, ci_high, pi_low, pi_high,
        tau2, se_tau2, tau2_ci_low, tau2_ci_high, i2, i2_ci_low, i2_ci_high, h2, q, q_df,
        q_p_value, converged``), one row per group, sorted by the group keys. An empty
        ``frame`` gives an empty result with these columns.

    Warns
    -----
    DataDroppedWarning, SmallSampleWarning, ConvergenceWarning
        Counted over the whole result (see :func:`announce_meta`).

    Notes
    -----
    Groups with the same number of usable studies are fitted together in one call of
    :func:`consilience.meta_analyze_many` (one vectorised kernel call, no loop over groups).
    Groups of different sizes go to different calls because padding a group to a larger width
    changes the order of its floating-point sums: this way a group's numbers depend on its own
    rows only, equal its single fit with :func:`consilience.meta_analyze` to the last bit, and
    do not change with the other groups of a partition or with the engine that runs it.

    Validated against: :func:`consilience.meta_analyze` group by group (exact equality),
    metafor 3.8-1 ``rma()`` through it.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'frame' must be a pandas DataFrame; got {type(frame).__name__}.")
    by_cols = by_columns(by)
    require_columns(frame, [*by_cols, yi, vi], what="data")
    if frame.empty:
        return META_SCHEMA.empty(frame[by_cols])
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConsilienceWarning)  # announced once, from the result
        for rows in _size_classes(frame, by_cols, yi, vi):
            parts.append(meta_analyze_many(frame.iloc[rows], by=by_cols, yi=yi, vi=vi,
                                           method=method, test=test, level=level,
                                           tau2_ci=tau2_ci, backend=backend))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out = out.sort_values(by_cols, kind="stable").reset_index(drop=True)
    out = META_SCHEMA.conform(out, by_cols)
    announce_meta(out)
    return out


def announce_meta(result: pd.DataFrame) -> None:
    """Warn, with counts, about what a :func:`meta_per_group` result shows.

    Rows dropped for missing ``yi``/``vi`` (:class:`DataDroppedWarning`), groups of one study
    (:class:`SmallSampleWarning`) and groups whose estimator did not converge
    (:class:`ConvergenceWarning`). The counts come from the result's columns, so every engine
    announces the same numbers however the groups were split.
    """
    if result.empty:
        return
    dropped = result["n_dropped"].to_numpy()
    if dropped.any():
        warnings.warn(f"{int(dropped.sum())} row(s) dropped (missing yi or vi) across "
                      f"{int((dropped > 0).sum())} group(s); see the 'n_dropped' column.",
                      DataDroppedWarning, stacklevel=3)
    single = int((result["k"] == 1).sum())
    if single:
        warnings.warn(f"{single} group(s) have one study: tau² set to 0, no heterogeneity.",
                      SmallSampleWarning, stacklevel=3)
    failed = int((~result["converged"].to_numpy(dtype=bool)).sum())
    if failed:
        warnings.warn(f"{failed} group(s) did not converge; their rows are NaN with "
                      f"converged=False. Try method='DL' or 'PM' for them.",
                      ConvergenceWarning, stacklevel=3)
