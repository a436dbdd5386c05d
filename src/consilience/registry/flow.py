"""From the registry to the quality analyses: the inclusion flow and the studies it leaves.

A *study* is one (experiment, task) pair: the experiment's candidate arm against its baseline
arm on one task, as the living analysis of a protocol counts them
(:mod:`consilience.registry.analysis`). :func:`inclusion_flow` follows every run of a metric
from *found* through each exclusion, with its reason, to *analysed*, as a systematic review's
flow diagram does; :func:`study_table` returns the analysed studies with their effects,
moderators, training-set size and risk of bias. The quality analyses of
:mod:`consilience.quality` read them: :func:`synthesis`, :func:`tradeoffs` and :func:`scenario`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from consilience.compare.metrics import MetricSpec
from consilience.compare.task_effects import task_effects
from consilience.errors import DataDroppedWarning, InputError
from consilience.quality.scenarios import Scenario, predict_scenario
from consilience.quality.synthesis import (
    InclusionFlow,
    QualitySynthesis,
    quality_synthesis,
)
from consilience.quality.synthesis import inclusion_flow as _flow
from consilience.quality.tradeoffs import ComparisonPair, Tradeoffs, tradeoffs_by_pair
from consilience.registry.analysis import experiment_arms, protocol_runs
from consilience.registry.models import Experiment, Run
from consilience.registry.quality_store import overall_risk

if TYPE_CHECKING:
    from consilience.quality.tradeoffs import Measure
    from consilience.registry.store import Registry

__all__ = [
    "LOG10_COVARIATES",
    "STUDY_COLUMNS",
    "TASK_SIZE_KEYS",
    "inclusion_flow",
    "scenario",
    "study_table",
    "synthesis",
    "tradeoffs",
]

STUDY_COLUMNS = (
    "experiment", "task", "study", "baseline_arm", "candidate_arm", "design", "n_baseline",
    "n_candidate", "yi", "vi", "se", "n_train", "risk",
)
"""Columns of :func:`study_table`, followed by one column per experiment moderator."""

TASK_SIZE_KEYS = ("n_train", "size_train", "train_size")
"""Run columns (kept in ``extra``) read as the task's training-set size ``n_train``."""

LOG10_COVARIATES = ("n_train",)
"""Covariates that enter scenario meta-regressions as ``log10``."""


