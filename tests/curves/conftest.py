"""Shared fixtures for the learning-curve tests: curves simulated from known parameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consilience.curves import FAMILIES

DATA = Path(__file__).parent / "data"

# Parameters (for u = size / largest anchor) that give plausible error curves on ANCHORS.
TRUE_PARAMS: dict[str, list[float]] = {
    "pow2": [0.2, 0.5],
    "pow3": [0.05, 0.1, 0.6],
    "pow4": [0.05, 0.1, 0.8, 0.01],
    "exp3": [0.05, 0.3, 8.0],
    "exp4": [0.05, 2.0, -1.0, 0.5],
    "log2": [0.03, 0.1],
    "ilog2": [1.0, 0.05],
    "vap3": [-2.0, 0.005, -0.3],
    "mmf4": [0.5, 0.05, 0.1, 1.0],
    "wbl4": [0.08, 0.4, 10.0, 0.6],
    "janoschek": [0.08, 0.5, 10.0, 0.6],
}
ANCHORS = np.round(16 * np.sqrt(2) ** np.arange(12))


def true_error(family: str, sizes: np.ndarray, scale: float | None = None) -> np.ndarray:
    """Error of the simulated curve of ``family`` at ``sizes``."""
    s = float(ANCHORS[-1]) if scale is None else scale
    return FAMILIES[family].evaluate(sizes, np.asarray(TRUE_PARAMS[family]), s)


def simulate(family: str, *, n_seeds: int, noise: float, seed: int) -> pd.DataFrame:
    """Long table (size, seed, score) of accuracy = 1 - error + noise, one curve per seed."""
    rng = np.random.default_rng(seed)
    err = true_error(family, ANCHORS)
    rows = [
        {"size": x, "seed": f"s{k}", "score": 1.0 - e + rng.normal(0.0, noise)}
        for k in range(n_seeds)
        for x, e in zip(ANCHORS, err)
    ]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def lcdb_extract() -> pd.DataFrame:
    return pd.read_csv(DATA / "lcdb_extract.csv")
