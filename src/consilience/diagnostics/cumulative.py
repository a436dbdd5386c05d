"""Cumulative meta-analysis: the pooled result after each study is added, in a chosen order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import pandas as pd

from consilience._validation import check_choice, describe_rows
from consilience.diagnostics._common import RefitTable, check_result, make_provenance, refit_columns
from consilience.diagnostics._refit import refit
from consilience.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes


__all__ = ["Cumulative", "cumulative"]


@dataclass(frozen=True, repr=False, eq=False)
class Cumulative(RefitTable):
    """Result of :func:`cumulative`: row ``i`` pools the first ``i + 1`` studies in the chosen order.

    Attributes
    ----------
    study : label of the study added at that step.
    position : its position among the fit's studies (0-based), so ``yi[position]`` is the study added.
    k_pooled : number of studies pooled at that step (1, 2, ..., k).
    estimate, se, statistic, p_value, df, ci_low, ci_high : pooled effect so far, its test (``df`` NaN
        for ``z``; the first step, a single study, always uses ``z`` as metafor does) and interval.
    tau2, i2, h2, q, q_p_value : heterogeneity so far (tau² = 0 while one study is pooled).
    method, test, level, k : the model refitted and the number of studies of the full fit.
    provenance : method, options (the ordering) and input hash.
    """

    position: np.ndarray
    k_pooled: np.ndarray

    _title: ClassVar[str] = "Cumulative meta-analysis"
    _extra: ClassVar[tuple[str, ...]] = ("position", "k_pooled")

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """Cumulative forest plot; ``options`` are the keywords of
        :func:`consilience.report.plots.cumulative_plot` (exponentiate, xlim, refline,
        effect_label, xlabel, digits, i2)."""
        from consilience.report.plots import cumulative_plot

        return cumulative_plot(self, ax, **options)


def _ordering(order: Any, k: int, by: str, decreasing: bool, labels: tuple[str, ...]) -> np.ndarray:
    if order is None:
        return np.arange(k)
    values = order.to_numpy() if isinstance(order, (pd.Series, pd.Index)) else np.asarray(order)
    if values.ndim != 1 or values.size != k:
        raise InputError(
            f"'order' must have one value per study of the fit (k = {k}); got shape {values.shape}. "
            f"Align it with the studies used (rows with missing yi/vi are dropped by the fit)."
        )
    if by == "position":
        try:
            pos = values.astype(int)
        except (TypeError, ValueError):
            raise InputError(
                f"'order' with by='position' must list row positions 0..{k - 1}; got {values[:5]!r}."
            ) from None
        if not np.array_equal(np.sort(pos), np.arange(k)) or not np.array_equal(pos, values):
            raise InputError(
                f"'order' with by='position' must be a permutation of 0..{k - 1} (each study once); got "
                f"{values.tolist()[:10]}{' ...' if k > 10 else ''}. Pass sort keys with by='key' instead."
            )
        return pos[::-1] if decreasing else pos
    missing = pd.isna(values)
    if missing.any():
        idx = np.flatnonzero(missing)
        raise InputError(
            f"'order' must not have missing values; got {idx.size} at {describe_rows(idx, labels)}. "
            f"Fill them (e.g. with the date of the run) or drop those studies before fitting."
        )
    try:
        _, codes = np.unique(values, return_inverse=True)
    except TypeError as exc:
        raise InputError(f"'order' must hold comparable sort keys (numbers, dates or strings); {exc}. "
                         f"Pass keys of one kind (all numbers, all dates or all strings).") from None
    codes = codes.ravel().astype(int)
    # ties keep the fit's study order in both directions, as R's order() does
    return np.argsort(-codes if decreasing else codes, kind="stable")


def cumulative(result: Any, order: Any = None, *, by: Literal["key", "position"] = "key",
               decreasing: bool = False) -> Cumulative:
    """Cumulative meta-analysis: refit after adding each study, all steps in one batched fit.

    Parameters
    ----------
    result : MetaResult
        An intercept-only fit from :func:`consilience.meta_analyze`; its ``method``, ``test`` and
        ``level`` are used at every step.
    order : array-like, optional
        One value per study of the fit. With ``by="key"`` (default, metafor's meaning) sort keys such as
        the run date: studies are added by increasing key, ties in the fit's order. With
        ``by="position"`` the positions (0-based) of the studies in the order to add them.
        Default: the fit's order.
    by : {"key", "position"}
        How ``order`` is read.
    decreasing : bool
        Add studies by decreasing key (or reverse the given positions).

    Returns
    -------
    Cumulative
        One row per step with ``study, position, k_pooled, estimate, se, statistic, p_value, df, ci_low,
        ci_high, tau2, i2, h2, q, q_p_value``.

    Notes
    -----
    Step ``i`` is row ``i`` of one batch whose mask keeps the first ``i + 1`` studies in the chosen
    order; each row equals a separate ``rma()`` fit. The first step pools one study: estimate ``yi``,
    standard error ``sqrt(vi)``, tau² = 0 and a z test (metafor's rule for k = 1).

    References
    ----------
    Lau, J. et al. (1992). Cumulative meta-analysis of therapeutic trials for myocardial infarction.
    New England Journal of Medicine, 327(4), 248-254.

    Validated against: metafor 3.8-1 ``cumul(rma(yi, vi, method=..., test=...), order=...)``.
    """
    res = check_result(result, "cumulative", min_k=1, intercept_only=True)
    by = check_choice("by", by, ("key", "position"))  # type: ignore[assignment]
    if not isinstance(decreasing, (bool, np.bool_)):
        raise TypeError(f"The 'decreasing' parameter must be True or False. Got {decreasing!r} instead.")
    k = res.k
    perm = _ordering(order, k, by, bool(decreasing), res.labels)
    mask = np.tril(np.ones((k, k)))
    fits = refit(res.yi[perm], res.vi[perm], np.ones((k, 1)), mask, res.method, res.test, res.level)
    notes: tuple[str, ...] = ()
    if fits.n_failed:
        notes = (f"{fits.n_failed} of {k} cumulative steps failed (tau² did not converge); their rows are NaN.",)
    options = {"diagnostic": "cumulative", "order": "given" if order is not None else "fit order", "by": by,
               "decreasing": bool(decreasing)}
    return Cumulative(study=tuple(res.labels[i] for i in perm), **refit_columns(fits), method=res.method,
                      test=res.test, level=res.level, k=k, provenance=make_provenance(res, options, notes),
                      position=perm, k_pooled=np.arange(1, k + 1))
