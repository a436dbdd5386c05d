"""Leave-one-out plot: the pooled estimate with each study omitted in turn."""

from __future__ import annotations

from typing import TYPE_CHECKING

from consilience.errors import InputError
from consilience.report.plots._draw_rows import draw_forest
from consilience.report.plots._layout import check_ax
from consilience.report.plots._rows import ForestLayout, refit_layout

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.diagnostics.leave_one_out import LeaveOneOut
    from consilience.pooling.result import MetaResult

__all__ = ["leave_one_out_layout", "leave_one_out_plot"]


def leave_one_out_layout(
    result: LeaveOneOut,
    *,
    full: MetaResult | None = None,
    exponentiate: bool = False,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    effect_label: str = "Estimate",
    xlabel: str | None = None,
    digits: int = 2,
    i2: bool = True,
) -> ForestLayout:
    """Rows of the leave-one-out plot of ``result``.

    Parameters
    ----------
    result : LeaveOneOut
        From :func:`consilience.diagnostics.leave_one_out`.
    full : MetaResult, optional
        The fit of all studies: its diamond closes the plot, for comparison.
    exponentiate, xlim, refline, effect_label, xlabel, digits :
        As in :func:`consilience.report.plots.forest_layout`.
    i2 : bool
        Print each refit's I² in a right-hand column.

    Returns
    -------
    ForestLayout
        One ``study`` row per omitted study (fit order) with the refit's ``estimate, ci_low,
        ci_high``; a ``summary`` row with the full fit when ``full`` is given; a ``note``.
    """
    from consilience.diagnostics.leave_one_out import LeaveOneOut

    if not isinstance(result, LeaveOneOut):
        raise TypeError(
            f"leave_one_out_layout takes the result of consilience.diagnostics.leave_one_out(); "
            f"got {type(result).__name__}."
        )
    summary = None
    if full is not None:
        if tuple(full.labels) != tuple(result.study):
            raise InputError(
                "'full' must be the fit that leave_one_out() was run on: its study labels "
                "differ from the omitted studies'."
            )
        summary = (f"All studies (k = {full.k})", full.estimate, full.ci_low, full.ci_high)
    note = f"Each row is the {result.method} fit without that study (k = {result.k - 1} each)."
    return refit_layout(
        result,
        list(result.study),
        label_header="Study omitted",
        summary=summary,
        notes=[note],
        exponentiate=exponentiate,
        xlim=xlim,
        refline=refline,
        effect_label=effect_label,
        xlabel=xlabel,
        digits=digits,
        i2=i2,
    )


def leave_one_out_plot(
    result: LeaveOneOut,
    ax: Axes | None = None,
    *,
    full: MetaResult | None = None,
    exponentiate: bool = False,
    xlim: tuple[float, float] | None = None,
    refline: float | None = 0.0,
    effect_label: str = "Estimate",
    xlabel: str | None = None,
    digits: int = 2,
    i2: bool = True,
) -> Axes:
    """Leave-one-out forest plot: does any single study drive the pooled result?

    Parameters
    ----------
    result : LeaveOneOut
        From :func:`consilience.diagnostics.leave_one_out`.
    ax : matplotlib Axes, optional
        Where to draw (text columns go outside it); default a new figure.
    full, exponentiate, xlim, refline, effect_label, xlabel, digits, i2 :
        See :func:`leave_one_out_layout`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    check_ax(ax)
    layout = leave_one_out_layout(
        result,
        full=full,
        exponentiate=exponentiate,
        xlim=xlim,
        refline=refline,
        effect_label=effect_label,
        xlabel=xlabel,
        digits=digits,
        i2=i2,
    )
    return draw_forest(layout, ax)
