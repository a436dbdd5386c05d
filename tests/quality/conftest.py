"""Fixtures for the quality tests: the registry backends of tests/registry and the reference data.

PostgreSQL tests read ``CONSILIENCE_TEST_PG_URL`` (``eval "$(bash .ci/postgres.sh)"``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.registry.conftest import db_url, pg_url, registry, sqlite_url  # noqa: F401

REFERENCE = Path(__file__).parents[1] / "reference" / "quality"
LOW = ("ridge-classifier", "random-forest", "extra-trees")
HIGH = ("gradient-boosting", "svc-rbf")


@pytest.fixture(scope="session")
def reference() -> dict[str, Any]:
    """What metafor computes on the exported example studies (make_reference.R)."""
    with open(REFERENCE / "reference.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@pytest.fixture(scope="session")
def studies() -> pd.DataFrame:
    """The example registry's accuracy studies as exported for R, with the tests' risk labels."""
    frame = pd.read_csv(REFERENCE / "studies.csv")
    frame["risk"] = [
        "low" if e in LOW else "high" if e in HIGH else "unknown" for e in frame["experiment"]
    ]
    frame["study"] = frame["experiment"] + "/" + frame["task"]
    return frame
