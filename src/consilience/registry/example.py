"""The bundled example registry: a year of model changes on real LCDB runs.

``consilience init --example`` (or :func:`build_example_registry`) writes it. The runs are the
bundled LCDB extract (:func:`consilience.compare.load_lcdb_example`: test accuracy of
scikit-learn learners on OpenML data sets, five seeds that fix the train/test split), arranged as
a team's history of single changes:

* ``logistic-regression`` is the first baseline;
* against it the team tried a Bernoulli naive Bayes (rejected), k-nearest neighbours and a ridge
  classifier (neutral), and a random forest (accepted: it becomes the baseline);
* against the random forest: extra trees (neutral), gradient boosting and an RBF support-vector
  machine (rejected), a multilayer perceptron whose runs failed, a decision tree still running
  on a few tasks and seeds, and a planned LDA experiment with a small evaluation budget.

Each experiment's runs have arms ``baseline`` and ``candidate`` (the baseline experiment's
learner and the changed learner), metrics ``accuracy`` and ``train_time_s`` (seconds to train),
and the moderators ``model_family`` and ``lifecycle_stage``. The protocol
``random-forest-vs-linear`` was locked before the random forest's runs arrived; they were then
imported one seed at a time with ``update`` after each, so its living analysis has a history.
Dates are spread over 2026 so the progress chart has a time axis.
"""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy import update as sql_update

from consilience.compare.examples import load_lcdb_example
from consilience.errors import DataDroppedWarning, InputError
from consilience.registry.analysis import update
from consilience.registry.models import Experiment, Snapshot
from consilience.registry.store import Registry

__all__ = ["EXAMPLE_EXPERIMENTS", "build_example_registry", "example_runs"]

_START = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)

# name, learner, baseline, status, family, days after start, (hypothesis, change)
EXAMPLE_EXPERIMENTS: tuple[tuple[str, str, str | None, str, str, int, str], ...] = (
    ("logistic-regression", "LogisticRegression", None, "complete", "linear", 0,
     "L2-regularised logistic regression, the reference model"),
    ("bernoulli-nb", "BernoulliNB", "logistic-regression", "rejected", "naive bayes", 14,
     "replace logistic regression with Bernoulli naive Bayes"),
    ("k-nearest-neighbours", "KNeighborsClassifier", "logistic-regression", "neutral",
     "neighbours", 28, "replace logistic regression with 5-nearest neighbours"),
    ("ridge-classifier", "RidgeClassifier", "logistic-regression", "neutral", "linear", 41,
     "fit a ridge classifier instead of logistic regression"),
    ("random-forest", "RandomForestClassifier", "logistic-regression", "accepted",
     "tree ensemble", 60, "replace logistic regression with a 100-tree random forest"),
    ("extra-trees", "ExtraTreesClassifier", "random-forest", "neutral", "tree ensemble", 95,
     "randomise split thresholds too (extremely randomised trees)"),
    ("gradient-boosting", "GradientBoostingClassifier", "random-forest", "rejected",
     "tree ensemble", 120, "boost shallow trees instead of averaging deep ones"),
    ("svc-rbf", "SVC_rbf", "random-forest", "rejected", "kernel", 150,
     "an RBF-kernel support-vector machine"),
    ("mlp", "MLPClassifier", "random-forest", "failed", "neural network", 180,
     "a one-hidden-layer perceptron"),
    ("decision-tree", "DecisionTreeClassifier", "random-forest", "running", "tree", 230,
     "a single pruned tree, for interpretability at a small cost"),
    ("lda-shrinkage", "LinearDiscriminantAnalysis", "random-forest", "planned", "linear", 260,
     "shrinkage LDA: nearly free to train, is it close enough?"),
)
_HYPOTHESIS = "it raises mean test accuracy across data sets by at least one point"


def _protocol_path() -> resources.abc.Traversable:
    return resources.files("consilience") / "data" / "example_protocol.yaml"


