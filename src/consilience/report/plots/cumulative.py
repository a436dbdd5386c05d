"""Cumulative forest plot: the pooled estimate as each study is added."""

from __future__ import annotations

from typing import TYPE_CHECKING

from consilience.report.plots._draw_rows import draw_forest
from consilience.report.plots._layout import check_ax
from consilience.report.plots._rows import ForestLayout, refit_layout

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.diagnostics.cumulative import Cumulative

__all__ = ["cumulative_layout", "cumulative_plot"]


def cumulative_layout(
    result: Cumulative,
    *,
    exponentiate: bool = False,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    effect_label: str = "Estimate",
    xlabel: str | None = None,
    digits: int = 2,
    i2: bool = True,
) -> ForestLayout:
    """Rows of the cumulative forest plot of ``result``.

    Parameters
    ----------
    result : Cumulative
        From :func:`consilience.diagnostics.cumulative`.
    exponentiate, xlim, refline, effect_label, xlabel, digits :
        As in :func:`consilience.report.plots.forest_layout`.
    i2 : bool
        Print each step's I² in a right-hand column.

    Returns
    -------
    ForestLayout
        One ``study`` row per step, top to bottom in the order studies were added, labelled
        "+ study" with that step's ``estimate, ci_low, ci_high`` (the pooled result of the first
        ``k_pooled`` studies), and a ``note`` naming the model. The last row is the full fit.
    """
    from consilience.diagnostics.cumulative import Cumulative

    if not isinstance(result, Cumulative):
        raise TypeError(
            f"cumulative_layout takes the result of consilience.diagnostics.cumulative(); got "
            f"{type(result).__name__}."
        )
    labels = [f"+ {s}" for s in result.study]
    note = (
        f"Each row pools the studies listed up to it ({result.method}, test = {result.test}); "
        f"the last row pools all {result.k}."
    )
    return refit_layout(
        result,
        labels,
        label_header="Study added",
        summary=None,
        notes=[note],
        exponentiate=exponentiate,
        xlim=xlim,
        refline=refline,
        effect_label=effect_label,
        xlabel=xlabel,
        digits=digits,
        i2=i2,
    )


def cumulative_plot(
    result: Cumulative,
    ax: Axes | None = None,
    *,
    exponentiate: bool = False,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    effect_label: str = "Estimate",
    xlabel: str | None = None,
    digits: int = 2,
    i2: bool = True,
) -> Axes:
    """Cumulative forest plot (Lau et al., 1992): how the pooled estimate and its interval settle
    as studies accumulate, as metafor's ``forest(cumul(res))``.

    Parameters
    ----------
    result : Cumulative
        From :func:`consilience.diagnostics.cumulative`.
    ax : matplotlib Axes, optional
        Where to draw (text columns go outside it); default a new figure.
    exponentiate, xlim, refline, effect_label, xlabel, digits, i2 :
        See :func:`cumulative_layout`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    check_ax(ax)
    layout = cumulative_layout(
        result,
        exponentiate=exponentiate,
        xlim=xlim,
        refline=refline,
        effect_label=effect_label,
        xlabel=xlabel,
        digits=digits,
        i2=i2,
    )
    return draw_forest(layout, ax)
