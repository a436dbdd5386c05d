"""MLflow importer, tested on stores written by the real MLflow client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consilience.errors import InputError
from consilience.registry import Registry
from consilience.registry.importers import RunMapping, import_mlflow

from .conftest import add_pair

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

# MLflow's own SQLAlchemy models still use the `noload` loader strategy, which SQLAlchemy 2.1
# deprecates; the warning comes from inside mlflow and says nothing about consilience.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The ``noload`` loader strategy is deprecated:sqlalchemy.exc.SADeprecationWarning"
)

MAPPING = RunMapping(
    experiment="experiment_name",
    arm="params.arm",
    task="params.task",
    seed="params.seed",
    n_eval="params.n_eval",
    cost_gpu_hours="metrics.gpu_hours",
)


def _log_study(client: MlflowClient, experiment: str = "cand", seeds: int = 2) -> None:
    exp_id = client.create_experiment(experiment)
    for task in ("sst2", "mnli"):
        for arm, shift in (("baseline", 0.0), ("candidate", 0.02)):
            for seed in range(seeds):
                run = client.create_run(
                    exp_id, run_name=f"{arm}-{task}-{seed}", tags={"registry": "cand"}
                )
                client.log_batch(
                    run.info.run_id,
                    params=[
                        Param("arm", arm),
                        Param("task", task),
                        Param("seed", str(seed)),
                        Param("n_eval", "872"),
                    ],
                    metrics=[
                        Metric("accuracy", 0.9 + shift + 0.001 * seed, 0, 0),
                        Metric("loss", 0.3 - shift, 0, 0),
                        Metric("gpu_hours", 1.25, 0, 0),
                    ],
                    tags=[RunTag("team", "nlp")],
                )
                client.set_terminated(run.info.run_id)
    crashed = client.create_run(
        exp_id, run_name="candidate-sst2-crashed", tags={"registry": "cand"}
    )
    client.log_batch(
        crashed.info.run_id,
        params=[Param("arm", "candidate"), Param("task", "sst2"), Param("seed", "7")],
    )
    client.set_terminated(crashed.info.run_id, status="FAILED")


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite-backed MLflow store (built once: MLflow's own migrations take a few seconds)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    _log_study(MlflowClient(tracking_uri=uri))
    return uri


@pytest.fixture
def file_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An MLflow file store; MLflow 3 reads and writes these only when explicitly allowed."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    root = tmp_path / "mlruns"
    _log_study(MlflowClient(tracking_uri=root.as_uri()))
    yield root


def test_sqlite_store_import_is_idempotent(sqlite_registry: Registry, sqlite_store: str) -> None:
    add_pair(sqlite_registry)
    report = import_mlflow(sqlite_registry, sqlite_store, MAPPING)
    # 8 finished runs x 3 metrics, plus the failed run kept with an empty value per metric
    assert (report.total, report.inserted) == (27, 27)
    runs = sqlite_registry.runs("cand")
    assert set(runs["metric"]) == {"accuracy", "loss", "gpu_hours"}
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 3 and failed["value"].isna().all() and set(failed["seed"]) == {7}
    done = runs[(runs["status"] == "complete") & (runs["metric"] == "accuracy")]
    assert len(done) == 8 and set(done["n_eval"]) == {872}
    assert set(done["cost_gpu_hours"]) == {1.25}
    assert set(runs["source"]) == {"mlflow"}
    assert all(e.endswith(("/accuracy", "/loss", "/gpu_hours")) for e in runs["external_id"])
    again = import_mlflow(sqlite_registry, sqlite_store, MAPPING)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 27)


def test_file_store_new_runs_are_added_on_reimport(
    sqlite_registry: Registry, file_store: Path
) -> None:
    add_pair(sqlite_registry)
    mapping = RunMapping(
        experiment="tags.registry",
        arm="params.arm",
        task="params.task",
        seed="params.seed",
        metrics=("accuracy",),
    )
    uri = file_store.as_uri()
    first = import_mlflow(sqlite_registry, uri, mapping, experiment_names=["cand"])
    assert (first.total, first.inserted) == (9, 9)
    client = MlflowClient(tracking_uri=uri)
    exp_id = client.get_experiment_by_name("cand").experiment_id
    run = client.create_run(exp_id, tags={"registry": "cand"})
    client.log_batch(
        run.info.run_id,
        params=[Param("arm", "candidate"), Param("task", "qnli"), Param("seed", "0")],
        metrics=[Metric("accuracy", 0.88, 0, 0)],
    )
    client.set_terminated(run.info.run_id)
    second = import_mlflow(sqlite_registry, str(file_store), mapping)
    assert (second.inserted, second.unchanged) == (1, 9)
    assert "qnli" in set(sqlite_registry.runs()["task"])


def test_missing_fields_and_metrics_name_the_run(
    sqlite_registry: Registry, file_store: Path
) -> None:
    add_pair(sqlite_registry)
    uri = file_store.as_uri()
    no_arm = RunMapping(
        experiment="experiment_name", arm="params.variant", task="params.task", seed="params.seed"
    )
    with pytest.raises(
        InputError,
        match=r"MLflow run \w+ \(.+\).*no 'params.variant' for column "
        r"'arm'.*--arm-from",
    ):
        import_mlflow(sqlite_registry, uri, no_arm)
    no_metric = RunMapping(
        experiment="experiment_name",
        arm="params.arm",
        task="params.task",
        seed="params.seed",
        metrics=("f1",),
    )
    with pytest.raises(InputError, match="finished run has no metric 'f1'"):
        import_mlflow(sqlite_registry, uri, no_metric)
    unknown = RunMapping(experiment="=ghost", arm="params.arm", task="params.task", seed=None)
    with pytest.raises(InputError, match="experiment 'ghost' is not in the registry"):
        import_mlflow(sqlite_registry, uri, unknown)
    with pytest.raises(InputError, match=r"no experiment\(s\) \['nope'\]"):
        import_mlflow(sqlite_registry, uri, MAPPING, experiment_names=["nope"])
    assert sqlite_registry.runs().empty


def test_bad_tracking_uris_are_input_errors(
    sqlite_registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="does not exist"):
        import_mlflow(sqlite_registry, f"sqlite:///{tmp_path / 'none.db'}", MAPPING)
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(InputError, match="is not a directory"):
        import_mlflow(sqlite_registry, str(tmp_path / "no-mlruns"), MAPPING)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    (tmp_path / "mlruns").mkdir()
    with pytest.raises(InputError, match="MLFLOW_ALLOW_FILE_STORE"):
        import_mlflow(sqlite_registry, str(tmp_path / "mlruns"), MAPPING)


def test_mapping_is_validated() -> None:
    with pytest.raises(InputError, match="needs a field for 'arm'"):
        RunMapping(experiment="x", arm=None, task="t", seed=None)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'metrics' must be a tuple"):
        RunMapping(experiment="x", arm="a", task="t", seed=None, metrics="acc")  # type: ignore[arg-type]
