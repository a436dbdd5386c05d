"""The (studies, analyses) layout of large intercept-only batches gives the same numbers.

Batches of at least 512 analyses of at most 256 studies are fitted with their arrays transposed
so that sums over studies are whole-row additions (``_intercept.study_sums``); smaller batches
keep one row per analysis. Both layouts, and the in-place compaction of the analyses still
iterating, must give identical results to the last bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from consilience import meta_analyze_many
from consilience.pooling import _intercept
from consilience.pooling.batch import _group_codes


@pytest.mark.parametrize("m", [1, 7, 33])
def test_study_sums_equal_numpy_row_sums_bit_for_bit(m: int) -> None:
    rng = np.random.default_rng(m)
    for k in [*range(1, 140), 255, 256, 300, 1031]:
        a = rng.normal(size=(m, k)) * 10.0 ** rng.uniform(-6, 6, size=(m, k))
        expected = a.sum(axis=1)
        got = _intercept.study_sums(np.ascontiguousarray(a.T))
        assert np.array_equal(got, expected), f"k = {k}"


def _ragged(n_groups: int, k_max: int, seed: int) -> pd.DataFrame:
    """Groups of 1..k_max studies; every block of 300 groups starts with a group of k_max."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, k_max + 1, n_groups)
    sizes[::300] = k_max
    group = np.repeat(np.arange(n_groups), sizes)
    theta = rng.normal(0.2, 0.15, n_groups)[group]
    v = rng.uniform(0.005, 0.2, group.size)
    y = rng.normal(theta + rng.normal(0, 0.1, group.size), np.sqrt(v))
    return pd.DataFrame({"analysis": group, "yi": y, "vi": v})


def _in_blocks(frame: pd.DataFrame, block: int, **kwargs: object) -> pd.DataFrame:
    parts = [meta_analyze_many(frame[(frame.analysis >= lo) & (frame.analysis < lo + block)],
                               by="analysis", **kwargs)
             for lo in range(0, int(frame.analysis.max()) + 1, block)]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.filterwarnings("ignore::consilience.errors.ConsilienceWarning")
@pytest.mark.parametrize("method", ["REML", "ML", "EB", "PM", "DL"])
def test_study_major_batch_equals_row_layout_blocks(method: str) -> None:
    frame = _ragged(1500, 24, seed=1)
    whole = meta_analyze_many(frame, by="analysis", method=method)  # 1500 >= 512: transposed
    blocks = _in_blocks(frame, 300, method=method)  # 300 < 512: one row per analysis
    assert len(whole) == 1500
    pd.testing.assert_frame_equal(whole, blocks, check_exact=True)


@pytest.mark.filterwarnings("ignore::consilience.errors.ConsilienceWarning")
def test_wide_batches_keep_rows_and_compact_in_place() -> None:
    # 600 analyses of up to 300 studies: over 256 studies the rows stay per analysis, and the
    # analyses still iterating are moved to the front of the working copy in place.
    frame = _ragged(600, 300, seed=2)
    whole = meta_analyze_many(frame, by="analysis")
    blocks = _in_blocks(frame, 300)
    pd.testing.assert_frame_equal(whole, blocks, check_exact=True)


@pytest.mark.filterwarnings("ignore::consilience.errors.ConsilienceWarning")
def test_batch_does_not_write_into_the_callers_frame() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"analysis": np.repeat(np.arange(800), 10),
                          "yi": rng.normal(0.1, 0.3, 8000), "vi": rng.uniform(0.01, 0.1, 8000)})
    before = frame.copy()
    meta_analyze_many(frame, by="analysis")
    pd.testing.assert_frame_equal(frame, before, check_exact=True)


@pytest.mark.parametrize("kind", ["sorted ints", "shuffled ints", "floats", "one group", "uint"])
def test_group_codes_match_pandas_groupby(kind: str) -> None:
    rng = np.random.default_rng(4)
    values: np.ndarray
    if kind == "sorted ints":
        values = np.sort(rng.integers(-50, 50, 5000))
    elif kind == "shuffled ints":
        values = rng.integers(-50, 50, 5000)
    elif kind == "floats":
        values = rng.choice([-2.5, -0.0, 0.0, 0.1, 7.0, 1e300], 5000)
    elif kind == "one group":
        values = np.full(10, 3)
    else:
        values = rng.integers(0, 9, 5000).astype(np.uint16)
    keys = pd.DataFrame({"g": values})
    codes, uniques, counts = _group_codes(keys)
    grouped = keys.groupby("g", sort=True)
    assert np.array_equal(codes, grouped.ngroup().to_numpy())
    assert np.array_equal(uniques["g"].to_numpy(), grouped.size().index.to_numpy())
    assert uniques["g"].dtype == values.dtype
    assert np.array_equal(counts, grouped.size().to_numpy())
