"""Many meta-analyses in one call: one row per group, glossary columns, one kernel call."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from consilience._validation import (
    as_float_vector,
    check_choice,
    check_level,
    describe_rows,
    require_columns,
)
from consilience.errors import (
    ConvergenceWarning,
    DataDroppedWarning,
    InputError,
    SmallSampleWarning,
)
from consilience.pooling._kernel import fit_batch
from consilience.pooling._linalg import Batch
from consilience.pooling.model import Method, TestKind
from consilience.pooling.qprofile import qprofile_ci
from consilience.pooling.tau2 import ESTIMATORS, METHOD_ALIASES, METHODS, Tau2Fit

__all__ = ["BATCH_COLUMNS", "meta_analyze_many", "pad_groups"]

BATCH_COLUMNS = [
    "k", "n_dropped", "method", "test", "level", "estimate", "se", "statistic", "p_value", "df", "ci_low",
    "ci_high", "pi_low", "pi_high", "tau2", "se_tau2", "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low",
    "i2_ci_high", "h2", "q", "q_df", "q_p_value", "converged",
]


def pad_groups(codes: np.ndarray, n_groups: int, *values: np.ndarray,
               counts: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Scatter rows into (n_groups, k_max) arrays by group code, keeping row order within groups.

    Returns the padded arrays followed by the 0/1 mask (a read-only broadcast of 1.0 when no
    group needs padding). No Python loop over groups or rows; rows
    that already come grouped in order (the usual layout of a results table) are not sorted, and
    groups that all have the same size are a reshape (of the inputs themselves when they are
    float arrays in group order: treat the results as read-only).
    """
    if counts is None:
        counts = np.bincount(codes, minlength=n_groups)
    k_max = int(counts.max()) if counts.size else 0
    ordered = codes.size < 2 or bool(np.all(codes[1:] >= codes[:-1]))
    order = None if ordered else np.argsort(codes, kind="stable")
    sorted_codes = codes if order is None else codes[order]
    if counts.size and bool(np.all(counts == k_max)):
        out = [np.asarray(arr if order is None else arr[order], dtype=float).reshape(n_groups, k_max)
               for arr in values]
        return (*out, np.broadcast_to(1.0, (n_groups, k_max)))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    flat = sorted_codes * k_max + (np.arange(codes.size) - starts[sorted_codes])
    out = []
    for arr in (*values, None):
        padded = np.zeros(n_groups * k_max)
        if arr is None:
            padded[flat] = 1.0
        else:
            padded[flat] = arr if order is None else arr[order]
        out.append(padded.reshape(n_groups, k_max))
    return tuple(out)


