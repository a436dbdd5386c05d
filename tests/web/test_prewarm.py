"""``consilience serve`` pre-computes the pages that compare every experiment at start-up."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest


def _prewarm_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "consilience-prewarm"]


def test_prewarm_fills_the_cache_the_first_page_reads(example_copy: tuple[Path, str]) -> None:
    from fastapi.testclient import TestClient

    from consilience.web import create_app

    app = create_app(example_copy[0], prewarm=True)
    d = app.state.dashboard
    with TestClient(app) as client:
        for thread in _prewarm_threads():
            thread.join(timeout=120)
        metric = d.default_metric()

        def not_again() -> None:
            pytest.fail("the leaderboard was computed again after the pre-warm")

        cached = d.cached(("leaderboard", metric), not_again)
        assert cached.error is None and cached.value is not None
        page = client.get("/experiments")
        assert page.status_code == 200 and "random-forest" in page.text
    assert not _prewarm_threads()


def test_without_prewarm_nothing_runs_at_start(example_copy: tuple[Path, str]) -> None:
    from fastapi.testclient import TestClient

    from consilience.web import create_app

    app = create_app(example_copy[0])
    with TestClient(app):
        assert not _prewarm_threads()
        calls: list[int] = []
        app.state.dashboard.cached(("leaderboard", app.state.dashboard.default_metric()),
                                   lambda: calls.append(1))
        assert calls == [1]
