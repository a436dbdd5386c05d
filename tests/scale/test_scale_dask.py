"""The Dask engine on a real two-process ``distributed.LocalCluster`` equals the local engine."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.scale._scale_helpers import effects_table, runs_table
from typer.testing import CliRunner

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import consilience.cli.batch_cmd  # noqa: F401  (registers the command on the app)
from consilience.cli.main import app
from consilience.errors import (
    ConsilienceWarning,
    DataDroppedWarning,
    InputError,
    SmallSampleWarning,
)
from consilience.scale import META_SCHEMA, batch

runner = CliRunner()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # start-up chatter of distributed (ports, versions)
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           dashboard_address=None, host="127.0.0.1")
        dask_client = distributed.Client(cluster, set_as_default=False)
    yield dask_client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dask_client.close()
        cluster.close()


def run(data: Any, **kwargs: Any) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConsilienceWarning)
        out = batch(data, **kwargs)
    return out, sorted(f"{w.category.__name__}: {w.message}" for w in caught
                       if issubclass(w.category, ConsilienceWarning))


def test_meta_on_the_cluster_equals_local_exactly(client: Any) -> None:
    frame = effects_table(groups=80)
    local, local_warnings = run(frame, by=["family", "task_id"])
    remote, remote_warnings = run(frame, by=["family", "task_id"], engine="dask",
                                  scheduler=client.scheduler.address, npartitions=5)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    assert remote_warnings == local_warnings and len(local_warnings) == 2


def test_parquet_and_csv_paths_are_read_by_the_workers(client: Any, tmp_path: Path) -> None:
    frame = effects_table(groups=50, seed=4)
    local, _ = run(frame, by="task_id")
    parts = tmp_path / "effects"
    parts.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(frame)), 3)):
        frame.iloc[chunk].to_parquet(parts / f"part-{i}.parquet")
    frame.to_csv(tmp_path / "effects.csv", index=False)
    for source in (str(parts), tmp_path / "effects.csv"):
        remote, _ = run(source, by="task_id", engine="dask", scheduler=client)
        pd.testing.assert_frame_equal(remote, local, check_exact=True)


def test_compare_on_the_cluster_equals_local(client: Any) -> None:
    runs = runs_table(experiments=5)
    options = {"by": "experiment", "analysis": "compare", "baseline": "base", "candidate": "new"}
    local, _ = run(runs, **options)
    remote, _ = run(runs, engine="dask", scheduler=client, npartitions=3, **options)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)


def test_empty_partitions_and_empty_input(client: Any) -> None:
    frame = effects_table(groups=3)
    local, _ = run(frame, by="family")
    remote, _ = run(frame, by="family", engine="dask", scheduler=client, npartitions=12)
    pd.testing.assert_frame_equal(remote, local, check_exact=True)
    empty, caught = run(frame.iloc[0:0], by="family", engine="dask", scheduler=client)
    assert empty.empty and list(empty.columns) == ["family", *META_SCHEMA.names] and not caught


def test_bad_by_column_is_named_before_any_task_runs(client: Any) -> None:
    with pytest.raises(InputError, match=r"'by' names column\(s\) \['tasks'\]"):
        batch(effects_table(), by="tasks", engine="dask", scheduler=client)


def test_an_invalid_group_fails_with_the_same_error(client: Any) -> None:
    frame = effects_table()
    frame.loc[frame["task_id"] == 7, "vi"] = 0.0
    with pytest.raises(InputError, match="must be > 0"):
        batch(frame, by="task_id", engine="dask", scheduler=client)


def test_cli_batch_runs_on_the_cluster(client: Any, tmp_path: Path) -> None:
    path = tmp_path / "effects.parquet"
    effects_table(groups=40, seed=7).to_parquet(path)
    local = runner.invoke(app, ["batch", str(path), "--by", "family,task_id", "--json"])
    remote = runner.invoke(app, ["batch", str(path), "--by", "family,task_id", "--engine", "dask",
                                 "--scheduler", client.scheduler.address, "--json"])
    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    assert json.loads(remote.stdout) == json.loads(local.stdout)
    assert "warning:" in remote.stderr


def test_warning_classes_reach_the_client(client: Any) -> None:
    _, caught = run(effects_table(), by="task_id", engine="dask", scheduler=client)
    assert any(c.startswith(DataDroppedWarning.__name__) for c in caught)
    assert any(c.startswith(SmallSampleWarning.__name__) for c in caught)
