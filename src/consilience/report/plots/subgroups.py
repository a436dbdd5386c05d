"""Subgroup forest plot: a diamond per subgroup and the test for subgroup differences."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from consilience.errors import InputError
from consilience.report.plots._draw_rows import draw_forest
from consilience.report.plots._layout import check_ax, fmt_num, fmt_p, iter_rows, z_value
from consilience.report.plots._rows import (
    ForestLayout,
    finish_layout,
    interval_texts,
    make_rows,
)
from consilience.report.plots.forest import heterogeneity_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.pooling.result import MetaResult
    from consilience.pooling.subgroups import SubgroupResult

__all__ = ["subgroup_forest_layout", "subgroup_forest_plot"]


def _group_labels(
    overall: MetaResult | None, groups: Sequence[Any] | None, levels: list[str]
) -> np.ndarray | None:
    if overall is None and groups is None:
        return None
    if overall is None or groups is None:
        raise InputError(
            "Pass both 'overall' (the meta_analyze() fit of all studies) and 'groups' (the "
            "subgroup of each of its studies) to list the studies, or neither."
        )
    g = np.asarray(pd.Series(list(groups)).astype(str))
    if g.size != overall.k:
        raise InputError(
            f"'groups' must give one subgroup per study of 'overall' (k = {overall.k}); got "
            f"{g.size}. Pass the groups of the studies the fit used."
        )
    unknown = sorted(set(g) - set(levels))
    if unknown:
        raise InputError(
            f"'groups' has levels {unknown} that the subgroup analysis does not have "
            f"({levels}). Pass the same groups as to subgroup_analysis()."
        )
    return g


def subgroup_forest_layout(
    result: SubgroupResult,
    *,
    overall: MetaResult | None = None,
    groups: Sequence[Any] | None = None,
    exponentiate: bool = False,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    effect_label: str = "Estimate",
    xlabel: str | None = None,
    label_header: str = "Subgroup",
    digits: int = 2,
) -> ForestLayout:
    """Rows of the subgroup forest plot of ``result``.

    Parameters
    ----------
    result : SubgroupResult
        From :func:`consilience.subgroup_analysis`.
    overall : MetaResult, optional
        The fit of all studies together; with ``groups``, the studies are listed under their
        subgroup and the overall diamond closes the plot.
    groups : sequence, optional
        The subgroup of each study of ``overall``, in its order.
    exponentiate, xlim, refline, effect_label, xlabel, digits :
        As in :func:`consilience.report.plots.forest_layout`.
    label_header : str
        Heading of the label column.

    Returns
    -------
    ForestLayout
        Per subgroup: a ``heading`` row (when studies are listed), its ``study`` rows, a ``summary``
        row with the subgroup's ``estimate, ci_low, ci_high`` and a ``note`` row with its
        heterogeneity; then the ``overall`` summary (when given) and the note with the test for
        subgroup differences (``q_between, q_between_df, q_between_p_value``).
    """
    from consilience.pooling.subgroups import SubgroupResult

    if not isinstance(result, SubgroupResult):
        raise TypeError(
            f"subgroup_forest_layout takes the result of consilience.subgroup_analysis(); got "
            f"{type(result).__name__}."
        )
    table = result.table.reset_index(drop=True)
    levels = table["subgroup"].astype(str).tolist()
    g = _group_labels(overall, groups, levels)
    records: list[dict[str, Any]] = []
    y = 0.0

    def add(**row: Any) -> None:
        nonlocal y
        records.append({**row, "y": y})
        y -= 1.0

    for row in iter_rows(table):
        name = str(row.subgroup)
        if g is not None and overall is not None:
            add(kind="heading", label=name)
            z = z_value(overall.level)
            wmax = float(np.max(overall.weights))
            for i in np.flatnonzero(g == name):
                yi, se = float(overall.yi[i]), float(np.sqrt(overall.vi[i]))
                est, lot, hit = interval_texts(yi, yi - z * se, yi + z * se, digits, exponentiate)
                add(
                    kind="study",
                    label=overall.labels[i],
                    estimate=yi,
                    ci_low=yi - z * se,
                    ci_high=yi + z * se,
                    marker_area=float(overall.weights[i]) / wmax,
                    est_text=est,
                    low_text=lot,
                    high_text=hit,
                )
            label = f"Subgroup estimate (k = {row.k})"
        else:
            label = f"{name} (k = {row.k})"
        est, lot, hit = interval_texts(row.estimate, row.ci_low, row.ci_high, digits, exponentiate)
        add(
            kind="summary",
            label=label,
            estimate=row.estimate,
            ci_low=row.ci_low,
            ci_high=row.ci_high,
            est_text=est,
            low_text=lot,
            high_text=hit,
        )
        tau2 = None if result.method == "EE" else float(row.tau2)
        add(
            kind="note",
            label=heterogeneity_text(
                tau2, float(row.i2), float(row.q), int(row.q_df), float(row.q_p_value)
            ),
        )
        y -= 0.5 if g is None else 1.0
    if overall is not None:
        est, lot, hit = interval_texts(
            overall.estimate, overall.ci_low, overall.ci_high, digits, exponentiate
        )
        add(
            kind="summary",
            label=f"Overall (k = {overall.k})",
            estimate=overall.estimate,
            ci_low=overall.ci_low,
            ci_high=overall.ci_high,
            est_text=est,
            low_text=lot,
            high_text=hit,
        )
        tau2 = None if overall.method == "EE" else overall.tau2
        add(
            kind="note",
            label=heterogeneity_text(tau2, overall.i2, overall.q, overall.q_df, overall.q_p_value),
        )
    add(
        kind="note",
        label=(
            f"Test for subgroup differences: Q = {fmt_num(result.q_between, 2)} "
            f"(df = {result.q_between_df}), {fmt_p(result.q_between_p_value)}"
        ),
    )
    rows = make_rows(records)
    rows["y"] = rows["y"] - rows["y"].min()
    return finish_layout(
        rows,
        drawn=("study", "summary"),
        refline=refline,
        xlim=xlim,
        exponentiate=exponentiate,
        effect_label=effect_label,
        xlabel=xlabel,
        label_header="Study" if g is not None and label_header == "Subgroup" else label_header,
        weight_header=None,
        marker="s",
        level=result.level,
    )


def subgroup_forest_plot(
    result: SubgroupResult,
    ax: Axes | None = None,
    *,
    overall: MetaResult | None = None,
    groups: Sequence[Any] | None = None,
    exponentiate: bool = False,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    effect_label: str = "Estimate",
    xlabel: str | None = None,
    label_header: str = "Subgroup",
    digits: int = 2,
) -> Axes:
    """Subgroup forest plot: one diamond per subgroup, its heterogeneity, and the test for
    subgroup differences; with ``overall`` and ``groups`` also every study and the overall diamond.

    Parameters
    ----------
    result : SubgroupResult
        From :func:`consilience.subgroup_analysis`.
    ax : matplotlib Axes, optional
        Where to draw (text columns go outside it, left and right); default a new figure.
    overall, groups, exponentiate, xlim, refline, effect_label, xlabel, label_header, digits :
        See :func:`subgroup_forest_layout`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    check_ax(ax)
    layout = subgroup_forest_layout(
        result,
        overall=overall,
        groups=groups,
        exponentiate=exponentiate,
        xlim=xlim,
        refline=refline,
        effect_label=effect_label,
        xlabel=xlabel,
        label_header=label_header,
        digits=digits,
    )
    return draw_forest(layout, ax)
