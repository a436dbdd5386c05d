"""REML and the bootstrap statistics through the array API (the optional accelerator path).

CI runs this code with the numpy namespace and with array-api-strict, which rejects anything
outside the standard (numpy scalars, implicit conversions, fancy in-place updates): what runs
there runs on PyTorch and CuPy arrays too. A machine with a CUDA GPU and PyTorch also runs the
last test on the GPU.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from tests.conftest import load_reference, oracle_names

from consilience import InputError, meta_analyze_many
from consilience.compare import aggregate

BACKENDS = ["numpy", "array-api-strict"]
NUMERIC = ["estimate", "se", "statistic", "p_value", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
           "se_tau2", "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low", "i2_ci_high", "h2", "q",
           "q_p_value"]


def _simulated(m: int, k_max: int, seed: int, ragged: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, k_max + 1, m) if ragged else np.full(m, k_max)
    group = np.repeat(np.arange(m), sizes)
    v = rng.uniform(0.005, 0.2, group.size)
    theta = rng.normal(0.2, 0.15, m)[group] + rng.normal(0, 0.1, group.size)
    y = rng.normal(theta, np.sqrt(v))
    if ragged:
        y[(rng.random(group.size) < 0.03) & (sizes[group] > 2)] = np.nan
    return pd.DataFrame({"analysis": group, "yi": y, "vi": v})


def _fit(frame: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return meta_analyze_many(frame, by="analysis", **kwargs)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("m", "k", "ragged"), [(3000, 20, False), (2000, 3, False), (1500, 30, True)])
def test_device_reml_equals_numpy_kernels(backend: str, m: int, k: int, ragged: bool) -> None:
    frame = _simulated(m, k, seed=m + k, ragged=ragged)
    ours = _fit(frame)
    dev = _fit(frame, backend=backend)
    assert (dev["converged"] == ours["converged"]).all()
    if m == 3000:
        assert (~ours["converged"]).sum() > 0  # analyses that never converge are among them
    for col in NUMERIC:
        assert_allclose(dev[col], ours[col], rtol=1e-9, atol=1e-12, err_msg=col)


@pytest.mark.parametrize("backend", BACKENDS)
def test_device_reml_matches_metafor(backend: str) -> None:
    frames, refs = [], {}
    for name in oracle_names("fits"):
        data = load_reference(name)
        if "REML_z" not in data["fits"]:
            continue
        frames.append(pd.DataFrame({"analysis": name, "yi": data["input"]["yi"], "vi": data["input"]["vi"]}))
        refs[name] = data["fits"]["REML_z"]
    assert len(refs) >= 5
    out = _fit(pd.concat(frames, ignore_index=True), backend=backend).set_index("analysis")
    for name, ref in refs.items():
        if ref.get("tau2") is None:
            continue
        for ours_col, ref_col in [("estimate", "estimate"), ("se", "se"), ("tau2", "tau2"),
                                  ("se_tau2", "se_tau2"), ("i2", "I2"), ("q", "QE")]:
            assert_allclose(out.loc[name, ours_col], ref[ref_col], rtol=1e-6, atol=1e-8,
                            err_msg=f"{name} {ours_col}")


def test_backend_errors_name_the_fix() -> None:
    frame = _simulated(10, 5, seed=1, ragged=False)
    with pytest.raises(InputError, match="REML only.*method='DL'"):
        meta_analyze_many(frame, by="analysis", method="DL", backend="numpy")
    with pytest.raises(InputError, match="backend must be one of.*'jax'"):
        meta_analyze_many(frame, by="analysis", backend="jax")
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="needs the 'cupy' package.*pip install cupy"):
            meta_analyze_many(frame, by="analysis", backend="cupy")


def _runs(n_tasks: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for arm, mu in [("base", 0.6), ("new", 0.63)]:
        for task in range(n_tasks):
            for s in range(10 if task % 3 else 6):  # ragged: some tasks have fewer seeds
                rows.append((arm, f"t{task}", s, "accuracy", float(np.clip(rng.normal(mu + 0.01 * task, 0.08), 0, 1))))
    return pd.DataFrame(rows, columns=["arm", "task", "seed", "metric", "value"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_tasks", [13, 12])
def test_device_bootstrap_equals_numpy(backend: str, n_tasks: int) -> None:
    runs = _runs(n_tasks, seed=n_tasks)
    ours = aggregate(runs, reps=4000, seed=7).table
    dev = aggregate(runs, reps=4000, seed=7, backend=backend).table
    pd.testing.assert_frame_equal(dev.drop(columns=["estimate", "ci_low", "ci_high"]),
                                  ours.drop(columns=["estimate", "ci_low", "ci_high"]))
    for col in ["estimate", "ci_low", "ci_high"]:
        assert_allclose(dev[col], ours[col], rtol=1e-12, atol=1e-14, err_msg=col)


def test_gpu_when_present() -> None:
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: the GPU run needs PyTorch with a visible GPU")
    frame = _simulated(20_000, 20, seed=3, ragged=True)
    ours, dev = _fit(frame), _fit(frame, backend="torch")
    assert (dev["converged"] == ours["converged"]).all()
    for col in NUMERIC:
        assert_allclose(dev[col], ours[col], rtol=1e-9, atol=1e-12, err_msg=col)
    runs = _runs(13, seed=1)
    agg_ours = aggregate(runs, reps=4000).table
    agg_dev = aggregate(runs, reps=4000, backend="torch").table
    assert_allclose(agg_dev["ci_low"], agg_ours["ci_low"], rtol=1e-12)


def test_batch_engine_and_cli_pass_the_backend(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from consilience.cli.main import app
    from consilience.scale import batch

    frame = _simulated(600, 12, seed=9, ragged=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = batch(frame, by="analysis")
        dev = batch(frame, by="analysis", backend="array-api-strict")
    assert_allclose(dev["tau2"], ours["tau2"], rtol=1e-9, atol=1e-12)
    with pytest.raises(InputError, match="REML only"):
        batch(frame, by="analysis", method="DL", backend="numpy")

    path = tmp_path / "effects.csv"
    frame.to_csv(path, index=False)
    res = CliRunner().invoke(app, ["batch", str(path), "--by", "analysis", "--backend", "numpy", "--json"])
    assert res.exit_code == 0, res.output
    out = pd.read_json(io.StringIO(res.stdout))
    assert_allclose(out["tau2"].to_numpy(float), ours["tau2"].to_numpy(float), rtol=1e-9, atol=1e-12)