def example_runs() -> pd.DataFrame:
    """The runs of every example experiment, as imported (before statuses are applied).

    Returns
    -------
    pandas.DataFrame
        Long format: ``experiment, arm, task, seed, metric, value, n_eval, size_train,
        status``. ``mlp`` runs have status ``failed`` (no values); ``decision-tree`` holds
        only 12 tasks x 2 seeds; ``lda-shrinkage`` has no runs.
    """
    lcdb = load_lcdb_example()
    learners = {e[0]: e[1] for e in EXAMPLE_EXPERIMENTS}
    keep = ["task", "seed", "value", "n_eval", "size_train", "train_time_s"]
    frames = []
    for name, learner, baseline, status, *_ in EXAMPLE_EXPERIMENTS:
        if baseline is None or status == "planned":
            continue
        base = lcdb.loc[lcdb["arm"] == learners[baseline], keep]
        cand = lcdb.loc[lcdb["arm"] == learner, keep]
        shared = set(base["task"]) & set(cand["task"])
        if name == "decision-tree":
            shared = set(sorted(shared)[::17][:12])
        for arm, rows in (("baseline", base), ("candidate", cand)):
            rows = rows[rows["task"].isin(shared)]
            if name == "decision-tree":
                rows = rows[rows["seed"] < 2]
            long = rows.rename(columns={"value": "accuracy"}).melt(
                id_vars=["task", "seed", "n_eval", "size_train"],
                value_vars=["accuracy", "train_time_s"],
                var_name="metric",
            )
            long.insert(0, "arm", arm)
            long.insert(0, "experiment", name)
            long["status"] = "complete"
            frames.append(long)
    runs = pd.concat(frames, ignore_index=True)
    failed = runs["experiment"] == "mlp"
    runs.loc[failed, "status"] = "failed"
    runs.loc[failed & (runs["arm"] == "candidate"), "value"] = float("nan")
    return runs[["experiment", "arm", "task", "seed", "metric", "value", "n_eval", "size_train",
                 "status"]]


def build_example_registry(
    db: str | os.PathLike[str] | None = None, *, overwrite: bool = False
) -> Registry:
    """Write the example registry described in this module and return it open.

    Parameters
    ----------
    db : str or path-like, optional
        Where to write it (URL or SQLite path; default as :class:`Registry`).
    overwrite : bool
        Replace an existing SQLite file. Without it, a registry that already holds experiments
        is an error (nothing is changed).

    Returns
    -------
    Registry
        Open; close it (or use it as a context manager) when done.
    """
    url = str(db) if db is not None else None
    if overwrite and url is not None and "://" not in url and Path(url).exists():
        for suffix in ("", "-wal", "-shm"):
            Path(url + suffix).unlink(missing_ok=True)
    reg = Registry(db, create=True, actor="example")
    try:
        if not reg.experiments().empty:
            raise InputError(
                f"the registry at {reg.location} already holds experiments; the example is "
                "written only into an empty registry. Pass overwrite (--force) for a SQLite "
                "file, or another --db."
            )
        _fill(reg)
    except BaseException:
        reg.close()
        raise
    return reg


def _fill(reg: Registry) -> None:
    runs = example_runs()
    for name, _, baseline, _, family, _, change in EXAMPLE_EXPERIMENTS:
        reg.add_experiment(
            name,
            hypothesis=None if baseline is None else _HYPOTHESIS,
            change=change,
            baseline=baseline,
            no_baseline=baseline is None,
            status="running" if baseline is not None else "complete",
            moderators={"model_family": family, "lifecycle_stage": "offline"},
            tags=["lcdb", "tabular"],
            planned_seeds=5 if name != "lda-shrinkage" else 2,
            planned_n_eval=300 if name == "lda-shrinkage" else None,
            min_effect=0.01 if baseline is not None else None,
        )
    with resources.as_file(_protocol_path()) as protocol:
        reg.lock_protocol(protocol)
    rf = runs["experiment"] == "random-forest"
    reg.import_runs(runs[~rf], origin="lcdb-example", source="lcdb")
    for seed in range(5):  # the living analysis grows with every seed
        reg.import_runs(runs[rf & (runs["seed"] == seed)], origin=f"lcdb-example seed {seed}",
                        source="lcdb")
        with warnings.catch_warnings():
            # Tasks a learner timed out on are left out; each snapshot's provenance says so.
            warnings.simplefilter("ignore", DataDroppedWarning)
            update(reg)
    for name, _, baseline, status, *_ in EXAMPLE_EXPERIMENTS:
        if baseline is not None and status != "running":
            reg.set_status(name, status)
    _backdate(reg)


def _backdate(reg: Registry) -> None:
    """Spread the history over the year so that charts have a time axis."""
    with reg._write() as s:
        for name, _, baseline, status, _, days, _ in EXAMPLE_EXPERIMENTS:
            created = _START + timedelta(days=days)
            decided = created + timedelta(days=9)
            values = {"created_at": created, "updated_at": decided if baseline else created,
                      "status_changed_at": decided if baseline else created}
            if status == "accepted":
                values["accepted_at"] = decided
            s.execute(sql_update(Experiment).where(Experiment.name == name).values(**values))
        rf_start = _START + timedelta(days=60)
        for i, snap_id in enumerate(sorted(s.scalars(select(Snapshot.id)))):
            at = rf_start + timedelta(days=1 + 2 * i)
            s.execute(sql_update(Snapshot).where(Snapshot.id == snap_id).values(created_at=at))
