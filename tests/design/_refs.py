"""Loading the reference files of the design tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REFERENCE = Path(__file__).resolve().parent.parent / "reference"


def load(source: str, name: str) -> Any:
    with open(REFERENCE / source / name, encoding="utf-8") as fh:
        return json.load(fh)
