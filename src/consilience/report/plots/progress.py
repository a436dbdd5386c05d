"""Baseline progress: accepted improvements over time, with everything else that was tried."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from consilience.errors import InputError
from consilience.report.plots._layout import Layout, check_ax, iter_rows
from consilience.report.plots._style import (
    ACCENT,
    FONT,
    GRID,
    HIGHLIGHT,
    INK,
    MUTED,
    SMALL,
    new_axes,
    spines,
    text_width,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["KINDS", "ProgressLayout", "baseline_progress_layout", "baseline_progress_plot"]

KINDS = ("accepted", "rejected", "neutral", "failed", "pending")
"""Marker kinds; "pending" collects the statuses without a decision (planned, running, complete)."""
_STYLE = {
    "accepted": {
        "marker": "o",
        "s": 46,
        "color": ACCENT,
        "edgecolor": "white",
        "lw": 0.8,
        "zorder": 5,
    },
    "rejected": {"marker": "x", "s": 34, "color": HIGHLIGHT, "lw": 1.4, "zorder": 4},
    "neutral": {
        "marker": "o",
        "s": 30,
        "facecolor": "white",
        "edgecolor": MUTED,
        "lw": 1.1,
        "zorder": 4,
    },
    "failed": {
        "marker": "s",
        "s": 24,
        "facecolor": "white",
        "edgecolor": INK,
        "lw": 1.0,
        "zorder": 4,
    },
    "pending": {"marker": "o", "s": 12, "color": "#b0b0b0", "lw": 0, "zorder": 3},
}
_NAMES = {
    "accepted": "Accepted",
    "rejected": "Rejected",
    "neutral": "Neutral",
    "failed": "Failed",
    "pending": "Not decided yet",
}


@dataclass(frozen=True, eq=False)
class ProgressLayout(Layout):
    """The baseline-progress chart as data.

    Attributes
    ----------
    points : DataFrame
        One row per experiment: ``experiment, status, kind`` (one of :data:`KINDS`), ``time``
        (acceptance time for accepted experiments, creation time otherwise; naive UTC) and ``y``.
    steps : DataFrame
        The baseline's step line: ``time, y, baseline`` (the level holds from ``time`` until the
        next row); the last row repeats the level at the latest time.
    counts : dict of str to int
        Experiments of each kind.
    ylabel : str
        y-axis title.
    generations : bool
        True when ``y`` counts accepted improvements (no value column was given).
    """

    points: pd.DataFrame
    steps: pd.DataFrame
    counts: dict[str, int]
    ylabel: str
    generations: bool


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, errors="coerce").dt.tz_convert(None)


def baseline_progress_layout(
    lineage: pd.DataFrame,
    *,
    value_col: str | None = None,
    root_value: float | None = None,
    ylabel: str | None = None,
) -> ProgressLayout:
    """Points and step line of the baseline-progress chart.

    Parameters
    ----------
    lineage : DataFrame or Lineage
        One row per experiment, as ``Registry.lineage().to_frame()`` returns it (a ``Lineage``
        is turned into that frame). Needed columns: ``experiment`` (name), ``status``
        ("accepted", "rejected", "neutral", "failed", or "planned"/"running"/"complete" for
        undecided ones) and ``created_at`` (datetime). Used when present: ``accepted_at``
        (datetime, for accepted ones; default ``created_at``) and ``baseline`` (its first value
        names the first baseline). Other columns (``change, hypothesis``) are ignored.
    value_col : str, optional
        Column with each experiment's measured score; without it ``y`` counts accepted
        improvements (the baseline's generation).
    root_value : float, optional
        Score of the first baseline, where the step line starts when ``value_col`` is given
        (default: the line starts at the first accepted experiment).
    ylabel : str, optional
        y-axis title (default: the value column's name, or "Accepted improvements").

    Returns
    -------
    ProgressLayout
        See the class. An accepted experiment raises the baseline from its acceptance time on;
        every other experiment sits at its own value, or (without values, or when its value is
        missing) at the baseline's level when it was created.
    """
    if not isinstance(lineage, pd.DataFrame) and callable(getattr(lineage, "to_frame", None)):
        lineage = lineage.to_frame()
    if not isinstance(lineage, pd.DataFrame):
        raise TypeError(
            f"baseline_progress_layout takes a DataFrame (Registry.lineage().to_frame()); got "
            f"{type(lineage).__name__}."
        )
    missing = [c for c in ("experiment", "status", "created_at") if c not in lineage.columns]
    if value_col is not None and value_col not in lineage.columns:
        missing.append(value_col)
    if missing:
        raise InputError(
            f"The lineage table lacks column(s) {missing}; it has "
            f"{list(map(str, lineage.columns))}. Pass Registry.lineage().to_frame(), or a table "
            f"with those columns."
        )
    if lineage.empty:
        raise InputError("The lineage table is empty: there is no experiment to draw yet.")
    frame = lineage.drop_duplicates("experiment", keep="last").reset_index(drop=True)
    status = frame["status"].astype(str).str.lower()
    kind = status.where(status.isin(KINDS[:-1]), "pending")
    created = _utc(frame["created_at"])
    accepted = _utc(frame["accepted_at"]) if "accepted_at" in frame.columns else created
    time = created.where(kind != "accepted", accepted.fillna(created))
    if time.isna().any():
        bad = frame.loc[time.isna(), "experiment"].astype(str).tolist()[:5]
        raise InputError(
            f"'created_at' must be a date for every experiment; missing or unreadable for {bad}."
        )
    order = np.argsort(time.to_numpy(), kind="stable")
    frame, kind, time = frame.iloc[order], kind.iloc[order], time.iloc[order]
    values = (
        pd.to_numeric(frame[value_col], errors="coerce")
        if value_col is not None
        else pd.Series(np.nan, index=frame.index)
    )
    level = 0.0 if value_col is None else (np.nan if root_value is None else float(root_value))
    root = str(frame["baseline"].iloc[0]) if "baseline" in frame.columns else "first baseline"
    steps = [{"time": time.iloc[0], "y": level, "baseline": root}]
    ys = []
    for name, k, t, v in zip(frame["experiment"], kind, time, values):
        if k == "accepted":
            level = level + 1.0 if value_col is None else (v if np.isfinite(v) else level)
            steps.append({"time": t, "y": level, "baseline": str(name)})
            ys.append(level)
        else:
            ys.append(v if np.isfinite(v) else level)
    steps.append({"time": time.iloc[-1], "y": level, "baseline": steps[-1]["baseline"]})
    points = pd.DataFrame(
        {
            "experiment": frame["experiment"].astype(str).to_numpy(),
            "status": frame["status"].astype(str).to_numpy(),
            "kind": kind.to_numpy(),
            "time": time.to_numpy(),
            "y": np.asarray(ys, dtype=float),
        }
    )
    counts = {k: int((points["kind"] == k).sum()) for k in KINDS}
    label = (
        ylabel
        if ylabel is not None
        else ("Accepted improvements" if value_col is None else value_col)
    )
    return ProgressLayout(
        points=points,
        steps=pd.DataFrame(steps),
        counts=counts,
        ylabel=label,
        generations=value_col is None,
    )


def baseline_progress_plot(
    lineage: pd.DataFrame,
    ax: Axes | None = None,
    *,
    value_col: str | None = None,
    root_value: float | None = None,
    ylabel: str | None = None,
    names: bool = True,
) -> Axes:
    """Baseline progress: the baseline as a step line that rises with each accepted improvement,
    and every rejected, neutral, failed and undecided experiment as its own marker.

    Parameters
    ----------
    lineage : DataFrame
        ``Registry.lineage().to_frame()``, or any table with the columns listed in
        :func:`baseline_progress_layout` (no database needed).
    ax : matplotlib Axes, optional
        Where to draw; default a new figure (legend on the right).
    value_col, root_value, ylabel :
        See :func:`baseline_progress_layout`.
    names : bool
        Print the names of the accepted experiments beside their points.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on (dates on the x axis).
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    check_ax(ax)
    layout = baseline_progress_layout(
        lineage, value_col=value_col, root_value=root_value, ylabel=ylabel
    )
    labels = {k: f"{_NAMES[k]} ({n})" for k, n in layout.counts.items() if n}
    if ax is None:
        room = (max(text_width(t, SMALL) for t in labels.values()) + 40) / 72
        ax = new_axes(5.8 + room, 3.6, left=0.7, right=room, top=0.2)
    steps = layout.steps.dropna(subset=["y"])
    ax.step(
        steps["time"], steps["y"], where="post", color=ACCENT, lw=2.0, zorder=2, label="Baseline"
    )
    for kind, label in labels.items():
        part = layout.points.loc[layout.points["kind"] == kind]
        ax.scatter(part["time"], part["y"], label=label, **_STYLE[kind])  # type: ignore[arg-type]
    if names:
        for row in iter_rows(layout.points.loc[layout.points["kind"] == "accepted"]):
            ax.annotate(
                row.experiment,
                (row.time, row.y),
                xytext=(-5, 6),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=SMALL,
                color=ACCENT,
            )
    locator = AutoDateLocator(minticks=3, maxticks=7)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    if layout.generations:
        top = float(layout.points["y"].max())
        ax.set_yticks(np.arange(0, top + 1))
        ax.set_ylim(-0.4, top + 0.6)
        ax.margins(x=0.04)
    else:
        ax.margins(x=0.04, y=0.1)
    ax.grid(True, axis="y", color=GRID, lw=0.6)
    ax.set_axisbelow(True)
    spines(ax)
    ax.set_ylabel(layout.ylabel, fontsize=FONT, color=INK)
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
        fontsize=SMALL,
        borderaxespad=0.0,
    )
    return ax
