"""Shared pieces of the diagnostics: argument checks, provenance, and the refit-table result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from consilience._results import Provenance, Summary, json_safe
from consilience.diagnostics._refit import Refits
from consilience.errors import InputError
from consilience.pooling.result import MetaResult

__all__ = ["REFIT_COLUMNS", "OneRowResult", "RefitTable", "check_result", "design_of", "make_provenance",
           "refit_columns"]

REFIT_COLUMNS = ("estimate", "se", "statistic", "p_value", "df", "ci_low", "ci_high", "tau2", "i2", "h2", "q",
                 "q_p_value")


def check_result(result: Any, what: str, *, min_k: int = 1, intercept_only: bool = False) -> MetaResult:
    """Refuse anything but a :class:`MetaResult` that ``what`` can use, naming the fix."""
    if not isinstance(result, MetaResult):
        raise TypeError(
            f"{what} takes the result of consilience.meta_analyze(); got {type(result).__name__}. "
            f"Fit first: {what}(meta_analyze(yi, vi, method='REML'))."
        )
    if result.k < min_k:
        raise InputError(
            f"{what} needs at least k = {min_k} studies; got k = {result.k}. "
            f"With so few studies it cannot be estimated: collect more tasks or runs."
        )
    if intercept_only and len(result.coefficients) > 1:
        raise InputError(
            f"{what} applies to models without moderators; this model has moderator(s) "
            f"{[c.name for c in result.coefficients[1:]]}. Refit without mods (or use influence(), which "
            f"handles meta-regressions)."
        )
    return result


def design_of(result: MetaResult, what: str) -> np.ndarray:
    """The (k, p) design of the studies the fit used.

    The fit keeps its design matrix for every input row whose moderators are present, so after rows
    with a missing yi or vi were dropped it can be longer than k; without moderators it is rebuilt.
    """
    X = np.asarray(result.design.X, dtype=float)
    if X.shape[0] == result.k:
        return X
    if X.shape[1] == 1:
        return np.ones((result.k, 1))
    raise InputError(
        f"{what} cannot align the moderators with the {result.k} studies used: {result.n_dropped} row(s) with a "
        f"missing yi or vi were dropped from a meta-regression. Drop those rows before fitting and rerun."
    )


def make_provenance(result: MetaResult, options: Mapping[str, Any], notes: tuple[str, ...] = ()) -> Provenance:
    """Provenance of a diagnostic: the fit's method, k, inputs hash, plus the diagnostic's options."""
    return Provenance(
        method=result.method, k=result.k, n_dropped=result.n_dropped,
        dropped_reason=result.provenance.dropped_reason, warnings=tuple(result.provenance.warnings) + notes,
        options={"test": result.test, "level": result.level, **options},
        input_hash=result.provenance.input_hash,
    )


def refit_columns(fits: Refits) -> dict[str, np.ndarray]:
    """The per-refit columns of a leave-one-out or cumulative table, from batched refits."""
    return {"estimate": fits.beta[:, 0], "se": fits.se[:, 0], "statistic": fits.statistic[:, 0],
            "p_value": fits.p_value[:, 0], "df": fits.df, "ci_low": fits.ci_low[:, 0],
            "ci_high": fits.ci_high[:, 0], "tau2": fits.tau2, "i2": fits.i2, "h2": fits.h2, "q": fits.q,
            "q_p_value": fits.q_p_value}


class OneRowResult:
    """``to_dict`` and ``to_frame`` of a test result made of the scalar fields ``_fields`` and provenance."""

    _fields: ClassVar[tuple[str, ...]]
    provenance: Provenance

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary of every field (keys fixed; inapplicable values are null)."""
        out: dict[str, Any] = {name: json_safe(getattr(self, name)) for name in self._fields}
        out["provenance"] = self.provenance.to_dict()
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row with the fields of :meth:`to_dict` (without provenance)."""
        return pd.DataFrame([{name: getattr(self, name) for name in self._fields}])


@dataclass(frozen=True, repr=False, eq=False)
class RefitTable:
    """One pooled result per row (a refit of the model on a subset of the studies).

    Attributes
    ----------
    study : label of the study the row is about.
    estimate, se, statistic, p_value, df, ci_low, ci_high : the pooled effect of the refit, its test
        (``df`` NaN for ``z``) and confidence interval at ``level``.
    tau2, i2, h2, q, q_p_value : heterogeneity of the refit.
    method, test, level, k : the model refitted and the number of studies of the full fit.
    provenance : how the table was made.
    """

    study: tuple[str, ...]
    estimate: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    df: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray
    q_p_value: np.ndarray
    method: str
    test: str
    level: float
    k: int
    provenance: Provenance = field(repr=False)

    _title: ClassVar[str] = "Refits"
    _extra: ClassVar[tuple[str, ...]] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per study: ``study``, the extra columns of the table, then :data:`REFIT_COLUMNS`."""
        data: dict[str, Any] = {"study": list(self.study)}
        for name in (*self._extra, *REFIT_COLUMNS):
            data[name] = getattr(self, name)
        return pd.DataFrame(data)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: ``method, test, level, k``, ``studies`` (the rows of :meth:`to_frame`), provenance."""
        return {"method": self.method, "test": self.test, "level": self.level, "k": self.k,
                "studies": json_safe(self.to_frame()), "provenance": self.provenance.to_dict()}

    def summary(self) -> Summary:
        frame = self.to_frame()[["study", *self._extra, "estimate", "se", "p_value", "ci_low", "ci_high", "tau2",
                                 "i2", "q"]]
        notes = tuple(self.provenance.warnings)
        return Summary(title=f"{self._title} ({self.method}, test={self.test})",
                       lines=[("k", self.k), ("level", self.level)], tables=[("studies", frame)], notes=notes)

    def __repr__(self) -> str:
        lo, hi = np.nanmin(self.estimate), np.nanmax(self.estimate)
        return f"<{type(self).__name__} {self.method} k={self.k} estimate range [{lo:.4g}, {hi:.4g}]>"