def _sizes(registry: Registry, metric: str) -> pd.DataFrame:
    stmt = (select(Experiment.name, Run.task, Run.extra)
            .join(Experiment, Run.experiment_id == Experiment.id)
            .where(Run.metric == metric))
    rows = []
    with registry._read() as s:
        for name, task, extra in s.execute(stmt):
            extra = extra or {}
            value = next((extra[k] for k in TASK_SIZE_KEYS if k in extra), None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                rows.append((name, task, float(value)))
    frame = pd.DataFrame(rows, columns=["experiment", "task", "n_train"])
    return frame.groupby(["experiment", "task"]).agg(n_train=("n_train", "median")).reset_index()


def _select(
    registry: Registry,
    metric: str | None,
    protocol: str | None,
    experiments: Sequence[str] | None,
) -> tuple[str, pd.DataFrame, list[tuple[str, pd.Series]], dict[str, tuple[str, str]]]:
    """The runs found, the inclusion criteria (reason, mask) and each experiment's arms."""
    table = registry.experiments()
    status = dict(zip(table["name"], table["status"]))
    baseline_of = dict(zip(table["name"], table["baseline"]))
    criteria: list[tuple[str, pd.Series]] = []
    if protocol is not None:
        spec = registry.protocol(protocol).spec
        metric = str(spec["primary_metric"])
        found = registry.runs(metric=metric)
        inc: Mapping[str, Any] = spec.get("inclusion") or {}
        if inc.get("experiments") is not None:
            criteria.append(("experiment not named in inclusion.experiments",
                             found["experiment"].isin(list(inc["experiments"]))))
        if inc.get("experiment_statuses") is not None:
            criteria.append(("experiment status not in inclusion.experiment_statuses",
                             found["experiment"].map(status).isin(
                                 list(inc["experiment_statuses"]))))
        run_statuses = list(inc.get("run_statuses") or ["complete"])
        criteria.append((f"run status not in {run_statuses}",
                         found["status"].isin(run_statuses)))
        arms = list(inc.get("arms") or ["baseline", "candidate"])
        criteria.append((f"arm not in {arms}", found["arm"].isin(arms)))
        if inc.get("tasks") is not None:
            criteria.append(("task not in inclusion.tasks", found["task"].isin(list(inc["tasks"]))))
        chosen = protocol_runs(registry, spec)
        keys = pd.MultiIndex.from_frame(chosen[["source", "external_id"]])
        ids = pd.MultiIndex.from_frame(found[["source", "external_id"]]).isin(keys)
        criteria.append(("other protocol criteria", pd.Series(ids, index=found.index)))
        fixed = {str(e): (arms[0], arms[1]) for e in found["experiment"].unique()}
        return metric, found, criteria, fixed
    metric = metric or "accuracy"
    found = registry.runs(metric=metric)
    if experiments is not None:
        missing = sorted(set(experiments) - set(status))
        if missing:
            registry.experiment(missing[0])  # raises, naming the known experiments
        criteria.append(("experiment not selected", found["experiment"].isin(list(experiments))))
    complete = found["status"].eq("complete") & found["value"].notna()
    criteria.append(("run not complete (failed, killed or running)", complete))
    pairs: dict[str, tuple[str, str]] = {}
    unresolved: set[str] = set()
    for name, runs in found.loc[complete].groupby("experiment", sort=True):
        try:
            pairs[str(name)] = experiment_arms(runs, str(name), baseline_of.get(name))
        except InputError:
            unresolved.add(str(name))
    criteria.append((("the experiment's arms cannot be told apart (expected baseline and "
                     "candidate)"), ~found["experiment"].isin(sorted(unresolved))))
    is_base, is_cand = _arm_roles(found, pairs)
    criteria.append(("arm is neither the baseline nor the candidate", is_base | is_cand))
    return metric, found, criteria, pairs


def _arm_roles(
    runs: pd.DataFrame, pairs: Mapping[str, tuple[str, str]]
) -> tuple[pd.Series, pd.Series]:
    """Whether each run is of its experiment's baseline arm, and of its candidate arm."""
    experiment = runs["experiment"].astype(str)
    base = experiment.map({e: b for e, (b, _) in pairs.items()})
    cand = experiment.map({e: c for e, (_, c) in pairs.items()})
    return runs["arm"].eq(base), runs["arm"].eq(cand)


def _both_arms(runs: pd.DataFrame, pairs: Mapping[str, tuple[str, str]]) -> pd.Series:
    """Whether each run's (experiment, task) has runs of both its experiment's arms."""
    is_base, is_cand = _arm_roles(runs, pairs)
    study = [runs["experiment"], runs["task"]]
    has_base = is_base.groupby(study).transform("any")
    has_cand = is_cand.groupby(study).transform("any")
    return (has_base & has_cand).astype(bool)


def _studies(
    registry: Registry,
    metric: str | None,
    protocol: str | None,
    experiments: Sequence[str] | None,
) -> tuple[pd.DataFrame, InclusionFlow]:
    metric, found, criteria, pairs = _select(registry, metric, protocol, experiments)
    remaining = found
    for _, mask in criteria:
        remaining = remaining.loc[mask.reindex(remaining.index).fillna(False).astype(bool)]
    one_arm = _both_arms(remaining, pairs)
    criteria.append(("task run by one arm only (no comparison)", one_arm))
    remaining = remaining.loc[one_arm]
    frames = []
    failed: dict[str, str] = {}
    for name, runs in remaining.groupby("experiment", sort=True):
        base, cand = pairs[str(name)]
        try:
            eff = task_effects(runs, baseline=base, candidate=cand, metric=metric)
        except InputError as exc:
            failed[str(name)] = str(exc)
            continue
        frames.append(eff.assign(experiment=str(name), baseline_arm=base, candidate_arm=cand))
    for name, why in failed.items():
        criteria.append((f"no effect for {name}: {why}", found["experiment"].ne(name)))
    flow = _flow(found, criteria, metric=metric, protocol=protocol,
                 found=f"runs of {metric} in the registry")
    lost = flow.steps.iloc[-(len(failed) + 2):-1]  # the analysis-stage exclusions
    n_lost = int(lost["runs"].sum())
    if n_lost:
        warnings.warn(f"{n_lost} runs in {int(lost['studies'].sum())} studies left out of the "
                      "analysis: " + "; ".join(f"{why} ({n} runs)" for why, n in
                                               zip(lost["reason"], lost["runs"]) if n),
                      DataDroppedWarning,
                      stacklevel=3)
    cols = list(STUDY_COLUMNS)
    if not frames:
        return pd.DataFrame(columns=cols), flow
    studies = pd.concat(frames, ignore_index=True)
    studies["study"] = studies["experiment"] + "/" + studies["task"]
    studies = studies.merge(_sizes(registry, metric), on=["experiment", "task"], how="left")
    risk = overall_risk(registry)
    studies["risk"] = studies["experiment"].map(risk).fillna("unknown")
    table = registry.experiments().set_index("name")
    mods = sorted({k for e in studies["experiment"].unique()
                   for k in (table.loc[e, "moderators"] or {})})
    for key in mods:
        studies[key] = [(table.loc[e, "moderators"] or {}).get(key) for e in studies["experiment"]]
    return studies[cols + [m for m in mods if m not in cols]].reset_index(drop=True), flow


def study_table(
    registry: Registry,
    *,
    metric: str | None = None,
    protocol: str | None = None,
    experiments: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The studies an analysis of ``metric`` (or of a locked protocol) includes.

    Parameters
    ----------
    registry : Registry
    metric : str, optional
        Default ``accuracy``; a protocol's ``primary_metric`` when ``protocol`` is given.
    protocol : str, optional
        Apply this locked protocol's inclusion criteria and arms.
    experiments : sequence of str, optional
        Without a protocol: only these experiments.

    Returns
    -------
    pandas.DataFrame
        One row per (experiment, task): :data:`STUDY_COLUMNS` (``yi, vi, se`` as
        :func:`consilience.task_effects` computes them, positive = candidate better; ``n_train``
        the median training-set size from the runs' :data:`TASK_SIZE_KEYS`; ``risk`` the
        experiment's overall risk of bias), then the experiments' moderators.

    Warns
    -----
    DataDroppedWarning
        Runs left out at the analysis stage (tasks run by one arm, experiments whose effects
        cannot be computed), counted; the full account is :func:`inclusion_flow`.
    """
    return _studies(registry, metric, protocol, experiments)[0]


def inclusion_flow(
    registry: Registry,
    protocol: str | None = None,
    *,
    metric: str | None = None,
    experiments: Sequence[str] | None = None,
) -> InclusionFlow:
    """Found, excluded with reasons, analysed: the runs behind an analysis.

    With a locked ``protocol`` the criteria are its ``inclusion`` fields in order (experiments,
    experiment statuses, run statuses, arms, tasks), checked against
    :func:`consilience.registry.analysis.protocol_runs`; without one, complete runs of the two
    arms of each experiment. Both then drop tasks run by one arm only and experiments whose
    effects cannot be computed.

    Returns
    -------
    InclusionFlow
        ``steps``: ``step, reason, experiments, studies, runs``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataDroppedWarning)  # the flow itself is the account
        return _studies(registry, metric, protocol, experiments)[1]


def synthesis(
    registry: Registry,
    *,
    metric: str | None = None,
    protocol: str | None = None,
    experiments: Sequence[str] | None = None,
    quality_weights: Mapping[str, float] | None = None,
) -> QualitySynthesis:
    """The quality-aware synthesis of the registry's studies (:func:`study_table`).

    Pools every study, the studies of experiments at low risk of bias only, one subgroup per
    risk level with the test for subgroup differences, and, given ``quality_weights``, the
    quality-weighted sensitivity analysis (:func:`consilience.quality.quality_synthesis`). With a
    ``protocol`` its locked model options are used, else REML with Knapp-Hartung at 95%.

    Returns
    -------
    QualitySynthesis
        With the :class:`~consilience.quality.InclusionFlow` in ``flow``.
    """
    studies, flow = _studies(registry, metric, protocol, experiments)
    if studies.empty:
        raise InputError(f"no study of {flow.metric} could be analysed; the inclusion flow:\n"
                         f"{flow}")
    model: Mapping[str, Any] = {}
    if protocol is not None:
        model = registry.protocol(protocol).spec.get("model") or {}
    return quality_synthesis(studies, labels="study", quality_weights=quality_weights,
                             metric=flow.metric, flow=flow, method=model.get("method", "REML"),
                             test=model.get("test", "knha"), level=model.get("level", 95))


def tradeoffs(
    registry: Registry,
    *,
    metrics: Sequence[str],
    experiments: Sequence[str] | None = None,
    primary: str | None = None,
    margins: Mapping[str, str | float] | None = None,
    measures: Mapping[str, Measure] | None = None,
    metric_specs: Mapping[str, MetricSpec] | None = None,
) -> Tradeoffs:
    """Every experiment against its own baseline on several metrics at once.

    Parameters
    ----------
    registry : Registry
    metrics, primary, margins, measures, metric_specs :
        As in :func:`consilience.quality.tradeoffs`.
    experiments : sequence of str, optional
        Default: every experiment with complete runs of the primary metric.

    Returns
    -------
    Tradeoffs
        One candidate per experiment (named after it); an experiment whose arms cannot be
        compared keeps its row with the reason in ``error``.
    """
    prim = primary or (metrics[0] if metrics else None)
    if prim is None:
        raise InputError("metrics must name at least one metric, e.g. accuracy,train_time_s.")
    table = registry.experiments()
    names = list(experiments) if experiments is not None else list(table["name"])
    with_runs = set(registry.runs(names, metric=prim, status="complete")["experiment"])
    baseline_of = dict(zip(table["name"], table["baseline"]))
    pairs = []
    for name in names:
        if experiments is None and name not in with_runs:
            continue
        runs = registry.runs(name, status="complete")
        try:
            base, cand = experiment_arms(runs, name, baseline_of.get(name))
        except InputError:
            base, cand = "baseline", "candidate"
        pairs.append(ComparisonPair(name, runs, base, cand))
    if not pairs:
        raise InputError(f"no experiment has complete runs of {prim!r}; import runs first.")
    return tradeoffs_by_pair(pairs, metrics=metrics, primary=primary, margins=margins,
                             measures=measures, metric_specs=metric_specs,
                             baseline_label="each experiment's baseline")


def scenario(
    registry: Registry,
    setting: Mapping[str, Any],
    *,
    metric: str | None = None,
    experiments: Sequence[str] | None = None,
) -> Scenario:
    """Expected effect in a new setting, from the registry's studies.

    Parameters
    ----------
    registry : Registry
    setting : mapping
        Experiment moderators (``model_family="tree"``) and ``n_train`` (the task's training-set
        size, entered as ``log10``).
    metric : str, optional
        Default ``accuracy``.
    experiments : sequence of str, optional
        Only these experiments' studies.

    Returns
    -------
    Scenario
        See :func:`consilience.quality.predict_scenario` (REML, Knapp-Hartung, 95%).
    """
    studies, flow = _studies(registry, metric, None, experiments)
    if studies.empty:
        raise InputError(f"no study of {flow.metric} could be analysed; import runs first.")
    known = [c for c in studies.columns if c not in ("yi", "vi", "se", "study")]
    missing = [k for k in setting if k not in studies.columns]
    if missing:
        raise InputError(f"setting names {missing}; the registry's studies record {known} "
                         "(n_train comes from a run column n_train or size_train).")
    if "n_train" in setting and not np.isfinite(studies["n_train"].astype(float)).any():
        raise InputError("no run records a training-set size (n_train or size_train); drop "
                         "n_train from the setting.")
    return predict_scenario(studies, setting, log10=[k for k in LOG10_COVARIATES if k in setting],
                            metric=flow.metric)
