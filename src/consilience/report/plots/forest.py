"""Forest plot of a meta-analysis: studies, pooled diamond, prediction interval, heterogeneity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from consilience.errors import InputError
from consilience.report.plots._draw_rows import draw_forest
from consilience.report.plots._layout import check_ax, fmt_num, fmt_p, z_value
from consilience.report.plots._rows import (
    ForestLayout,
    finish_layout,
    interval_texts,
    make_rows,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.pooling.result import MetaResult

__all__ = ["forest_layout", "forest_plot", "heterogeneity_text", "overall_test_text"]

Order = Literal["given", "estimate", "precision"]


def heterogeneity_text(tau2: float | None, i2: float, q: float, q_df: int, q_p_value: float) -> str:
    """The line "Heterogeneity: τ² = 0.31, I² = 92.2%, Q = 152.23 (df = 12), p < 0.001".

    ``tau2=None`` (an equal-effects model) leaves τ² out.
    """
    tau = "" if tau2 is None else f"\u03c4\u00b2 = {fmt_num(tau2, 2)}, "
    return (
        f"Heterogeneity: {tau}I\u00b2 = {fmt_num(i2, 1)}%, Q = {fmt_num(q, 2)} (df = {q_df}), "
        f"{fmt_p(q_p_value)}"
    )


def overall_test_text(result: MetaResult) -> str:
    """The line "Test for overall effect: z = −3.97, p < 0.001" (t with df for Knapp-Hartung)."""
    stat = "z" if result.df is None else f"t({fmt_num(result.df, 0)})"
    return (
        f"Test for overall effect: {stat} = {fmt_num(result.statistic, 2)}, {fmt_p(result.p_value)}"
    )


def forest_layout(
    result: MetaResult,
    *,
    order: Order = "given",
    exponentiate: bool = False,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    effect_label: str = "Estimate",
    xlabel: str | None = None,
    label_header: str = "Study",
    digits: int = 2,
    weights: bool = True,
    prediction: bool = True,
) -> ForestLayout:
    """Rows, positions and texts of the forest plot of ``result``.

    Parameters
    ----------
    result : MetaResult
        A fit of :func:`consilience.meta_analyze` without moderators.
    order : {"given", "estimate", "precision"}
        Study order top to bottom: as fitted, by increasing estimate, or most precise first.
    exponentiate : bool
        Print ``exp()`` of every number and label the axis on the ratio scale (log risk or odds
        ratios); positions stay on the analysis scale.
    xlim : (float, float), optional
        x-axis limits on the analysis scale; intervals beyond them end in arrows.
    refline : float or None
        Position of the dotted reference line (0, the null, by default).
    effect_label : str
        Name of the effect ("Log risk ratio"): the heading of the estimate column.
    xlabel : str, optional
        x-axis title (default ``effect_label``).
    label_header : str
        Heading of the study labels.
    digits : int
        Decimals of the printed numbers.
    weights : bool
        Print the weight column.
    prediction : bool
        Add the prediction-interval row (random-effects models only).

    Returns
    -------
    ForestLayout
        Study rows (``estimate = yi``, ``ci = yi ± z sqrt(vi)`` with the normal quantile at the
        fit's level, as metafor's ``forest()``; ``marker_area`` = weight / largest weight), the
        pooled ``summary`` row (``estimate, ci_low, ci_high`` of the fit), the ``prediction`` row
        (``pi_low, pi_high``) and two ``note`` rows: heterogeneity (τ², I², Q, df, p) and the
        test of the overall effect.

    Notes
    -----
    Marker areas are proportional to the percent weights (Cochrane's convention), so a study's
    ink matches its share of the pooled estimate.
    """
    from consilience.pooling.result import MetaResult

    if not isinstance(result, MetaResult):
        raise TypeError(
            f"forest_layout takes the result of consilience.meta_analyze(); got "
            f"{type(result).__name__}."
        )
    if len(result.coefficients) > 1:
        raise InputError(
            "forest_layout draws models without moderators; this one has "
            f"{[c.name for c in result.coefficients[1:]]}. Refit without mods, or use "
            "subgroup_analysis() and subgroup_forest_plot() for a categorical moderator."
        )
    if order not in ("given", "estimate", "precision"):
        raise InputError(
            f"The 'order' parameter must be one of ['given', 'estimate', 'precision']. "
            f"Got {order!r} instead."
        )
    yi, vi = np.asarray(result.yi, dtype=float), np.asarray(result.vi, dtype=float)
    w = np.asarray(result.weights, dtype=float)
    z = z_value(result.level)
    idx = {
        "given": np.arange(yi.size),
        "estimate": np.argsort(yi, kind="stable"),
        "precision": np.argsort(vi, kind="stable"),
    }[order]
    k = yi.size
    show_pi = prediction and result.method != "EE"
    base = 1.0 if show_pi else 0.0
    records: list[dict[str, Any]] = []
    for pos, i in enumerate(idx):
        lo, hi = yi[i] - z * np.sqrt(vi[i]), yi[i] + z * np.sqrt(vi[i])
        est, lot, hit = interval_texts(yi[i], lo, hi, digits, exponentiate)
        records.append(
            {
                "kind": "study",
                "label": result.labels[i],
                "y": base + 3 + (k - 1 - pos),
                "estimate": yi[i],
                "ci_low": lo,
                "ci_high": hi,
                "marker_area": w[i] / w.max(),
                "est_text": est,
                "low_text": lot,
                "high_text": hit,
                "weight_text": f"{w[i]:.1f}%" if weights else "",
            }
        )
    model = (
        "Equal-effects model"
        if result.method == "EE"
        else f"Random-effects model ({result.method})"
    )
    est, lot, hit = interval_texts(
        result.estimate, result.ci_low, result.ci_high, digits, exponentiate
    )
    records.append(
        {
            "kind": "summary",
            "label": model,
            "y": base + 1,
            "estimate": result.estimate,
            "ci_low": result.ci_low,
            "ci_high": result.ci_high,
            "est_text": est,
            "low_text": lot,
            "high_text": hit,
            "weight_text": "100%" if weights else "",
        }
    )
    if show_pi:
        _, lot, hit = interval_texts(
            result.estimate, result.pi_low, result.pi_high, digits, exponentiate
        )
        records.append(
            {
                "kind": "prediction",
                "label": "Prediction interval",
                "y": base,
                "estimate": result.estimate,
                "ci_low": result.pi_low,
                "ci_high": result.pi_high,
                "low_text": lot,
                "high_text": hit,
            }
        )
    tau2 = None if result.method == "EE" else result.tau2
    records.append(
        {
            "kind": "note",
            "y": base - 1,
            "label": heterogeneity_text(tau2, result.i2, result.q, result.q_df, result.q_p_value),
        }
    )
    records.append({"kind": "note", "y": base - 2, "label": overall_test_text(result)})
    return finish_layout(
        make_rows(records),
        drawn=("study", "summary", "prediction"),
        refline=refline,
        xlim=xlim,
        exponentiate=exponentiate,
        effect_label=effect_label,
        xlabel=xlabel,
        label_header=label_header,
        weight_header="Weight" if weights else None,
        marker="s",
        level=result.level,
    )


def forest_plot(
    result: MetaResult,
    ax: Axes | None = None,
    *,
    order: Order = "given",
    exponentiate: bool = False,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    effect_label: str = "Estimate",
    xlabel: str | None = None,
    label_header: str = "Study",
    digits: int = 2,
    weights: bool = True,
    prediction: bool = True,
) -> Axes:
    """Forest plot of a meta-analysis, as metafor's ``forest()``.

    Study labels on the left; each study's estimate (a square with area proportional to its
    weight) and confidence interval; on the right "estimate [ci_low, ci_high]" and the weight;
    below, the pooled diamond, the prediction interval as a dashed bar, and lines giving the
    heterogeneity (τ², I², Q, p) and the test of the overall effect.

    Parameters
    ----------
    result : MetaResult
        A fit of :func:`consilience.meta_analyze` without moderators.
    ax : matplotlib Axes, optional
        Where to draw the intervals; the label and number columns are drawn outside it, to the
        left and right (leave room, or save with ``bbox_inches="tight"``). Default: a new figure
        sized to the rows and the text.
    order, exponentiate, xlim, refline, effect_label, xlabel, label_header, digits, weights, \
    prediction :
        See :func:`forest_layout`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Examples
    --------
    >>> import consilience as cs
    >>> bcg = cs.load_example("bcg")
    >>> es = cs.effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=bcg)
    >>> res = cs.meta_analyze("yi", "vi", data=es, labels="trial")
    >>> ax = forest_plot(res, exponentiate=True, effect_label="Risk ratio")  # doctest: +SKIP
    """
    check_ax(ax)
    layout = forest_layout(
        result,
        order=order,
        exponentiate=exponentiate,
        xlim=xlim,
        refline=refline,
        effect_label=effect_label,
        xlabel=xlabel,
        label_header=label_header,
        digits=digits,
        weights=weights,
        prediction=prediction,
    )
    return draw_forest(layout, ax)
