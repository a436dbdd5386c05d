"""``compare_per_group``: one candidate-versus-baseline comparison per group of a runs table."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from consilience._validation import require_columns
from consilience.compare import compare
from consilience.compare.comparison import Method, Test
from consilience.compare.task_effects import Measure
from consilience.errors import ConsilienceError, ConsilienceWarning, DataDroppedWarning
from consilience.scale.meta import by_columns
from consilience.scale.schema import STRING, OutputSchema

__all__ = ["COMPARE_SCHEMA", "announce_compare", "compare_per_group"]

_FLOAT = "float64"

#: Columns of :func:`compare_per_group` after the grouping columns (the fields of
#: :class:`consilience.compare.Comparison`, plus ``n_dropped`` and ``notes``).
COMPARE_SCHEMA = OutputSchema.from_mapping({
    "baseline": STRING, "candidate": STRING, "metric": STRING, "direction": STRING,
    "measure": STRING, "method": STRING, "test": STRING, "level": _FLOAT, "k": "int64",
    "estimate": _FLOAT, "se": _FLOAT, "statistic": _FLOAT, "p_value": _FLOAT, "df": _FLOAT,
    "ci_low": _FLOAT, "ci_high": _FLOAT, "pi_low": _FLOAT, "pi_high": _FLOAT, "tau2": _FLOAT,
    "i2": _FLOAT, "q": _FLOAT, "q_p_value": _FLOAT, "prob_better": _FLOAT, "verdict": STRING,
    "seeds_needed": "Int64", "tasks_needed": "Int64", "n_dropped": "int64", "notes": STRING,
})

_FIELDS = ("baseline", "candidate", "metric", "direction", "measure", "method", "test", "level",
           "k", "estimate", "se", "statistic", "p_value", "df", "ci_low", "ci_high", "pi_low",
           "pi_high", "tau2", "i2", "q", "q_p_value", "prob_better", "verdict", "seeds_needed",
           "tasks_needed")


def compare_per_group(
    frame: pd.DataFrame,
    *,
    by: str | Sequence[str],
    baseline: str,
    candidate: str,
    metric: str | None = None,
    method: Method = "REML",
    test: Test = "knha",
    threshold: float = 0.0,
    rope: float | None = None,
    level: float = 95,
    measure: Measure = "MD",
) -> pd.DataFrame:
    """Compare ``candidate`` with ``baseline`` within each group of a runs table.

    Parameters
    ----------
    frame : DataFrame
        Tidy runs table (``arm, task, seed, metric, value``, ...) with the grouping column(s).
    by : str or list of str
        Grouping column(s), e.g. ``"experiment"`` or ``["experiment", "metric"]``.
    baseline, candidate, metric, method, test, threshold, rope, level, measure :
        As in :func:`consilience.compare.compare`.

    Returns
    -------
    DataFrame
        The ``by`` columns, then the columns of :data:`COMPARE_SCHEMA`: ``baseline,
        candidate, metric, direction, measure, method, test, level, k, estimate, se, statistic,
        p_value, df, ci_low, ci_high, pi_low, pi_high, tau2, i2, q, q_p_value, prob_better,
        verdict, seeds_needed, tasks_needed`` (the :class:`~consilience.compare.Comparison`
        fields; ``df`` NaN for ``test="z"``, the two sample sizes missing unless the verdict is
        inconclusive), ``n_dropped`` (runs left out) and ``notes`` (the comparison's warnings,
        joined by "; "). One row per group, sorted by the group keys.

    Raises
    ------
    InputError
        A group that cannot be compared (e.g. it lacks one of the arms); the message starts
        with the group's keys.

    Warns
    -----
    DataDroppedWarning, ConsilienceWarning
        Counted over the whole result (see :func:`announce_compare`).

    Notes
    -----
    Each group is one :func:`consilience.compare.compare` call (per-task effects, a
    random-effects meta-analysis and a verdict), so every row equals that call on the group's
    runs.

    Validated against: :func:`consilience.compare.compare` group by group (exact equality).
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'frame' must be a pandas DataFrame; got {type(frame).__name__}.")
    by_cols = by_columns(by)
    require_columns(frame, by_cols, what="runs")
    if frame.empty:
        return COMPARE_SCHEMA.empty(frame[by_cols])
    rows: list[dict[str, Any]] = []
    groups = frame.groupby(by_cols, sort=True, dropna=False)
    for key, part in groups:
        keys = dict(zip(by_cols, key, strict=True))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConsilienceWarning)  # kept in 'notes'
                res = compare(part.drop(columns=by_cols), baseline=baseline, candidate=candidate,
                              metric=metric, method=method, test=test, threshold=threshold,
                              rope=rope, level=level, measure=measure)
        except ConsilienceError as exc:
            raise type(exc)(f"group {keys}: {exc}") from exc
        row = {**keys, **{name: getattr(res, name) for name in _FIELDS}}
        row["df"] = float("nan") if res.df is None else res.df
        row["n_dropped"] = res.provenance.n_dropped
        row["notes"] = "; ".join(res.provenance.warnings)
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in by_cols:  # groupby keys come back as Python scalars: restore the input dtype
        out[col] = out[col].astype(frame[col].dtype)
    out = COMPARE_SCHEMA.conform(out, by_cols)
    announce_compare(out)
    return out


def announce_compare(result: pd.DataFrame) -> None:
    """Warn, with counts, about runs left out and groups whose comparison carries notes.

    Runs left out give a :class:`DataDroppedWarning`; other notes (e.g. a single task) a
    :class:`ConsilienceWarning` counting the groups. The counts come from the result's columns,
    so every engine announces the same numbers.
    """
    if result.empty:
        return
    dropped = result["n_dropped"].to_numpy()
    if dropped.any():
        warnings.warn(f"{int(dropped.sum())} run(s) left out across {int((dropped > 0).sum())} "
                      f"group(s); see the 'n_dropped' and 'notes' columns.",
                      DataDroppedWarning, stacklevel=3)
    noted = int(((result["notes"].fillna("") != "").to_numpy() & (dropped == 0)).sum())
    if noted:
        warnings.warn(f"{noted} group(s) carry notes from their comparison; see the 'notes' "
                      f"column.", ConsilienceWarning, stacklevel=3)
