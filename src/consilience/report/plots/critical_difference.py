"""Critical-difference diagram (Demšar, 2006) of the average ranks of many arms over many tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from consilience.errors import InputError
from consilience.report.plots._layout import Layout, check_ax, fmt_num, fmt_p, iter_rows
from consilience.report.plots._style import ACCENT, FONT, INK, MUTED, SMALL, new_axes, text_width

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from consilience.compare.ranks import RankTests

__all__ = [
    "CriticalDifferenceLayout",
    "cliques",
    "critical_difference_layout",
    "critical_difference_plot",
]

CliqueTest = Literal["nemenyi", "wilcoxon-holm"]
_ROW = 0.21  # inches per label row on a new figure


@dataclass(frozen=True, eq=False)
class CriticalDifferenceLayout(Layout):
    """A critical-difference diagram as data (y grows downwards from the rank axis at 0).

    Attributes
    ----------
    ranks : DataFrame
        ``arm, mean_rank, side`` ("left" for the better half, "right"), ``y`` of its label line and
        ``label`` (name and average rank), best first.
    cliques : DataFrame
        ``low, high`` (average ranks spanned), ``y`` and ``members`` (tuple of arms) of each group
        of arms that are not significantly different.
    n_arms : int
        The axis runs from rank 1 (best, left) to ``n_arms``.
    cd : float
        Nemenyi critical difference, drawn as a bar from rank 1 to ``1 + cd`` above the axis
        (at y = -1.45).
    test : str
        What defines the cliques: ``nemenyi`` (rank difference <= cd) or ``wilcoxon-holm``.
    xlim, ylim : axis limits (``ylim`` inverted: the axis at 0 on top).
    note : str
        The Friedman test and the critical difference, printed below.
    """

    ranks: pd.DataFrame
    cliques: pd.DataFrame
    n_arms: int
    cd: float
    test: str
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    note: str


def cliques(result: RankTests, test: CliqueTest = "nemenyi") -> list[tuple[int, int]]:
    """Maximal runs ``(first, last)`` of consecutively ranked arms (positions in ``result.ranks``)
    in which no pair differs significantly."""
    arms = result.ranks["arm"].tolist()
    r = result.ranks["mean_rank"].to_numpy(dtype=float)
    k = len(arms)
    same = np.zeros((k, k), dtype=bool)
    if test == "nemenyi":
        same = np.abs(r[:, None] - r[None, :]) <= result.cd
    else:
        pos = {a: i for i, a in enumerate(arms)}
        same[np.diag_indices(k)] = True
        for row in iter_rows(result.pairwise):
            i, j = pos[row.arm_a], pos[row.arm_b]
            same[i, j] = same[j, i] = not bool(row.holm_significant)
    runs: list[tuple[int, int]] = []
    reach = -1
    for i in range(k):
        j = i
        while j + 1 < k and same[i : j + 2, i : j + 2].all():
            j += 1
        if j > i and j > reach:
            runs.append((i, j))
        reach = max(reach, j)
    return runs


def critical_difference_layout(
    result: RankTests, *, test: CliqueTest = "nemenyi", digits: int = 2
) -> CriticalDifferenceLayout:
    """Positions of the critical-difference diagram of ``result``.

    Parameters
    ----------
    result : RankTests
        From :func:`consilience.rank_tests`.
    test : {"nemenyi", "wilcoxon-holm"}
        Which pairwise decisions join arms into cliques: the Nemenyi critical difference
        (Demšar, 2006) or the Holm-adjusted Wilcoxon signed-rank tests that Benavoli et al. (2016)
        recommend (cliques are then runs of consecutive arms with no significant pair).
    digits : int
        Decimals of the average ranks in the labels.

    Returns
    -------
    CriticalDifferenceLayout
        Ranks and label rows (better half on the left), cliques stacked on as few lines as do
        not overlap, the CD bar and the note (see the class).

    References
    ----------
    Demšar, J. (2006). Statistical comparisons of classifiers over multiple data sets. JMLR 7.
    """
    from consilience.compare.ranks import RankTests

    if not isinstance(result, RankTests):
        raise TypeError(
            f"critical_difference_layout takes the result of consilience.rank_tests(); got "
            f"{type(result).__name__}."
        )
    if test not in ("nemenyi", "wilcoxon-holm"):
        raise InputError(
            f"The 'test' parameter must be one of ['nemenyi', 'wilcoxon-holm']. Got {test!r} "
            f"instead."
        )
    ranks = result.ranks[["arm", "mean_rank"]].reset_index(drop=True).copy()
    k = len(ranks)
    runs = cliques(result, test)
    lines: list[float] = []  # right end of the last clique on each line
    rows = []
    mean_rank = ranks["mean_rank"].to_numpy(dtype=float)
    for first, last in runs:
        low, high = float(mean_rank[first]), float(mean_rank[last])
        line = next((n for n, end in enumerate(lines) if low > end + 0.15), len(lines))
        if line == len(lines):
            lines.append(high)
        lines[line] = high
        rows.append(
            {
                "low": low,
                "high": high,
                "y": 0.45 + 0.32 * line,
                "members": tuple(ranks["arm"].iloc[first : last + 1]),
            }
        )
    clique_frame = pd.DataFrame(rows, columns=["low", "high", "y", "members"])
    top = 0.45 + 0.32 * len(lines) + 0.55
    n_left = (k + 1) // 2
    side = np.where(np.arange(k) < n_left, "left", "right")
    y = np.where(side == "left", top + np.arange(k), top + (k - 1 - np.arange(k)))
    ranks["side"] = side
    ranks["y"] = y.astype(float)
    ranks["label"] = [
        f"{a} ({fmt_num(r, digits)})" for a, r in zip(ranks["arm"], ranks["mean_rank"])
    ]
    pad = 0.04 * (k - 1) + 0.1
    chi = f"Friedman \u03c7\u00b2({result.df}) = {fmt_num(result.statistic, 2)}"
    joined = "Nemenyi CD" if test == "nemenyi" else "Wilcoxon-Holm"
    note = (
        f"{chi}, {fmt_p(result.p_value)}; CD = {fmt_num(result.cd, 2)} at "
        f"\u03b1 = {result.alpha:g} ({result.n_tasks} tasks).\n"
        f"Bars join arms that are not significantly different ({joined})."
    )
    return CriticalDifferenceLayout(
        ranks=ranks,
        cliques=clique_frame,
        n_arms=k,
        cd=result.cd,
        test=test,
        xlim=(1 - pad, k + pad),
        ylim=(float(y.max()) + 0.7, -1.9),
        note=note,
    )


def critical_difference_plot(
    result: RankTests, ax: Axes | None = None, *, test: CliqueTest = "nemenyi", digits: int = 2
) -> Axes:
    """Critical-difference diagram: average ranks on an axis, cliques of arms that are not
    significantly different joined by thick bars, and the critical difference on top.

    Parameters
    ----------
    result : RankTests
        From :func:`consilience.rank_tests`.
    ax : matplotlib Axes, optional
        Where to draw (arm names extend left and right of it); default a new figure.
    test, digits :
        See :func:`critical_difference_layout`.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.
    """
    check_ax(ax)
    layout = critical_difference_layout(result, test=test, digits=digits)
    ranks, k = layout.ranks, layout.n_arms
    if ax is None:
        margins = {
            s: (max(text_width(t) for t in ranks.loc[ranks["side"] == s, "label"]) + 16) / 72
            for s in ("left", "right")
        }
        left, right = margins["left"], margins["right"]
        note = max(text_width(line, SMALL) for line in layout.note.splitlines()) / 72 + 0.1
        plot = max(4.0, 0.32 * k, note - left - right)
        height = (layout.ylim[0] - layout.ylim[1]) * _ROW + 0.4
        ax = new_axes(left + plot + right, height, left=left, right=right, top=0.05, bottom=0.4)
    ax.set_xlim(*layout.xlim)
    ax.set_ylim(*layout.ylim)
    ax.set_axis_off()
    ax.plot([1, k], [0, 0], color=INK, lw=1.0)
    ticks = np.arange(1, k + 1)
    ax.vlines(ticks, -0.22, 0, color=INK, lw=0.8)
    ax.vlines(ticks[:-1] + 0.5, -0.12, 0, color=INK, lw=0.6)
    for t in range(1, k + 1):
        ax.text(t, -0.3, str(t), ha="center", va="bottom", fontsize=SMALL, color=INK)
    ax.plot([1, 1 + layout.cd], [-1.45, -1.45], color=INK, lw=1.0)
    ax.vlines([1, 1 + layout.cd], -1.57, -1.33, color=INK, lw=1.0)
    ax.annotate(
        f"CD = {fmt_num(layout.cd, 2)}",
        (1 + layout.cd, -1.45),
        xytext=(5, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        fontsize=SMALL,
        color=INK,
    )
    for row in iter_rows(ranks):
        end = layout.xlim[0] if row.side == "left" else layout.xlim[1]
        ax.plot(
            [row.mean_rank, row.mean_rank, end],
            [0, row.y, row.y],
            color=MUTED,
            lw=0.8,
            solid_joinstyle="miter",
        )
        ax.annotate(
            row.label,
            (end, row.y),
            xytext=(-4 if row.side == "left" else 4, 0),
            textcoords="offset points",
            ha="right" if row.side == "left" else "left",
            va="center",
            fontsize=FONT,
            color=INK,
            annotation_clip=False,
        )
    for row in iter_rows(layout.cliques):
        ax.plot(
            [row.low - 0.06, row.high + 0.06],
            [row.y, row.y],
            color=ACCENT,
            lw=3.2,
            solid_capstyle="round",
        )
    ax.annotate(
        layout.note,
        (layout.xlim[0], layout.ylim[0]),
        xytext=(0, -2),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=SMALL,
        color=MUTED,
        annotation_clip=False,
    )
    return ax
