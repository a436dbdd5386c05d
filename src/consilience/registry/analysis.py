"""Analyses that read their runs from the registry: one experiment's verdict, and the living
analysis of every locked protocol (``consilience update``).

Conventions
-----------
An experiment's runs hold two arms: the reference arm and the arm under test. They are found in
this order: arms literally named ``baseline`` and ``candidate``; otherwise an arm named like the
experiment's baseline experiment and one other arm. Anything else is an error that lists the
arms, and ``baseline_arm=`` / ``candidate_arm=`` say which is which.

A protocol's analysis keeps the runs its ``inclusion`` criteria select, compares its two
``inclusion.arms`` (default ``baseline, candidate``) on its ``primary_metric`` with its ``model``
options, and treats every (experiment, task) pair as one study when it spans several
experiments. The comparison, the deviations from the protocol and the input hash are stored
as a snapshot, so the history of the estimate can be shown (:meth:`Registry.snapshots`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from consilience.compare.comparison import Comparison, compare
from consilience.errors import InputError

if TYPE_CHECKING:
    from consilience.registry.store import Registry

__all__ = [
    "LEADERBOARD_COLUMNS",
    "ProtocolUpdate",
    "compare_experiment",
    "experiment_arms",
    "leaderboard",
    "protocol_runs",
    "update",
]

_HASH_COLUMNS = ["experiment", "arm", "task", "seed", "metric", "value", "n_eval", "item"]


def runs_hash(runs: pd.DataFrame) -> str:
    """SHA-256 of the analysed columns of a runs table (the registry returns them sorted)."""
    cols = [c for c in _HASH_COLUMNS if c in runs.columns]
    text = runs[cols].to_csv(index=False, na_rep="NA", float_format="%.17g")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def experiment_arms(
    runs: pd.DataFrame,
    experiment: str,
    baseline_experiment: str | None,
    *,
    baseline_arm: str | None = None,
    candidate_arm: str | None = None,
) -> tuple[str, str]:
    """The (reference, candidate) arms of one experiment's runs, by the module's convention."""
    arms = sorted(set(runs["arm"].astype(str)))
    if baseline_arm is not None or candidate_arm is not None:
        base = baseline_arm or ("baseline" if "baseline" in arms else baseline_experiment)
        others = [a for a in arms if a != base]
        cand = candidate_arm or (others[0] if len(others) == 1 else None)
        for role, arm in (("baseline_arm", base), ("candidate_arm", cand)):
            if arm is None or arm not in arms:
                raise InputError(
                    f"experiment '{experiment}': {role} {arm!r} is not one of its arms "
                    f"{arms}. Pass an arm that has runs."
                )
        return str(base), str(cand)
    if "baseline" in arms and "candidate" in arms:
        return "baseline", "candidate"
    if baseline_experiment is not None and baseline_experiment in arms and len(arms) == 2:
        return baseline_experiment, next(a for a in arms if a != baseline_experiment)
    raise InputError(
        f"experiment '{experiment}' has arms {arms}; cannot tell the baseline from the candidate "
        "(expected arms 'baseline' and 'candidate', or the baseline experiment's name and one "
        "other). Pass baseline_arm= and candidate_arm= (--baseline-arm/--candidate-arm)."
    )


def compare_experiment(
    registry: Registry,
    name: str,
    *,
    metric: str | None = None,
    baseline_arm: str | None = None,
    candidate_arm: str | None = None,
    **options: Any,
) -> Comparison:
    """Compare the two arms of a registered experiment across its tasks.

    Parameters
    ----------
    registry : Registry
    name : str
        The experiment.
    metric : str, optional
        Needed when its runs hold several metrics.
    baseline_arm, candidate_arm : str, optional
        Override the arm convention of this module.
    **options
        Passed to :func:`consilience.compare` (``method``, ``test``, ``threshold``, ``rope``,
        ``level``, ``measure``, ``test_variance``, ``metrics``).

    Returns
    -------
    Comparison
        With the experiment's ``min_effect`` as the default ``threshold``.
    """
    record = registry.experiment(name)
    runs = registry.runs(name, status="complete")
    if runs.empty:
        raise InputError(
            f"experiment '{name}' has no complete runs yet (status {record.status!r}). "
            "Import its runs first: consilience import csv RUNS.csv"
        )
    base, cand = experiment_arms(
        runs, name, record.baseline, baseline_arm=baseline_arm, candidate_arm=candidate_arm
    )
    if "threshold" not in options and record.min_effect is not None:
        options["threshold"] = record.min_effect
    return compare(runs, baseline=base, candidate=cand, metric=metric, **options)


LEADERBOARD_COLUMNS = (
    "experiment", "baseline", "status", "k", "estimate", "se", "ci_low", "ci_high", "pi_low",
    "pi_high", "tau2", "i2", "p_value", "p_holm", "p_bh", "prob_better", "verdict",
    "seeds_needed", "tasks_needed", "cost_gpu_hours", "cost_usd", "usd_per_gain", "error",
)
"""Columns of :func:`leaderboard`, followed by one column per moderator."""


def leaderboard(
    registry: Registry,
    *,
    metric: str = "accuracy",
    experiments: Sequence[str] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Every registered experiment against its own baseline, most robust first.

    Parameters
    ----------
    registry : Registry
    metric : str
        Metric to compare on.
    experiments : sequence of str, optional
        Only these (default: every experiment with complete runs of ``metric``).
    **options
        Passed to :func:`compare_experiment` (``method``, ``test``, ``rope``, ...).

    Returns
    -------
    pandas.DataFrame
        :data:`LEADERBOARD_COLUMNS` then the experiments' moderators. ``p_holm`` and ``p_bh``
        adjust the p-values over the experiments compared (Holm; Benjamini-Hochberg), sorted by
        ``prob_better`` (the predictive probability of a gain on a new task). Experiments whose
        comparison fails keep a row with the reason in ``error`` and no numbers.
    """
    import numpy as np

    from consilience.compare.multiple_testing import adjust_p_values

    table = registry.experiments()
    names = list(experiments) if experiments is not None else list(table["name"])
    selected = registry.runs(names, metric=metric, status="complete")
    runs_of = {str(e): group for e, group in selected.groupby("experiment", sort=False)}
    rows: list[dict[str, Any]] = []
    for name in names:  # a loop over experiments; each comparison is vectorised over tasks
        if name not in runs_of:
            continue
        record = registry.experiment(name)
        row: dict[str, Any] = {"experiment": name, "baseline": record.baseline,
                               "status": record.status, **dict(record.moderators)}
        try:
            res = compare_experiment(registry, name, metric=metric, **options)
        except InputError as exc:
            row["error"] = str(exc)
            rows.append(row)
            continue
        for key in ("k", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
                    "i2", "p_value", "prob_better", "verdict", "seeds_needed", "tasks_needed"):
            row[key] = getattr(res, key)
        cost = runs_of[name].groupby("arm")[["cost_gpu_hours", "cost_usd"]].mean()
        for col in ("cost_gpu_hours", "cost_usd"):  # the arms the comparison used, by name
            row[col] = float(cost[col].get(res.candidate, np.nan))
        extra = row["cost_usd"] - float(cost["cost_usd"].get(res.baseline, np.nan))
        row["usd_per_gain"] = extra / res.estimate if res.estimate > 0 else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in LEADERBOARD_COLUMNS:
        if col not in out.columns:
            out[col] = None
    p = out["p_value"].to_numpy(dtype=float) if len(out) else np.zeros(0)
    ok = np.isfinite(p)
    for col, how in (("p_holm", "holm"), ("p_bh", "bh")):
        adjusted = np.full(len(out), np.nan)
        if ok.any():
            adjusted[ok] = adjust_p_values(p[ok], method=how)  # type: ignore[arg-type]
        out[col] = adjusted
    mods = [c for c in out.columns if c not in LEADERBOARD_COLUMNS]
    out = out[[*LEADERBOARD_COLUMNS, *mods]]
    order = out["prob_better"].astype(float)
    return out.assign(_o=order).sort_values("_o", ascending=False, na_position="last",
                                             kind="stable").drop(columns="_o").reset_index(drop=True)


