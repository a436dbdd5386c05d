"""The public effect-size function: metafor's ``escalc`` for the measures ML comparisons need.

Inputs are validated here, once, from the declarations in the measure registry; the family modules
only hold formulas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from consilience._validation import as_float_vector, check_choice, describe_rows, require_columns

# The family modules register their measures on import.
from consilience.effects import binary, continuous, correlations, paired, proportions  # noqa: F401
from consilience.effects._registry import (
    ARGUMENTS,
    MEASURES,
    Bound,
    FloatArray,
    Measure,
    To,
    ZeroCellOptions,
)
from consilience.errors import InputError

__all__ = ["effect_sizes"]

Column = str | npt.ArrayLike | None
"""A column name of ``data`` or an array-like with one value per study."""

_TO_OPTIONS: tuple[str, ...] = ("only0", "all", "if0all", "none")

_RULE_TEXT: Mapping[Bound, str] = {
    "nonnegative": "must be >= 0",
    "positive": "must be > 0",
    "correlation": "must lie between -1 and 1",
}

_FIX: Mapping[str, str] = {
    "ai": "Counts of events cannot be negative; check the column.",
    "bi": "Counts of non-events cannot be negative; check the column.",
    "ci": "Counts of events cannot be negative; check the column.",
    "di": "Counts of non-events cannot be negative; check the column.",
    "xi": "Counts of events cannot be negative; check the column.",
    "mi": "Counts of non-events cannot be negative; check the column.",
    "n1i": "Pass the number of units (runs, seeds, items) in group 1.",
    "n2i": "Pass the number of units (runs, seeds, items) in group 2.",
    "ni": "Pass the number of units (runs, seeds, items) of each study.",
    "sd1i": "Pass standard deviations, not differences or signed values.",
    "sd2i": "Pass standard deviations, not differences or signed values.",
    "ri": "Pass a correlation coefficient, not a covariance or R^2 in percent.",
}


def effect_sizes(
    measure: str,
    *,
    ai: Column = None,
    bi: Column = None,
    ci: Column = None,
    di: Column = None,
    n1i: Column = None,
    n2i: Column = None,
    m1i: Column = None,
    sd1i: Column = None,
    m2i: Column = None,
    sd2i: Column = None,
    xi: Column = None,
    mi: Column = None,
    ni: Column = None,
    ri: Column = None,
    data: pd.DataFrame | None = None,
    add: float = 0.5,
    to: To = "only0",
    drop00: bool = False,
) -> pd.DataFrame:
    r"""Compute effect sizes and their sampling variances, as metafor's ``escalc``.

    Parameters
    ----------
    measure : str
        Measure code (case-insensitive): ``MD``, ``SMD``, ``ROM`` (two groups, means and SDs:
        ``m1i, sd1i, n1i, m2i, sd2i, n2i``); ``RD``, ``RR``, ``OR`` (2x2 tables: ``ai, ci`` and
        ``bi`` or ``n1i``, ``di`` or ``n2i``); ``PR``, ``PLO`` (one proportion: ``xi`` and ``ni``
        or ``mi``); ``COR``, ``ZCOR`` (correlations: ``ri, ni``); ``MC``, ``SMCC`` (paired means:
        ``m1i, m2i, sd1i, sd2i, ni, ri``).
    ai, bi, ci, di, n1i, n2i, m1i, sd1i, m2i, sd2i, xi, mi, ni, ri : str or array-like, optional
        The data, named as in metafor. Each is an array-like with one value per study, or, when
        ``data`` is given, a column name of ``data``. A single number is repeated for every
        study. NaN marks a missing value and gives NaN results for that study.
    data : pandas.DataFrame, optional
        Table holding the columns named by string arguments. When given, the result is a copy of
        it with ``yi`` and ``vi`` appended (existing ``yi``/``vi`` columns are replaced).
    add : float, default 0.5
        Amount added to the cells of 2x2 tables (RD, RR, OR) and to ``xi``/``mi`` (PR, PLO) of
        the studies selected by ``to``.
    to : {"only0", "all", "if0all", "none"}, default "only0"
        Which studies get ``add``: those with a zero cell, all, all when any study has a zero
        cell, or none.
    drop00 : bool, default False
        Set ``yi``/``vi`` of 2x2 studies with no events (or only events) in both groups to NaN
        instead of correcting them.

    Returns
    -------
    pandas.DataFrame
        One row per study (a copy of ``data`` when given) with columns:

        - ``yi``: the effect size of the study (float; NaN where undefined);
        - ``vi``: its sampling variance, SE² (float; NaN where undefined).

        ``attrs["measure"]`` holds the measure code.

    Raises
    ------
    InputError
        Unknown measure; a needed argument missing or an argument the measure does not use;
        non-numeric or infinite values; negative counts or SDs; group sizes <= 0 (``n1i``,
        ``n2i`` of 2x2 tables may be 0); ``|ri| > 1``; events larger than the group size;
        ``n1i != ai + bi`` when both are given. Messages name the row.
    TypeError
        ``measure``/``to`` not strings, ``data`` not a DataFrame, ``add`` not a number,
        ``drop00`` not a bool, a column name given without ``data``.

    Notes
    -----
    The formulas are in the family modules (:mod:`~consilience.effects.continuous`,
    :mod:`~consilience.effects.binary`, :mod:`~consilience.effects.proportions`,
    :mod:`~consilience.effects.correlations`, :mod:`~consilience.effects.paired`); variances
    are metafor's defaults (vtype "LS"), and SMD/SMCC use the exact gamma-function correction

    .. math:: c(m) = \frac{\Gamma(m/2)}{\sqrt{m/2}\,\Gamma((m-1)/2)}.

    Undefined values are NaN without a warning: when ``yi`` is NaN or either value is infinite
    (e.g. ROM with a mean <= 0, SMD with a zero pooled SD, a log ratio with a zero cell and
    ``to="none"``), both ``yi`` and ``vi`` are NaN; a negative ``vi`` becomes NaN. COR and ZCOR
    keep ``yi`` and set ``vi`` to NaN for ``ni <= 3``. This matches metafor, which recodes the
    same rows to NA (with a warning), except that metafor keeps a ``vi`` whose ``yi`` is NA
    because an input was missing; here ``vi`` is NaN too.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48.

    Examples
    --------
    Accuracy of a new model (group 1) and a baseline (group 2) over 5 seeds each:

    >>> effect_sizes("SMD", m1i=[0.82], sd1i=[0.02], n1i=[5], m2i=[0.80], sd2i=[0.03], n2i=[5])
             yi        vi
    0  0.708139  0.425073

    Validated against: metafor 3.8-1, ``escalc(measure, ...)`` for every measure above
    (``tests/reference/metafor_escalc``).
    """
    code = check_choice("measure", measure, MEASURES)
    spec = MEASURES[code]
    if data is not None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"'data' must be a pandas DataFrame or None; got {type(data).__name__}.")
    options = _options(add, to, drop00)
    values = (ai, bi, ci, di, n1i, n2i, m1i, sd1i, m2i, sd2i, xi, mi, ni, ri)
    given = {name: v for name, v in zip(ARGUMENTS, values, strict=True) if v is not None}
    _check_arguments(spec, given)

    labels = _row_labels(data)
    shown = {name: _shown(name, v) for name, v in given.items()}
    arrays = {name: _column(name, v, data, labels) for name, v in given.items()}
    arrays = _common_length(arrays, data)
    _check_bounds(spec, arrays, shown, labels)
    x = _complete_splits(spec, arrays, shown, labels)
    derived = _derived_names(spec, arrays)
    _check_bounds(spec, {n: x[n] for n in derived}, derived, labels)

    with np.errstate(all="ignore"):
        yi, vi = spec.compute(x, options)
        yi, vi = _undefined_to_nan(yi, vi)

    if data is None:
        out = pd.DataFrame({"yi": yi, "vi": vi})
    else:
        out = data.copy()
        out["yi"] = yi
        out["vi"] = vi
    out.attrs["measure"] = code
    return out


def _options(add: float, to: str, drop00: bool) -> ZeroCellOptions:
    if isinstance(add, bool) or not isinstance(add, (int, float, np.integer, np.floating)):
        raise TypeError(f"The 'add' parameter must be a number such as 0.5. Got {add!r} instead.")
    if not math.isfinite(float(add)) or add < 0:
        raise InputError(
            f"The 'add' parameter must be a finite number >= 0. Got {add!r} instead. "
            f"Use add=0.5 (metafor's default), or to='none' for no correction."
        )
    to_checked = check_choice("to", to, _TO_OPTIONS)
    if not isinstance(drop00, (bool, np.bool_)):
        raise TypeError(f"The 'drop00' parameter must be True or False. Got {drop00!r} instead.")
    return ZeroCellOptions(add=float(add), to=cast(To, to_checked), drop00=bool(drop00))


def _check_arguments(spec: Measure, given: Mapping[str, Any]) -> None:
    accepted = spec.arguments
    unused = [name for name in given if name not in accepted]
    if unused:
        raise InputError(
            f"measure '{spec.code}' ({spec.description}) does not use {', '.join(unused)}; "
            f"it needs {spec.needs()}. Got {', '.join(given)}. Remove {', '.join(unused)}, or "
            f"choose the measure that matches your data."
        )
    missing = [name for name in spec.required if name not in given]
    missing += [
        f"{s.complement} or {s.total}"
        for s in spec.splits
        if s.complement not in given and s.total not in given
    ]
    if missing:
        raise InputError(
            f"measure '{spec.code}' ({spec.description}) needs {spec.needs()}; missing: "
            f"{'; '.join(missing)}. Pass each as an array with one value per study, or as a "
            f"column name of data=."
        )


def _row_labels(data: pd.DataFrame | None) -> Sequence[Any] | None:
    if data is None or data.index.equals(pd.RangeIndex(len(data))):
        return None
    return list(data.index)


def _shown(name: str, value: Any) -> str:
    return f"'{name}' (column '{value}')" if isinstance(value, str) else f"'{name}'"


def _column(
    name: str, value: Any, data: pd.DataFrame | None, labels: Sequence[Any] | None
) -> FloatArray:
    if isinstance(value, str):
        if data is None:
            raise TypeError(
                f"'{name}' is the column name {value!r}, but no data= table was given. Pass "
                f"data=<DataFrame>, or pass the values themselves."
            )
        require_columns(data, [value], what="data")
        try:
            return as_float_vector(name, data[value], labels=labels)
        except InputError as exc:
            message = str(exc).replace(f"'{name}'", _shown(name, value), 1)
            raise InputError(message) from None
    return as_float_vector(name, value, labels=labels)


def _common_length(
    arrays: Mapping[str, FloatArray], data: pd.DataFrame | None
) -> dict[str, FloatArray]:
    lengths = {name: a.size for name, a in arrays.items()}
    if data is not None:
        k = len(data)
    else:
        longer = {n for n in lengths.values() if n != 1}
        k = longer.pop() if len(longer) == 1 else (1 if not longer else -1)
    if k < 0 or any(n not in (1, k) for n in lengths.values()):
        where = f" (data has {len(data)} rows)" if data is not None else ""
        raise InputError(
            f"The data arguments must have one value per study{where}; got lengths {lengths}. "
            f"Pass arrays of equal length (a single number is repeated for every study)."
        )
    return {name: np.broadcast_to(a, (k,)).astype(float) for name, a in arrays.items()}


def _check_bounds(
    spec: Measure,
    arrays: Mapping[str, FloatArray],
    shown: Mapping[str, str],
    labels: Sequence[Any] | None,
) -> None:
    for name, values in arrays.items():
        rule = spec.bounds.get(name)
        if rule is None:
            continue
        if rule == "nonnegative":
            bad = values < 0
        elif rule == "positive":
            bad = values <= 0
        else:
            bad = np.abs(values) > 1
        rows = np.flatnonzero(bad)
        if rows.size:
            raise InputError(
                f"{shown[name]} {_RULE_TEXT[rule]} for measure '{spec.code}'; got "
                f"{values[rows[0]]:g} at {_rows(rows, labels)}. {_FIX[name]}"
            )


def _complete_splits(
    spec: Measure,
    arrays: Mapping[str, FloatArray],
    shown: Mapping[str, str],
    labels: Sequence[Any] | None,
) -> dict[str, FloatArray]:
    x = dict(arrays)
    for s in spec.splits:
        part, comp, total = x[s.part], x.get(s.complement), x.get(s.total)
        if comp is not None and total is not None:
            rows = np.flatnonzero(
                np.abs(part + comp - total) > 1e-9 * np.maximum(1.0, np.abs(total))
            )
            if rows.size:
                r = rows[0]
                raise InputError(
                    f"{shown[s.total]} must equal {s.part} + {s.complement}; got {s.total}="
                    f"{total[r]:g} but {s.part} + {s.complement} = {part[r] + comp[r]:g} at "
                    f"{_rows(rows, labels)}. Pass only one of {s.complement} and "
                    f"{s.total}, or correct the counts."
                )
        if total is not None:
            rows = np.flatnonzero(part > total)
            if rows.size:
                r = rows[0]
                raise InputError(
                    f"{shown[s.part]} must be <= {s.total} (events cannot exceed the group "
                    f"size); got {s.part}={part[r]:g} and {s.total}={total[r]:g} at "
                    f"{_rows(rows, labels)}. Check that the columns are not swapped."
                )
            if comp is None:
                x[s.complement] = total - part
        elif comp is not None:
            x[s.total] = part + comp
    return x


def _derived_names(spec: Measure, arrays: Mapping[str, FloatArray]) -> dict[str, str]:
    names: dict[str, str] = {}
    for s in spec.splits:
        if s.total not in arrays:
            names[s.total] = f"'{s.total}' (= {s.part} + {s.complement})"
        elif s.complement not in arrays:
            names[s.complement] = f"'{s.complement}' (= {s.total} - {s.part})"
    return names


def _rows(rows: npt.NDArray[np.intp], labels: Sequence[Any] | None) -> str:
    """The first offending row, then how many rows break the rule and which."""
    first = describe_rows(rows[:1], labels)
    if rows.size == 1:
        return first
    return f"{first} ({rows.size} rows in all: {describe_rows(rows, labels)})"


def _undefined_to_nan(yi: FloatArray, vi: FloatArray) -> tuple[FloatArray, FloatArray]:
    yi = np.array(yi, dtype=float)
    vi = np.array(vi, dtype=float)
    undefined = np.isnan(yi) | np.isinf(yi) | np.isinf(vi)
    yi[undefined] = np.nan
    vi[undefined] = np.nan
    vi[vi < 0] = np.nan
    return yi, vi
