"""The dashboard in a real Chromium (Playwright): pages render without errors, and the
"apply recommended plan" button changes what the experiment's page shows."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web._support import chromium_path, launch_args, live_server

pytestmark = pytest.mark.browser

PAGES = ("/experiments", "/experiments/decision-tree", "/experiments/random-forest",
         "/leaderboard", "/leaderboard?model_family=tree+ensemble", "/progress", "/alerts",
         "/curves")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=launch_args())
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="module")
def site(example_db: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[tuple[str, str]]:
    """The dashboard on a private copy of the example registry: (base URL, token)."""
    from consilience.web import create_app

    copy = tmp_path_factory.mktemp("browser") / "registry.db"
    shutil.copyfile(example_db[0], copy)
    with live_server(create_app(copy)) as base:
        yield base, example_db[1]


def _watch(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)
    return problems


def test_every_page_renders_without_console_errors(browser: Any, site: tuple[str, str],
                                                   record_property: Any) -> None:
    base, _ = site
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = _watch(page)
    try:
        for path in PAGES:
            page.goto(base + path, wait_until="load")
            assert page.locator("header.bar").is_visible(), path
            assert page.locator("h1").first.inner_text().strip(), path
            timing = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return {load: n.loadEventEnd - n.startTime,"
                " dom: n.domContentLoadedEventEnd - n.startTime, bytes: n.transferSize}; }")
            # Page load times for the benchmark (recorded, not asserted).
            record_property(f"load_ms {path}", round(float(timing["load"]), 1))
            print(f"page load {path}: {timing['load']:.0f} ms, {timing['bytes']} bytes")
        assert problems == []
    finally:
        page.close()


def test_experiment_page_shows_figures_and_tables(browser: Any, site: tuple[str, str]) -> None:
    base, _ = site
    page = browser.new_page()
    try:
        page.goto(base + "/experiments/decision-tree")
        assert page.locator("svg.figure").count() >= 2
        page.get_by_text("Per-task effects (12 tasks)").click()
        assert page.locator("#tasks tbody tr").count() == 12
        assert "do not ship it" in page.locator(".finding").inner_text()
    finally:
        page.close()


def test_click_through_and_apply_the_recommended_plan(browser: Any,
                                                       site: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    base, token = site
    page = browser.new_page()
    problems = _watch(page)
    try:
        page.goto(base + "/experiments")
        page.get_by_role("link", name="decision-tree", exact=True).click()
        expect(page.locator("#experiment-name")).to_have_text("decision-tree")
        expect(page.locator("#planned-seeds")).to_have_text("5")
        form = page.locator("#apply-plan")
        form.locator("input[name=token]").fill(token)
        form.get_by_role("button", name="Apply recommended plan").click()
        expect(page.locator(".notice")).to_have_text("The recommended plan was applied.")
        expect(page.locator("#planned-seeds")).to_have_text("2")
        expect(page.locator("#audit")).to_contain_text("plan.apply")
        expect(page.locator("#audit")).to_contain_text("planned_seeds 5 → 2")
        # The token is kept for this tab's other forms.
        expect(page.locator("#set-status input[name=token]")).to_have_value(token)
        assert problems == []
    finally:
        page.close()


def test_a_wrong_token_is_refused_and_nothing_changes(browser: Any,
                                                      site: tuple[str, str]) -> None:
    from playwright.sync_api import expect

    base, _ = site
    page = browser.new_page()
    try:
        page.goto(base + "/experiments/lda-shrinkage")
        before = page.locator("#planned-seeds").inner_text()
        form = page.locator("#apply-plan")
        form.locator("input[name=token]").fill("cns_not-the-token")
        form.get_by_role("button", name="Apply recommended plan").click()
        expect(form.locator("output")).to_contain_text("Refused (403)")
        page.reload()
        expect(page.locator("#planned-seeds")).to_have_text(before)
        expect(page.locator("#audit")).not_to_contain_text("plan.apply")
    finally:
        page.close()
