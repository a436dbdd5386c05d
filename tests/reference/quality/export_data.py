"""Export the data sets that make_reference.R reads, from the bundled example registry.

Run from this folder: ``python export_data.py`` (writes ``studies.csv`` and
``rf_train_time.csv``), then ``Rscript make_reference.R`` (writes ``reference.json``).

* ``studies.csv``: one row per (experiment, task) of the example registry's accuracy runs, as
  :func:`consilience.registry.flow.study_table` returns them: the per-task effect ``yi`` and
  its variance ``vi`` (candidate minus baseline, test-set variance included), the experiment's
  ``model_family`` and the task's training-set size ``n_train``.
* ``rf_train_time.csv``: per task, the mean, standard deviation and number of runs of
  ``train_time_s`` in each arm of the ``random-forest`` experiment, computed here with pandas.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

from consilience.errors import DataDroppedWarning
from consilience.registry.example import build_example_registry
from consilience.registry.flow import study_table

HERE = Path(__file__).parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        reg = build_example_registry(Path(tmp) / "example.db")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataDroppedWarning)
                studies = study_table(reg, metric="accuracy")
            runs = reg.runs("random-forest", metric="train_time_s", status="complete")
        finally:
            reg.close()
    cols = ["experiment", "task", "yi", "vi", "model_family", "n_train"]
    studies[cols].to_csv(HERE / "studies.csv", index=False, float_format="%.17g")
    stats = runs.groupby(["task", "arm"])["value"].agg(["mean", "std", "count"]).reset_index()
    names = {"mean": "m{}i", "std": "sd{}i", "count": "n{}i"}
    arms = [stats.loc[stats["arm"] == arm].drop(columns="arm").rename(
        columns={k: v.format(i) for k, v in names.items()}) for i, arm in
        ((1, "candidate"), (2, "baseline"))]
    table = arms[0].merge(arms[1], on="task", how="inner")
    table[["task", "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"]].to_csv(
        HERE / "rf_train_time.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
