"""The bundled LCDB extract and the script that regenerates it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from consilience.compare import LCDB_DEFAULT_BASELINE, load_lcdb_example, validate_runs

SCRIPT = Path(__file__).parents[2] / "scripts" / "make_lcdb_extract.py"


def _script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_lcdb_extract", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundled_extract_is_a_valid_runs_table() -> None:
    runs = load_lcdb_example()
    assert list(runs.columns) == ["experiment", "arm", "task", "seed", "metric", "value", "n_eval", "size_train",
                                  "train_time_s", "openml_id"]
    assert runs.shape == (21178, 10)
    assert runs["arm"].nunique() == 20 and runs["task"].nunique() == 248
    assert set(runs["seed"]) == {0, 1, 2, 3, 4}
    table = validate_runs(runs)
    assert table.spec.kind == "proportion" and table.n_dropped == 0
    assert LCDB_DEFAULT_BASELINE in table.arms
    assert runs.loc[runs["arm"] == LCDB_DEFAULT_BASELINE, "task"].nunique() == 244


def test_extract_script_keeps_the_full_anchor_and_inner_seed_zero(tmp_path: Path) -> None:
    db = pd.DataFrame({
        "openmlid": [3] * 6 + [6] * 2,
        "learner": ["sklearn.linear_model.LogisticRegression"] * 4 + ["SVC_rbf"] * 2 + ["SVC_rbf", "SVC_rbf"],
        "size_train": [16, 100, 100, 100, 100, 64, 50, 50],
        "size_test": [20] * 6 + [9, 9],
        "outer_seed": [0, 0, 0, 1, 0, 1, 0, 1],
        "inner_seed": [0, 0, 1, 0, 0, 0, 0, 0],
        "traintime": [0.1] * 8,
        "score_train": [1.0] * 8,
        "score_valid": [0.9] * 8,
        "score_test": [0.5, 0.81234, 0.7, 0.8, 0.9, 0.95, 0.6, 0.65],
    })
    db.to_csv(tmp_path / "database-accuracy.csv", index=False)
    pd.DataFrame({"openmlid": [3], "Name": ["kr-vs-kp"]}).to_csv(tmp_path / "datasets.csv", index=False)
    out = _script().build_extract(tmp_path)
    assert out[["arm", "task", "seed", "value", "n_eval"]].values.tolist() == [
        ["LogisticRegression", "kr-vs-kp-3", 0, 0.8123, 20],
        ["LogisticRegression", "kr-vs-kp-3", 1, 0.8, 20],
        ["SVC_rbf", "kr-vs-kp-3", 0, 0.9, 20],
        ["SVC_rbf", "openml-6", 0, 0.6, 9],
        ["SVC_rbf", "openml-6", 1, 0.65, 9],
    ]
