"""Long-format CSV / Parquet / JSON imports: one transaction, idempotent, row-precise errors."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consilience.errors import InputError
from consilience.registry import RUN_COLUMNS, Registry
from consilience.registry.importers import import_table
from consilience.registry.progress import ProgressBar, terminal_progress

from .conftest import add_pair, runs_frame


def _count(reg: Registry) -> int:
    return len(reg.runs())


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json", "jsonl"])
def test_every_format_imports_the_same_runs_table(
    registry: Registry, tmp_path: Path, fmt: str
) -> None:
    add_pair(registry)
    frame = runs_frame("cand")
    path = tmp_path / f"runs.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False)
    elif fmt == "parquet":
        frame.to_parquet(path)
    elif fmt == "json":
        frame.to_json(path, orient="records")
    else:
        frame.to_json(path, orient="records", lines=True)
    report = import_table(registry, path)
    assert (report.total, report.inserted, report.updated, report.unchanged) == (12, 12, 0, 0)
    assert report.experiments == ("cand",)
    runs = registry.runs()
    assert list(runs.columns) == list(RUN_COLUMNS) + ["data_domain", "model_family"]
    assert set(runs["model_family"]) == {"vit"}
    assert runs["seed"].dtype == "Int64" and runs["n_eval"].dtype == "Int64"
    assert runs["value"].dtype == np.float64
    expected = frame.sort_values(["task", "arm", "seed"])["value"].to_numpy()
    np.testing.assert_allclose(runs["value"].to_numpy(), expected)
    assert set(runs["status"]) == {"complete"} and set(runs["source"]) == {"table"}


def test_reimporting_the_same_runs_changes_nothing(registry: Registry, tmp_path: Path) -> None:
    add_pair(registry)
    path = tmp_path / "runs.csv"
    runs_frame("cand").to_csv(path, index=False)
    import_table(registry, path)
    before = registry.runs()
    again = import_table(registry, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 12)
    pd.testing.assert_frame_equal(registry.runs(), before)
    # the same runs from another format under the same source are recognised too
    runs_frame("cand").to_parquet(tmp_path / "runs.parquet")
    assert import_table(registry, tmp_path / "runs.parquet").unchanged == 12


def test_changed_values_are_updated_and_new_runs_inserted(
    registry: Registry, tmp_path: Path
) -> None:
    add_pair(registry)
    path = tmp_path / "runs.csv"
    runs_frame("cand", seeds=2).to_csv(path, index=False)
    import_table(registry, path)
    grown = runs_frame("cand", seeds=3)
    grown.loc[0, "value"] = 0.123
    grown.to_csv(path, index=False)
    report = import_table(registry, path)
    assert (report.inserted, report.updated, report.unchanged) == (6, 1, 11)
    assert _count(registry) == 18
    assert 0.123 in set(registry.runs()["value"])


def test_extra_columns_source_external_id_and_text_tasks_are_kept(
    registry: Registry, tmp_path: Path
) -> None:
    add_pair(registry)
    path = tmp_path / "runs.csv"
    path.write_text(
        "Experiment,arm,task,seed,metric,value,status,source,external_id,lr,item\n"
        "cand,candidate,01,1,acc,0.9,FINISHED,sweep-7,run-a,0.001,\n"
        "cand,candidate,01,2,acc,,crashed,sweep-7,run-b,0.001,\n"
        "cand,baseline,01,1,acc,0.8,,sweep-7,run-c,0.002,q17\n"
    )
    import_table(registry, path)
    runs = registry.runs()
    assert list(runs["task"]) == ["01", "01", "01"]
    assert list(runs["external_id"]) == ["run-c", "run-a", "run-b"]
    assert list(runs["status"]) == ["complete", "complete", "failed"]
    assert runs["value"].isna().tolist() == [False, False, True]
    assert runs.loc[0, "item"] == "q17"
    assert set(runs["source"]) == {"sweep-7"}


def test_reimport_compares_every_stored_column_within_each_source(registry: Registry) -> None:
    add_pair(registry)
    first = runs_frame("cand").assign(source="a", external_id=[f"r{i}" for i in range(12)], lr=0.1)
    registry.import_runs(first)
    again = pd.concat([first, first.assign(source="b")], ignore_index=True)
    again.loc[0, "lr"] = 0.2  # only an extra column changes
    again.loc[1, "experiment"] = "base"  # the run moves to another experiment
    report = registry.import_runs(again)
    assert (report.inserted, report.updated, report.unchanged) == (12, 2, 10)
    assert report.sources == ("a", "b") and report.experiments == ("base", "cand")
    stored = registry.runs()
    moved = stored[(stored["source"] == "a") & (stored["external_id"] == "r1")]
    assert moved["experiment"].tolist() == ["base"]
    assert registry.import_runs(again).unchanged == 24


def test_runs_carry_the_moderators_of_their_experiment(registry: Registry) -> None:
    add_pair(registry)
    registry.add_experiment("deep", baseline="base", moderators={"model_family": "cnn", "depth": 3})
    registry.import_runs(pd.concat([runs_frame("cand"), runs_frame("base"), runs_frame("deep")]))
    runs = registry.runs()
    assert list(runs.columns) == [*RUN_COLUMNS, "data_domain", "depth", "model_family"]
    family = {str(e): set(g.dropna()) for e, g in runs.groupby("experiment")["model_family"]}
    assert family == {"base": set(), "cand": {"vit"}, "deep": {"cnn"}}
    assert runs.loc[runs["experiment"] == "deep", "depth"].eq(3).all()
    assert runs.loc[runs["experiment"] != "deep", "depth"].isna().all()
    only = registry.runs("cand")
    assert list(only.columns) == [*RUN_COLUMNS, "data_domain", "model_family"]
    assert set(only["data_domain"]) == {"vision"}


def test_runs_can_be_filtered(registry: Registry) -> None:
    add_pair(registry)
    registry.import_runs(pd.concat([runs_frame("cand"), runs_frame("base", metric="loss")]))
    assert set(registry.runs("cand")["experiment"]) == {"cand"}
    assert set(registry.runs(metric="loss")["metric"]) == {"loss"}
    assert len(registry.runs(["cand", "base"], status="complete")) == 24
    empty = registry.runs("nobody")
    assert list(empty.columns) == list(RUN_COLUMNS) and empty.empty


def _error(registry: Registry, tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    before = _count(registry)
    with pytest.raises(InputError) as info:
        import_table(registry, path)
    assert _count(registry) == before, "a failed import must write nothing"
    message = str(info.value)
    assert "bad.csv" in message
    return message


HEADER = "experiment,arm,task,seed,metric,value\n"
GOOD = "cand,candidate,t1,1,acc,0.9\n" * 1


@pytest.mark.parametrize(
    "row, expected",
    [
        (
            "cand,candidate,t2,1,acc,NaN\n",
            r"line 3, column 'value': is missing \(NaN\) in a complete run",
        ),
        (
            "ghost,candidate,t2,1,acc,0.5\n",
            r"line 3, column 'experiment': experiment 'ghost' is not in the registry",
        ),
        ("cand,candidate,t2,abc,acc,0.5\n", r"line 3, column 'seed': must be a number; got 'abc'"),
        ("cand,candidate,t2,1.5,acc,0.5\n", r"line 3, column 'seed': must be a whole number"),
        ("cand,candidate,t2,1,acc,high\n", r"line 3, column 'value': must be a number; got 'high'"),
        ("cand,candidate,t2,1,acc,inf\n", r"line 3, column 'value': must be finite"),
        ("cand,,t2,1,acc,0.5\n", r"line 3, column 'arm': is empty"),
        ("cand,candidate,t1,1,acc,0.7\n", r"line 2 and line 3 are the same run"),
    ],
)
def test_malformed_rows_abort_the_import_naming_file_row_and_column(
    sqlite_registry: Registry, tmp_path: Path, row: str, expected: str
) -> None:
    add_pair(sqlite_registry)
    sqlite_registry.import_runs(runs_frame("base"))
    message = _error(sqlite_registry, tmp_path, HEADER + GOOD + row)
    assert re.search(expected, message), message


def test_bad_status_and_cost_and_missing_columns(registry: Registry, tmp_path: Path) -> None:
    add_pair(registry)
    msg = _error(registry, tmp_path, HEADER.strip() + ",status\n" + GOOD.strip() + ",exploded\n")
    assert "column 'status': is not a run status" in msg and "'exploded'" in msg
    msg = _error(registry, tmp_path, HEADER.strip() + ",cost_usd\n" + GOOD.strip() + ",-3\n")
    assert "column 'cost_usd': must be >= 0" in msg
    msg = _error(registry, tmp_path, "experiment,arm,task,metric\ncand,c,t,acc\n")
    assert "no column(s) ['value']" in msg


def test_malformed_row_deep_in_a_large_file_writes_nothing(
    registry: Registry, tmp_path: Path
) -> None:
    add_pair(registry)
    frame = runs_frame("cand", tasks=50, seeds=30)  # 3000 rows: three write batches
    frame.loc[2500, "experiment"] = "unknown-exp"
    path = tmp_path / "big.parquet"
    frame.to_parquet(path)
    with pytest.raises(InputError, match=r"big.parquet, row 2501, column 'experiment'"):
        import_table(registry, path)
    assert _count(registry) == 0


def test_unreadable_files_are_input_errors(registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        import_table(registry, tmp_path / "missing.csv")
    odd = tmp_path / "runs.xlsx"
    odd.write_text("x")
    with pytest.raises(InputError, match="Cannot tell the format"):
        import_table(registry, odd)
    broken = tmp_path / "runs.json"
    broken.write_text('[{"experiment": "cand",')
    with pytest.raises(InputError, match="not valid JSON"):
        import_table(registry, broken)
    lines = tmp_path / "runs.jsonl"
    lines.write_text(json.dumps({"experiment": "cand"}) + "\n{oops\n")
    with pytest.raises(InputError, match="line 2: not valid JSON"):
        import_table(registry, lines)


def test_progress_is_reported_per_batch_and_drawn_only_on_a_terminal(registry: Registry) -> None:
    add_pair(registry)
    calls: list[tuple[int, int]] = []
    registry.import_runs(
        runs_frame("cand", tasks=50, seeds=25), progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(1000, 2500), (2000, 2500), (2500, 2500)]

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert terminal_progress("runs.csv", io.StringIO()) is None
    stream = Tty()
    bar = terminal_progress("runs.csv", stream)
    assert isinstance(bar, ProgressBar)
    bar(500, 1000)
    bar(1000, 1000)
    out = stream.getvalue()
    assert "runs.csv [" in out and "100%  1000/1000 rows\n" in out