def meta_analyze_many(
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
    """Fit one meta-analysis per group of ``frame`` in a single vectorised call.

    Parameters
    ----------
    frame : DataFrame
        One row per study, with the grouping column(s), ``yi`` and ``vi``.
    by : str or list of str
        Grouping column(s); one analysis per distinct combination.
    yi, vi : str
        Column names of effect sizes and sampling variances.
    method, test, level : see :class:`consilience.MetaAnalysis`.
    tau2_ci : bool
        Compute Q-profile intervals for tau² and I² (the costliest part; off for speed).
    backend : {"torch", "cupy", "numpy", "array-api-strict"}, optional
        Estimate tau² (REML only) with the array-API kernel of
        :mod:`consilience.pooling.device` on this backend: ``"torch"`` runs on a CUDA GPU when
        PyTorch sees one, ``"cupy"`` on the GPU. Needs ``array-api-compat`` and the backend's
        package. The rest of the fit (one pass) and the Q-profile intervals stay on the CPU.
        Unset (default): the numpy kernels. Numbers agree to floating-point tolerance.

    Returns
    -------
    DataFrame
        The ``by`` columns, then ``k, n_dropped, method, test, level, estimate, se, statistic,
        p_value, df, ci_low, ci_high, pi_low, pi_high, tau2, se_tau2, tau2_ci_low, tau2_ci_high, i2,
        i2_ci_low, i2_ci_high, h2, q, q_df, q_p_value, converged``; one row per group, in sorted
        group order. Groups whose estimator fails have ``converged = False`` and NaN estimates (a
        ``ConvergenceWarning`` counts them); groups of one study get tau² = 0 (a
        ``SmallSampleWarning`` counts them).

    Notes
    -----
    Studies are scattered into arrays shaped (groups, largest group) with a mask, and the same
    kernel as :func:`consilience.meta_analyze` fits them all at once, so every row equals the
    single fit of its group.

    Validated against: :func:`consilience.meta_analyze` group by group, and metafor 3.8-1 ``rma()``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"'frame' must be a pandas DataFrame; got {type(frame).__name__}.")
    by_cols = [by] if isinstance(by, str) else list(by)
    if not by_cols:
        raise InputError("'by' must name at least one grouping column. Use meta_analyze() for a single analysis.")
    require_columns(frame, [*by_cols, yi, vi], what="frame")
    method_ = check_choice("method", method, METHODS, aliases=METHOD_ALIASES)
    test_ = check_choice("test", test, ("z", "knha"))
    lv = check_level(level)
    if backend is not None and method_ != "REML":
        raise InputError(f"backend={backend!r} estimates tau² by REML only; got method={method_!r}. "
                         f"Use method='REML' or leave backend unset.")
    y = as_float_vector(yi, frame[yi])
    v = as_float_vector(vi, frame[vi])
    neg = np.flatnonzero(v <= 0)
    if neg.size:
        raise InputError(f"'{vi}' must be > 0; got {v[neg[0]]} at {describe_rows(neg)}. Pass sampling variances (SE²).")
    keys = frame[by_cols].reset_index(drop=True)
    if _has_missing(keys):
        bad = np.flatnonzero(keys.isna().any(axis=1).to_numpy())
        raise InputError(f"grouping column(s) {by_cols} have missing values at {describe_rows(bad)}. Fill or drop them.")
    codes_all, uniques, k = _group_codes(keys)
    n_groups = len(uniques)
    drop = np.isnan(y) | np.isnan(v)
    dropped_per_group = np.bincount(codes_all[drop], minlength=n_groups)
    if drop.any():
        warnings.warn(f"{int(drop.sum())} of {y.size} rows dropped (missing {yi} or {vi}) across "
                      f"{int((dropped_per_group > 0).sum())} group(s).", DataDroppedWarning, stacklevel=2)
        keep = ~drop
        codes_all, y, v = codes_all[keep], y[keep], v[keep]
        k = k - dropped_per_group
    Y, V, mask = pad_groups(codes_all, n_groups, y, v, counts=k)
    del codes_all  # released before the kernels allocate theirs
    empty = k == 0
    if empty.any():
        raise InputError(f"{int(empty.sum())} group(s) have no usable study, e.g. {uniques.iloc[np.flatnonzero(empty)[0]].to_dict()}. "
                         f"Drop them or fix their yi/vi.")
    batch = Batch.build(Y, V, mask)
    del Y, V  # the batch holds its own copies
    with np.errstate(all="ignore"):
        if backend is None:
            tfit = ESTIMATORS[method_](batch)
        else:
            from consilience._backend import resolve_backend
            from consilience.pooling.device import reml_tau2

            tfit = reml_tau2(batch, resolve_backend(backend))
    single = k == 1
    if single.any():
        warnings.warn(f"{int(single.sum())} group(s) have one study: tau² set to 0, no heterogeneity.",
                      SmallSampleWarning, stacklevel=2)
        tfit = Tau2Fit(tau2=np.where(single, 0.0, tfit.tau2), se_tau2=np.where(single, np.nan, tfit.se_tau2),
                       converged=tfit.converged | single, iterations=tfit.iterations,
                       boundary_reset=tfit.boundary_reset & ~single, message=tfit.message)
    if (~tfit.converged).any():
        warnings.warn(f"{int((~tfit.converged).sum())} group(s) did not converge ({tfit.message}); their rows are NaN "
                      f"with converged=False. Try method='DL' or 'PM' for them.", ConvergenceWarning, stacklevel=2)
    if tfit.boundary_reset.any():
        warnings.warn(f"{int(tfit.boundary_reset.sum())} group(s): {method_} stopped at a local maximum; tau² set to 0 "
                      f"as metafor does.", ConvergenceWarning, stacklevel=2)
    with np.errstate(all="ignore"):
        fit = fit_batch(batch, method_, test_, lv, tau2_fit=tfit, omnibus=False)
        if tau2_ci and method_ != "EE":
            qp = qprofile_ci(batch, np.nan_to_num(fit.tau2), fit.vt, lv)
            ci = [qp.tau2_ci_low, qp.tau2_ci_high, qp.i2_ci_low, qp.i2_ci_high]
        else:
            ci = [np.full(n_groups, np.nan)] * 4
    bad_fit = ~tfit.converged
    if single.any():
        ci = [np.where(single, np.nan, c) for c in ci]
    cols: dict[str, Any] = {
        "k": k, "n_dropped": dropped_per_group, "method": method_, "test": test_, "level": lv,
        "estimate": fit.beta[:, 0], "se": fit.se[:, 0], "statistic": fit.statistic[:, 0], "p_value": fit.p_value[:, 0],
        "df": fit.df, "ci_low": fit.ci_low[:, 0], "ci_high": fit.ci_high[:, 0], "pi_low": fit.pi_low,
        "pi_high": fit.pi_high, "tau2": fit.tau2, "se_tau2": fit.se_tau2, "tau2_ci_low": ci[0], "tau2_ci_high": ci[1],
        "i2": fit.i2, "i2_ci_low": ci[2], "i2_ci_high": ci[3], "h2": fit.h2, "q": fit.q, "q_df": fit.q_df,
        "q_p_value": fit.q_p_value, "converged": tfit.converged,
    }
    for name, val in cols.items():
        if isinstance(val, np.ndarray) and val.dtype.kind == "f" and bad_fit.any():
            cols[name] = np.where(bad_fit, np.nan, val)
    keys_out = uniques.reset_index(drop=True)
    if set(keys_out.columns) & cols.keys():  # a key named like a result column: keep both
        return pd.concat([keys_out, pd.DataFrame(cols, index=keys_out.index)], axis=1)
    columns: dict[Any, Any] = dict(keys_out.items())
    columns.update(cols)
    return pd.DataFrame(columns, copy=False)


def _has_missing(keys: pd.DataFrame) -> bool:
    """Whether any grouping key is missing (integer and boolean columns never are)."""
    if all(dt.kind in "iub" for dt in keys.dtypes):
        return False
    return bool(keys.isna().any(axis=None))


def _group_codes(keys: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    """Group number of every row (groups in sorted key order), the keys and size of each group.

    One numeric key column, the usual case, is coded without pandas' groupby: with one pass
    when the rows already come sorted, else with a hash factorisation; both give groupby's
    numbering (checked in the tests).
    """
    if keys.shape[1] == 1 and keys.dtypes.iloc[0].kind in "iuf":
        name = keys.columns[0]
        values = keys[name].to_numpy()
        if values.size and bool(np.all(values[1:] >= values[:-1])):
            first = np.empty(values.size, dtype=bool)
            first[0] = True
            np.not_equal(values[1:], values[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            codes = np.cumsum(first)
            codes -= 1
            return (np.asarray(codes, dtype=np.intp), pd.DataFrame({name: values[starts]}),
                    np.diff(starts, append=values.size))
        hashed, found = pd.factorize(values, sort=True)
        codes = np.asarray(hashed, dtype=np.intp)
        return codes, pd.DataFrame({name: found}), np.bincount(codes, minlength=len(found))
    grouped = keys.groupby(list(keys.columns), sort=True, dropna=False)
    sizes = grouped.size()
    uniques = sizes.reset_index().drop(columns=[0, "size"], errors="ignore")
    return (np.asarray(grouped.ngroup().to_numpy(), dtype=np.intp), uniques,
            np.asarray(sizes.to_numpy(), dtype=np.intp))