def protocol_runs(registry: Registry, spec: Mapping[str, Any]) -> pd.DataFrame:
    """The runs a protocol's inclusion criteria select, on its primary metric."""
    inc: Mapping[str, Any] = spec.get("inclusion") or {}
    exp_status: Sequence[str] | None = inc.get("experiment_statuses")
    experiments: Sequence[str] | None = inc.get("experiments")
    if exp_status is not None:
        table = registry.experiments()
        allowed = set(table.loc[table["status"].isin(list(exp_status)), "name"])
        experiments = [e for e in (experiments or sorted(allowed)) if e in allowed]
    runs = registry.runs(
        list(experiments) if experiments is not None else None,
        metric=spec["primary_metric"],
        status=inc.get("run_statuses") or "complete",
    )
    for column, key in (("arm", "arms"), ("task", "tasks")):
        wanted = inc.get(key)
        if wanted is not None:
            runs = runs[runs[column].isin(list(wanted))]
    return runs.reset_index(drop=True)


@dataclass(frozen=True)
class ProtocolUpdate:
    """One protocol's living-analysis step.

    Attributes
    ----------
    protocol : str
    status : {'updated', 'unchanged', 'no runs', 'failed'}
        ``unchanged``: the runs hash equals the newest snapshot's, nothing stored.
    snapshot_id : int or None
    input_hash : str or None
    estimate, ci_low, ci_high, k, verdict : the pooled comparison (None unless computed).
    n_deviations : int
    message : str
    """

    protocol: str
    status: str
    snapshot_id: int | None
    input_hash: str | None
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    k: int | None
    verdict: str | None
    n_deviations: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        from consilience._results import json_safe

        out: dict[str, Any] = json_safe(dict(self.__dict__))
        return out


