"""Variance components for planning a registered experiment, and where they come from.

:func:`estimate` takes them from the first usable source: the experiment's own complete runs
(a pilot), else its baseline experiment's runs, else the medians over the registry's other
experiments. The components are those of the planning model in
:mod:`consilience.registry.planning`: the seed-to-seed spread and the arms' correlation on a
shared seed (:func:`consilience.design.plan.pilot_components`), the between-task variance, and
for proportion metrics the test-set variance per example (two binomial proportions, or the
paired per-item variance when the runs hold per-item correctness).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from consilience._results import input_hash
from consilience.design.plan import pilot_components
from consilience.errors import InputError
from consilience.registry.analysis import experiment_arms
from consilience.registry.experiments import ExperimentRecord

if TYPE_CHECKING:
    from consilience.registry.store import Registry

__all__ = ["Components", "Estimate", "Source", "estimate", "is_proportion"]

Source = Literal["pilot", "baseline", "registry"]


@dataclass(frozen=True)
class Components:
    """The variance components of one experiment's comparison (or medians over several)."""

    sd: float
    rho: float
    tau2: float
    k: int
    seeds: float
    eval_var: float
    test_variance_source: str
    discordance: float
    p_baseline: float
    digest: str


def is_proportion(metric: str) -> bool:
    from consilience.compare.metrics import resolve_metric

    try:
        return resolve_metric(metric).kind == "proportion"
    except InputError:
        return False


def _components(
    runs: pd.DataFrame, name: str, baseline: str | None, proportion: bool
) -> Components:
    """Variance components of one experiment's complete runs of one metric."""
    base, cand = experiment_arms(runs, name, baseline)
    runs = runs.loc[runs["arm"].isin([base, cand])]
    runs = runs.assign(arm=np.where(runs["arm"] == base, "baseline", "candidate"))
    if "item" in runs.columns:
        has_item = runs["item"].notna()
    else:
        has_item = pd.Series(False, index=runs.index)
    items = runs.loc[has_item]
    per_run = items.groupby(["task", "arm", "seed"], dropna=False)["value"].mean().reset_index()
    pilot = pd.concat(
        [runs.loc[~has_item, ["task", "arm", "seed", "value"]], per_run], ignore_index=True
    )
    comp = pilot_components(pilot, baseline="baseline", candidate="candidate")
    eval_var = discordance = p_base = math.nan
    source = "none"
    if proportion:
        p = pilot.groupby(["task", "arm"])["value"].mean().unstack("arm").dropna().clip(0, 1)
        eval_var = float((p * (1 - p)).sum(axis=1).mean())
        p_base = float(p["baseline"].mean())
        source = "binomial"
        if not items.empty:
            per_item = (
                items.groupby(["task", "arm", "item"])["value"].mean().unstack("arm").dropna()
            )
            if not per_item.empty:
                d = per_item["candidate"] - per_item["baseline"]
                eval_var = float(d.groupby(level="task").var(ddof=0).mean())
                pairs = items.pivot_table(
                    index=["task", "seed", "item"], columns="arm", values="value", aggfunc="mean"
                ).dropna()
                discordance = float((pairs["candidate"] != pairs["baseline"]).mean())
                source = "items"
    return Components(
        sd=comp["sd"],
        rho=comp["rho"],
        tau2=comp["tau2"],
        k=int(comp["k"]),
        seeds=comp["seeds"],
        eval_var=eval_var,
        test_variance_source=source,
        discordance=discordance,
        p_baseline=p_base,
        digest=input_hash(pilot),
    )


@dataclass(frozen=True)
class Estimate:
    """Components with where they came from, the experiments used and notes on the others."""

    comp: Components
    source: Source
    experiments: tuple[str, ...]
    seeds_run: float
    notes: tuple[str, ...]


def _quiet_components(
    runs: pd.DataFrame, name: str, baseline: str | None, proportion: bool, notes: list[str]
) -> Components | None:
    """Components from another experiment's runs; its warnings and errors become notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            comp = _components(runs, name, baseline, proportion)
        except InputError as exc:
            notes.append(f"experiment '{name}' cannot be used: {exc}")
            comp = None
    notes.extend(f"experiment '{name}': {w.message}" for w in caught)
    return comp


def estimate(
    registry: Registry, record: ExperimentRecord, metric: str, proportion: bool
) -> Estimate:
    """The components from the first usable source: own runs, baseline experiment, registry."""
    notes: list[str] = []
    own = registry.runs(record.name, metric=metric, status="complete")
    if not own.empty:
        try:
            comp = _components(own, record.name, record.baseline, proportion)
            return Estimate(comp, "pilot", (record.name,), comp.seeds, ())
        except InputError as exc:
            notes.append(f"its own runs cannot give the variances: {exc}")
    if record.baseline is not None:
        base_runs = registry.runs(record.baseline, metric=metric, status="complete")
        if not base_runs.empty:
            parent = registry.experiment(record.baseline).baseline
            found = _quiet_components(base_runs, record.baseline, parent, proportion, notes)
            if found is not None:
                return Estimate(found, "baseline", (record.baseline,), 0.0, tuple(notes))
    table = registry.experiments()
    others = [n for n in table["name"] if n not in (record.name, record.baseline)]
    parents = dict(zip(table["name"], table["baseline"]))
    runs = registry.runs(others, metric=metric, status="complete") if others else None
    found_all: list[tuple[str, Components]] = []
    if runs is not None and not runs.empty:
        for exp_name, group in runs.groupby("experiment", sort=True):  # one per experiment
            got = _quiet_components(group, str(exp_name), parents.get(exp_name), proportion, notes)
            if got is not None:
                found_all.append((str(exp_name), got))
    if not found_all:
        raise InputError(
            f"cannot estimate the variances for experiment '{record.name}': neither its own "
            f"runs, nor its baseline experiment's, nor any other experiment's complete runs of "
            f"metric {metric!r} have two arms with two or more seeds. Import pilot runs first: "
            "consilience import csv RUNS.csv (or check --metric)."
        )
    frame = pd.DataFrame([c.__dict__ for _, c in found_all])
    sources = frame["test_variance_source"].mode()
    comp = Components(
        sd=float(frame["sd"].median()),
        rho=float(frame["rho"].median()),
        tau2=float(frame["tau2"].median()),
        k=round(float(frame["k"].median())),
        seeds=float(frame["seeds"].median()),
        eval_var=float(frame["eval_var"].median()),
        test_variance_source=str(sources.iloc[0]),
        discordance=float(frame["discordance"].median()),
        p_baseline=float(frame["p_baseline"].median()),
        digest=input_hash(*[c.digest for _, c in found_all]),
    )
    notes.append(f"medians over {len(found_all)} experiments of the registry")
    names = tuple(n for n, _ in found_all)
    return Estimate(comp, "registry", names, 0.0, tuple(notes))
