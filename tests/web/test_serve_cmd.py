"""``consilience serve``: local by default, a warning when opened to the network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import consilience.cli.serve_cmd  # noqa: F401  (registers the command)
from consilience.cli.app import app
from consilience.cli.serve_cmd import is_loopback


@pytest.mark.parametrize(("host", "local"), [("127.0.0.1", True), ("127.0.0.2", True),
                                             ("localhost", True), ("::1", True),
                                             ("[::1]", True), ("0.0.0.0", False),
                                             ("192.168.1.5", False), ("example.org", False)])
def test_is_loopback(host: str, local: bool) -> None:
    assert is_loopback(host) is local


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


def test_serve_binds_to_localhost_by_default(example_copy: tuple[Path, str],
                                             started: list[dict[str, Any]]) -> None:
    from fastapi.testclient import TestClient

    result = CliRunner().invoke(app, ["serve", "--db", str(example_copy[0]), "--port", "8765"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8765/" in result.output and "warning" not in result.output
    (call,) = started
    assert call["host"] == "127.0.0.1" and call["port"] == 8765
    with TestClient(call["app"], base_url="http://127.0.0.1:8765") as c:
        assert c.get("/api/progress").status_code == 200
        assert c.get("/api/progress", headers={"Host": "attacker.example"}).status_code == 400


def test_serve_elsewhere_warns(example_copy: tuple[Path, str],
                               started: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(app, ["serve", "--db", str(example_copy[0]), "--host",
                                      "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0" in result.output
    assert started[0]["host"] == "0.0.0.0"


def test_serve_needs_an_existing_registry(tmp_path: Path, started: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "No registry" in result.output
    bad_port = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "x.db"), "--port", "0"])
    assert bad_port.exit_code == 2
    assert started == []
