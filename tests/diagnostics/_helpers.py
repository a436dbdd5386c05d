"""Shared helpers of the diagnostics tests: reference files and tolerant comparisons."""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.testing import assert_allclose

from consilience import MetaResult, meta_analyze
from consilience.errors import ConvergenceWarning

DIAG = Path(__file__).resolve().parents[1] / "reference" / "metafor_diagnostics"
RTOL, ATOL = 1e-6, 1e-8


def diag_names() -> list[str]:
    return sorted(p.stem for p in DIAG.glob("*.json"))


@cache
def load_diag(name: str) -> dict[str, Any]:
    """A reference file, parsed once per test run (callers only read it)."""
    with open(DIAG / f"{name}.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def arr(values: Any) -> np.ndarray:
    """JSON numbers to floats, null (R's NA) to NaN."""
    if values is None:
        return np.array([np.nan])
    values = values if isinstance(values, list) else [values]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def close(ours: Any, ref: Any, what: str = "") -> None:
    """metafor agreement: 1e-6 relative, 1e-8 absolute near zero; NA in R equals NaN here."""
    ours_arr = np.array([np.nan if v is None else v for v in np.atleast_1d(np.asarray(ours, dtype=object))], dtype=float)
    assert_allclose(ours_arr, arr(ref), rtol=RTOL, atol=ATOL, equal_nan=True, err_msg=what)


def fit(yi: Any, vi: Any, method: str = "REML", test: str = "z", **kwargs: Any) -> MetaResult:
    """The fit under test. lau1992's REML fit hits metafor's tau² = 0 boundary rule, which the pooling
    layer announces with a ConvergenceWarning of its own (tested there); it is not ours to check here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return meta_analyze(yi, vi, method=method, test=test, **kwargs)  # type: ignore[arg-type]
