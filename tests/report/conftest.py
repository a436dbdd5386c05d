"""Shared results of the plot tests: the BCG meta-analysis, LCDB comparisons, a learning curve."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import consilience as cs
from consilience.compare import load_lcdb_example

ARMS = [
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "GradientBoostingClassifier",
    "LogisticRegression",
    "KNeighborsClassifier",
    "BernoulliNB",
]


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def bcg_data() -> pd.DataFrame:
    trials = cs.load_example("bcg")
    es = cs.effect_sizes("RR", ai="tpos", bi="tneg", ci="cpos", di="cneg", data=trials)
    return pd.concat([trials, es[["yi", "vi"]]], axis=1)


@pytest.fixture(scope="session")
def bcg_fit(bcg_data: pd.DataFrame) -> cs.MetaResult:
    return cs.meta_analyze("yi", "vi", data=bcg_data, labels="trial")


@pytest.fixture(scope="session")
def lcdb_runs() -> pd.DataFrame:
    """LCDB runs of six arms on the tasks all of them ran (so no data are dropped)."""
    runs = load_lcdb_example()
    runs = runs.loc[runs["arm"].isin(ARMS)]
    per_task = runs.groupby("task")["arm"].nunique()
    return runs.loc[runs["task"].isin(per_task.index[per_task == len(ARMS)])].reset_index(drop=True)
