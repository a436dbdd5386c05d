"""Learning curves and the data-versus-model decision, for the dashboard.

A learning curve needs one task measured at several training-set sizes. Runs carry their size
in an extra column (``size_train``, ``train_size`` or ``n_train``, kept by the importers in each
run's ``extra``); every (experiment, arm, task) with at least :data:`MIN_ANCHORS` distinct sizes
is a curve. The curves with the most anchors are fitted with
:class:`~consilience.curves.LearningCurve`; with a label cost, the current baseline's curve (else
the first) prices labelling budgets against the candidate model changes of the leaderboard
(:func:`~consilience.curves.value_of_options`). When the registry holds no curve, the page says
why instead.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from consilience._results import json_safe
from consilience.report.figures import SvgFigure, svg_figure
from consilience.web.state import Dashboard

__all__ = ["MAX_CURVES", "MIN_ANCHORS", "SIZE_KEYS", "curve_runs", "curves_view"]

SIZE_KEYS = ("size_train", "train_size", "n_train")
"""Extra run columns read as the training-set size, in this order."""
MIN_ANCHORS = 4
"""Distinct training-set sizes a task needs to count as a learning curve."""
MAX_CURVES = 4
"""Curves fitted and drawn on the page (those with the most anchors)."""

NO_CURVES = (
    "No learning curve can be drawn from this registry: a curve needs the same task measured at "
    "{n} or more training-set sizes, and {why} Import runs of one task at several sizes, with "
    "the size in a size_train column (consilience import csv RUNS.csv), to see the curves and "
    "whether labelling more data or changing the model buys more per dollar."
)


def curve_runs(d: Dashboard, metric: str) -> pd.DataFrame:
    """Complete runs of ``metric`` with a training-set size.

    Returns
    -------
    DataFrame
        ``experiment, arm, task, seed, value, size`` for runs whose extra columns give a size.
    """
    from sqlalchemy import select

    from consilience.registry.models import Experiment, Run

    stmt = (select(Experiment.name, Run.arm, Run.task, Run.seed, Run.value, Run.extra)
            .join(Experiment, Run.experiment_id == Experiment.id)
            .where(Run.metric == metric, Run.status == "complete", Run.value.is_not(None)))
    rows = []
    with d.registry.engine.connect() as conn:
        for name, arm, task, seed, value, extra in conn.execute(stmt):
            size = None
            for key in SIZE_KEYS:
                if isinstance(extra, dict) and extra.get(key) is not None:
                    size = extra[key]
                    break
            try:
                size_value = float(size) if size is not None else None
            except (TypeError, ValueError):
                size_value = None
            if size_value is not None and size_value > 0:
                rows.append((name, arm, task, seed, float(value), size_value))
    return pd.DataFrame(rows, columns=["experiment", "arm", "task", "seed", "value", "size"])


def _curve_groups(runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty:
        return pd.DataFrame(columns=["experiment", "arm", "task", "anchors", "runs"])
    groups = (runs.groupby(["experiment", "arm", "task"])
              .agg(anchors=("size", "nunique"), runs=("value", "size")).reset_index())
    return groups.sort_values(["anchors", "runs", "experiment", "arm", "task"],
                              ascending=[False, False, True, True, True], kind="stable")


def _candidates(d: Dashboard, metric: str) -> pd.DataFrame:
    from consilience.registry.analysis import leaderboard

    board = d.cached(("leaderboard", metric), lambda: leaderboard(d.registry, metric=metric))
    frame = board.value if isinstance(board.value, pd.DataFrame) else pd.DataFrame()
    if frame.empty:
        return pd.DataFrame(columns=["name", "effect", "ci_low", "ci_high", "cost_usd"])
    ok = frame.loc[frame["estimate"].notna() & frame["ci_low"].notna()
                   & frame["cost_usd"].astype(float).gt(0)]
    return pd.DataFrame({"name": ok["experiment"].astype(str), "effect": ok["estimate"],
                         "ci_low": ok["ci_low"], "ci_high": ok["ci_high"],
                         "cost_usd": ok["cost_usd"].astype(float)}).reset_index(drop=True)


def curves_view(d: Dashboard, metric: str, label_cost: float | None
                ) -> tuple[dict[str, Any], dict[str, SvgFigure]]:
    """Learning curves of ``metric`` and, with ``label_cost``, the data-versus-model decision.

    Returns
    -------
    (dict, dict)
        The payload: ``metric``, ``available``, ``explanation`` (when no curve can be
        drawn), ``curves`` (``experiment, arm, task, anchors, runs`` of every curve found),
        ``fits`` (for the curves fitted: ``key, experiment, arm, task, chosen, current_size,
        prediction`` at twice the largest anchor), ``label_cost``, ``decision``
        (``OptionsTable.to_dict()``) or ``decision_note``, ``data_value``, ``notes``; and the
        figures by key.
    """
    runs = d.cached(("curve-runs", metric), lambda: curve_runs(d, metric))
    frame = runs.value if isinstance(runs.value, pd.DataFrame) else pd.DataFrame()
    groups = _curve_groups(frame)
    curves = groups.loc[groups["anchors"] >= MIN_ANCHORS] if len(groups) else groups
    payload: dict[str, Any] = {"metric": metric, "metrics": d.metrics(), "label_cost": label_cost,
                               "curves": json_safe(curves), "fits": [], "decision": None,
                               "decision_note": None, "data_value": None,
                               "notes": list(runs.notes), "error": runs.error}
    if curves.empty:
        if frame.empty:
            why = "no run records a training-set size (a size_train column)."
        else:
            most = int(groups["anchors"].max())
            count = "only one size" if most == 1 else f"at most {most} sizes"
            why = (f"these runs record {count} per task "
                   f"(the bundled LCDB extract keeps only each data set's largest training "
                   f"size).")
        payload.update(available=False, explanation=NO_CURVES.format(n=MIN_ANCHORS, why=why))
        return json_safe(payload), {}
    payload["available"] = True
    payload["explanation"] = None

    def fit_all() -> list[tuple[dict[str, Any], Any]]:
        from consilience.curves import LearningCurve

        out = []
        for i, g in enumerate(curves.head(MAX_CURVES).itertuples(index=False)):
            part = frame.loc[(frame["experiment"] == g.experiment) & (frame["arm"] == g.arm)
                             & (frame["task"] == g.task)]
            seeds = part["seed"] if part["seed"].notna().all() else None
            fit = LearningCurve(n_boot=100, seed=0).fit(part["size"], part["value"], seeds)
            pred = fit.predict_at(2 * fit.current_size)
            out.append(({"key": f"curve-{i}", "experiment": g.experiment, "arm": g.arm,
                         "task": g.task, "chosen": list(fit.chosen),
                         "current_size": fit.current_size, "prediction": pred.to_dict()}, fit))
        return out

    fitted = d.cached(("curve-fits", metric), fit_all)
    payload["notes"] += [n for n in fitted.notes if n not in payload["notes"]]
    if fitted.error:
        payload["error"] = fitted.error
        return json_safe(payload), {}
    pairs = fitted.value or []
    payload["fits"] = [info for info, _ in pairs]
    figures = d.cached(("curve-figures", metric), lambda: {
        info["key"]: svg_figure(info["key"], f"{info['experiment']} / {info['arm']} / "
                                             f"{info['task']}", "learning_curve_plot", fit,
                                width=5.6, height=3.6, rect=(0.14, 0.15, 0.8, 0.78))
        for info, fit in pairs})
    if label_cost is None:
        payload["decision_note"] = ("Enter the cost of one labelled example (USD) to compare "
                                    "buying labels with the candidate model changes.")
        return json_safe(payload), dict(figures.value or {})
    baseline = d.cached(("current-baseline",), d.registry.current_baseline).value
    chosen = next((p for p in pairs if p[0]["experiment"] == baseline), pairs[0])
    candidates = _candidates(d, metric)

    def decide() -> dict[str, Any]:
        from consilience.curves import data_value, value_of_options

        worth = data_value(chosen[1], label_cost=label_cost)
        out: dict[str, Any] = {"curve": chosen[0]["key"], "data_value": worth.to_dict()}
        if len(candidates):
            out["options"] = value_of_options(chosen[1], label_cost, candidates).to_dict()
        return out

    decision = d.cached(("decision", metric, label_cost), decide)
    payload["notes"] += [n for n in decision.notes if n not in payload["notes"]]
    if decision.error:
        payload["decision_note"] = decision.error
    elif decision.value is not None:
        payload["data_value"] = decision.value["data_value"]
        payload["decision"] = decision.value.get("options")
        if payload["decision"] is None:
            payload["decision_note"] = ("No candidate model change has a cost (cost_usd) in "
                                        "its runs, so only the value of more labels is shown.")
    return json_safe(payload), dict(figures.value or {})
