"""Bundled example data: real runs from the Learning Curve Database (LCDB)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["LCDB_DEFAULT_BASELINE", "load_lcdb_example"]

LCDB_DEFAULT_BASELINE = "LogisticRegression"
"""A sensible baseline for the LCDB demo: a plain linear model, run on 244 of the 248 data sets."""


def load_lcdb_example() -> pd.DataFrame:
    """Test accuracy of 20 scikit-learn learners on 248 OpenML data sets, 5 seeds each.

    Returns
    -------
    DataFrame
        One row per run (21,178 rows) with columns

        - ``experiment``: ``"lcdb"``;
        - ``arm``: the learner (``LogisticRegression``, ``RandomForestClassifier``, ``SVC_rbf``...);
        - ``task``: ``<OpenML name>-<OpenML id>``;
        - ``seed``: LCDB's outer seed (0-4), which fixes the train/test split, so runs of two
          learners with the same seed are paired;
        - ``metric``: ``"accuracy"``; ``value``: accuracy on the held-out **test** split;
        - ``n_eval``: size of that test split;
        - ``size_train``: training-set size (the data set's largest LCDB anchor);
        - ``train_time_s``: training time in seconds; ``openml_id``: the OpenML data set id.

        A learner that did not reach the largest anchor on a data set (it timed out) has no rows
        for it. ``LogisticRegression`` (see :data:`LCDB_DEFAULT_BASELINE`) is the suggested
        baseline.

    Notes
    -----
    Extracted by ``scripts/make_lcdb_extract.py`` from ``lcdb`` 0.1.0 (MIT licence): runs with
    inner seed 0 at the largest training size.

    References
    ----------
    Mohr, F., Viering, T. J., Loog, M. and van Rijn, J. N. (2022). LCDB 1.0: An extensive
    learning curves database for classification tasks. ECML PKDD.
    """
    path = resources.files("consilience") / "data" / "lcdb_runs.csv"
    with resources.as_file(path) as file:
        return pd.read_csv(file)
