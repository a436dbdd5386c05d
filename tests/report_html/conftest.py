"""Fixtures for the report tests: a small runs table and the example registry."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.web.conftest import example_db  # noqa: F401  (the example registry, built once)

XSS = "<script>alert(1)</script>"


def three_arm_runs(*, hostile: bool = False) -> pd.DataFrame:
    """Baseline ``base``, a clear winner ``good``, a loser ``bad`` on 6 tasks x 3 seeds."""
    rows = []
    names = {"base": 0.0, "good": 0.03, XSS if hostile else "bad": -0.02}
    for t in range(6):
        for arm, gain in names.items():
            for s in range(3):
                rows.append({"arm": arm, "task": f"task{t}", "seed": s, "metric": "accuracy",
                             "value": 0.7 + 0.02 * t + gain + 0.004 * (t % 3)
                             + 0.002 * ((s + t) % 3), "n_eval": 2000})
    return pd.DataFrame(rows)


@pytest.fixture
def runs() -> pd.DataFrame:
    return three_arm_runs()
