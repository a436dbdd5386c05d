"""Shared fixtures: the metafor reference files copied into tests/reference/metafor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(__file__).parent / "reference"


def load_reference(name: str) -> dict[str, Any]:
    with open(REFERENCE / "metafor" / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


def oracle_names(section: str | None = None) -> list[str]:
    names = []
    for path in sorted((REFERENCE / "metafor").glob("*.json")):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if section is None or section in data:
            names.append(path.stem)
    return names


@pytest.fixture
def bcg() -> dict[str, Any]:
    return load_reference("bcg_rr")