def analyze_protocol(registry: Registry, name: str) -> tuple[Comparison, pd.DataFrame, list[Any]]:
    """Run the analysis a locked protocol describes; returns the result, runs and deviations."""
    spec = registry.protocol(name).spec
    runs = protocol_runs(registry, spec)
    if runs.empty:
        raise InputError(f"protocol '{name}': no complete runs match its inclusion criteria yet.")
    arms = list((spec.get("inclusion") or {}).get("arms") or ["baseline", "candidate"])
    if len(arms) != 2:
        raise InputError(
            f"protocol '{name}': inclusion.arms must name two arms (reference, candidate); "
            f"got {arms}. Fix the protocol and lock it under a new name."
        )
    analysed = runs
    if runs["experiment"].nunique() > 1:
        analysed = runs.assign(task=runs["experiment"] + "/" + runs["task"])
    model: Mapping[str, Any] = spec.get("model") or {}
    rope = spec.get("rope")
    half_width = None
    if rope is not None:
        half_width = max(abs(float(rope[0])), abs(float(rope[1])))
    result = compare(
        analysed,
        baseline=arms[0],
        candidate=arms[1],
        metric=spec["primary_metric"],
        method=model.get("method", "REML"),
        test=model.get("test", "knha"),
        level=model.get("level", 0.95),
        threshold=float(spec.get("min_effect") or 0.0),
        rope=half_width,
    )
    deviations = registry.check_protocol(name, {}, runs=runs)
    return result, runs, deviations


def update(registry: Registry, protocols: Sequence[str] | None = None) -> list[ProtocolUpdate]:
    """Recompute every locked protocol's pooled estimate and store a snapshot when runs changed.

    Parameters
    ----------
    registry : Registry
    protocols : sequence of str, optional
        Only these protocols (default: all locked ones).

    Returns
    -------
    list of ProtocolUpdate
        One per protocol, in name order. A protocol whose analysis fails (for example no runs
        yet) is reported with status ``no runs`` or ``failed`` and the message; the others are
        still updated.
    """
    names = list(protocols) if protocols is not None else sorted(registry.protocols()["name"])
    out: list[ProtocolUpdate] = []
    for name in names:
        registry.protocol(name)  # unknown names fail loudly, before any work
        try:
            result, runs, deviations = analyze_protocol(registry, name)
        except InputError as exc:
            status = "no runs" if "no complete runs" in str(exc) else "failed"
            out.append(ProtocolUpdate(name, status, None, None, None, None, None, None, None, 0,
                                      str(exc)))
            continue
        digest = runs_hash(runs)
        latest = registry.latest_snapshot(name)
        pooled: dict[str, Any] = {"estimate": result.estimate, "ci_low": result.ci_low,
                                  "ci_high": result.ci_high, "k": result.k,
                                  "verdict": result.verdict}
        if latest is not None and latest.input_hash == digest:
            out.append(ProtocolUpdate(name, "unchanged", latest.id, digest, **pooled,
                                      n_deviations=len(deviations),
                                      message="no new runs since the last snapshot"))
            continue
        payload = {
            "comparison": result.to_dict(),
            "deviations": [d.to_dict() for d in deviations],
            "n_runs": len(runs),
        }
        snap = registry.snapshot(name, payload, digest)
        msg = f"{result.verdict}: {result.estimate:+.4g} [{result.ci_low:+.4g}, {result.ci_high:+.4g}]"
        out.append(ProtocolUpdate(name, "updated", snap, digest, **pooled,
                                  n_deviations=len(deviations), message=msg))
    return out
