"""Moderators to a design matrix: intercept first, numeric columns as they are, categorical
columns as treatment-coded dummies (reference = first level in sorted order, as R's factor())."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from consilience.errors import InputError

__all__ = ["DesignMatrix", "build_design"]


@dataclass(frozen=True)
class DesignMatrix:
    """``X`` (k, p) with column ``names``; ``names[0] == "intercept"``."""

    X: np.ndarray
    names: tuple[str, ...]
    columns: tuple[str, ...]  # the moderator columns it came from
    missing: np.ndarray  # (k,) rows with a missing moderator value
    levels: tuple[tuple[Any, ...] | None, ...] = ()  # per column: categorical levels, None if numeric

    def encode(self, newmods: Any) -> np.ndarray:
        """Design rows for new moderator values, coded as in the fit (for predictions)."""
        if not self.columns:
            n = 1 if newmods is None else len(_as_frame(newmods, len(newmods)))
            return np.ones((n, 1))
        if newmods is None:
            raise InputError(f"'newmods' is required for a model with moderators {list(self.columns)}.")
        if isinstance(newmods, Mapping) and not isinstance(newmods, pd.DataFrame):
            newmods = pd.DataFrame({kk: np.atleast_1d(vv) for kk, vv in newmods.items()})
        frame = _as_frame(newmods, len(newmods))
        missing_cols = [c for c in self.columns if c not in frame.columns]
        if missing_cols:
            raise InputError(f"'newmods' lacks moderator column(s) {missing_cols}; the model uses {list(self.columns)}.")
        blocks = [np.ones((len(frame), 1))]
        for col, levels in zip(self.columns, self.levels):
            s = frame[col]
            if levels is None:
                blocks.append(pd.to_numeric(s).to_numpy(dtype=float)[:, None])
            else:
                unknown = sorted(set(s.dropna().tolist()) - set(levels), key=str)
                if unknown:
                    raise InputError(f"'newmods' column '{col}' has level(s) {unknown} not seen in the fit; known: {list(levels)}.")
                for lv in levels[1:]:
                    blocks.append((s == lv).to_numpy(dtype=float)[:, None])
        return np.hstack(blocks)


def _as_frame(mods: Any, k: int) -> pd.DataFrame:
    if isinstance(mods, pd.DataFrame):
        frame = mods.reset_index(drop=True)
    elif isinstance(mods, pd.Series):
        frame = mods.reset_index(drop=True).to_frame(name=str(mods.name or "mod1"))
    elif isinstance(mods, Mapping):
        frame = pd.DataFrame({str(key): np.asarray(val) for key, val in mods.items()})
    else:
        arr = np.asarray(mods)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise InputError(f"'mods' must be a DataFrame, a mapping of columns or a 2-D array; got shape {arr.shape}.")
        frame = pd.DataFrame(arr, columns=[f"mod{j + 1}" for j in range(arr.shape[1])])
    if len(frame) != k:
        raise InputError(
            f"'mods' must have one row per study: got {len(frame)} rows for {k} studies. "
            f"Pass moderators aligned with yi and vi."
        )
    if frame.shape[1] == 0:
        raise InputError("'mods' has no columns. Pass at least one moderator column, or mods=None.")
    return frame


def _is_categorical(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def build_design(mods: Any, k: int) -> DesignMatrix:
    """Design matrix for ``mods`` (None -> intercept only).

    Categorical columns (strings, categories, booleans) become dummies named ``"col[level]"``;
    numeric columns keep their names. Infinite values are refused; missing values are reported in
    ``missing`` so the caller can drop those studies with a warning.
    """
    if mods is None:
        return DesignMatrix(np.ones((k, 1)), ("intercept",), (), np.zeros(k, dtype=bool))
    frame = _as_frame(mods, k)
    blocks = [np.ones((k, 1))]
    names = ["intercept"]
    all_levels: list[tuple[Any, ...] | None] = []
    missing = np.zeros(k, dtype=bool)
    for col in frame.columns:
        s = frame[col]
        missing |= s.isna().to_numpy()
        if _is_categorical(s):
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [lv for lv in s.cat.categories if (s == lv).any()]
            else:
                levels = sorted(s.dropna().unique().tolist(), key=lambda x: (str(type(x)), x))
            if len(levels) < 2:
                raise InputError(
                    f"moderator '{col}' has a single level {levels!r}; it cannot explain differences "
                    f"between studies. Drop the column."
                )
            all_levels.append(tuple(levels))
            for lv in levels[1:]:
                blocks.append((s == lv).to_numpy(dtype=float)[:, None])
                names.append(f"{col}[{lv}]")
        else:
            all_levels.append(None)
            vals = s.to_numpy(dtype=float)
            bad = np.flatnonzero(np.isinf(vals))
            if bad.size:
                raise InputError(
                    f"moderator '{col}' must be finite; got {vals[bad[0]]} at row {bad[0]}. Correct or drop it."
                )
            blocks.append(np.nan_to_num(vals, nan=0.0)[:, None])
            names.append(str(col))
    return DesignMatrix(np.hstack(blocks), tuple(names), tuple(map(str, frame.columns)), missing, tuple(all_levels))


def check_rank(X: np.ndarray, names: tuple[str, ...]) -> None:
    """Refuse designs with more coefficients than studies or collinear columns, naming them."""
    k, p = X.shape
    if p > k:
        raise InputError(
            f"too many moderators: {p - 1} moderator coefficient(s) {list(names[1:])} for k = {k} studies "
            f"(at most k - 1 = {k - 1}). Use fewer moderators or more studies."
        )
    kept: list[int] = []
    collinear: list[str] = []
    for j in range(p):
        trial = kept + [j]
        if np.linalg.matrix_rank(X[:, trial], tol=1e-9 * max(1.0, float(np.abs(X[:, trial]).max()))) == len(trial):
            kept.append(j)
        else:
            collinear.append(names[j])
    if collinear:
        partners = [names[i] for i in kept]
        raise InputError(
            f"moderator column(s) {collinear} are collinear with {partners} (a constant, a duplicate, or a "
            f"linear combination of other columns) among the studies analysed. Drop or recode them."
        )
