"""Analysis snapshots (the boundary for the living analysis) and dashboard write tokens."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from consilience._results import input_hash
from consilience.errors import InputError
from consilience.registry import Registry

from .conftest import add_pair, runs_frame


def test_snapshots_store_json_safe_results_newest_first(registry: Registry, tmp_path: Path) -> None:
    add_pair(registry)
    protocol = tmp_path / "p.yaml"
    protocol.write_text("name: p\nprimary_metric: accuracy\n")
    registry.lock_protocol(protocol)
    registry.import_runs(runs_frame("cand"))
    h = input_hash(registry.runs("cand"))
    first = registry.snapshot(
        "p", {"estimate": np.float64(0.02), "tau2": math.nan, "k": np.int64(3)}, h
    )
    second = registry.snapshot("p", {"estimate": 0.03}, h, experiment="cand")
    snaps = registry.snapshots("p")
    assert [s.id for s in snaps] == [second, first]
    assert snaps[1].result == {"estimate": 0.02, "tau2": None, "k": 3}
    assert snaps[0].experiment == "cand" and snaps[0].input_hash == h
    latest = registry.latest_snapshot(experiment="cand")
    assert latest is not None and latest.id == second
    assert latest.to_dict()["result"] == {"estimate": 0.03}
    assert registry.latest_snapshot(experiment="base") is None
    assert "snapshot" in set(registry.audit_log()["action"])


@pytest.mark.parametrize(
    "protocol, result, digest, experiment, error, fragment",
    [
        (None, {}, "abc", None, InputError, "needs a protocol or an experiment"),
        ("missing", {}, "abc", None, InputError, "No locked protocol named 'missing'"),
        (None, {}, "", "cand", InputError, "'input_hash' must be"),
        (None, [1, 2], "abc", "cand", TypeError, "must be a mapping"),
        (None, {}, "abc", "ghost", InputError, "Experiment 'ghost' is not in the registry"),
    ],
)
def test_snapshot_inputs_are_checked(
    sqlite_registry: Registry,
    protocol: str | None,
    result: object,
    digest: str,
    experiment: str | None,
    error: type,
    fragment: str,
) -> None:
    add_pair(sqlite_registry)
    with pytest.raises(error, match=fragment):
        sqlite_registry.snapshot(protocol, result, digest, experiment=experiment)  # type: ignore[arg-type]
    assert sqlite_registry.snapshots(experiment="cand") == []


def test_write_tokens_are_stored_hashed_and_verified(registry: Registry) -> None:
    assert not registry.has_token()
    token = registry.create_token()
    assert token.startswith("cns_") and len(token) > 40
    assert registry.has_token()
    assert registry.verify_token(token)
    assert not registry.verify_token(token + "x")
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from consilience.registry.models import Token

    with Session(registry.engine) as session:
        stored = list(session.scalars(select(Token.token_hash)))
    assert token not in stored and len(stored[0]) == 64
