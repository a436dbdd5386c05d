"""The HTML report in a real Chromium, offline: it loads nothing and reads correctly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from consilience.report.document import build_report
from tests.web._support import chromium_path, launch_args

pytestmark = pytest.mark.browser


def test_report_opens_offline_and_its_summary_reads_correctly(runs: pd.DataFrame,
                                                              tmp_path: Path) -> None:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    report = build_report(runs, baseline="base", max_figures=2)
    path = report.write(tmp_path / "report.html")
    url = path.resolve().as_uri()
    requested: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=launch_args())
        try:
            context = browser.new_context(offline=True, java_script_enabled=False)

            def route(r: Any) -> None:
                requested.append(r.request.url)
                if r.request.url == url:
                    r.continue_()
                else:
                    r.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
            page.goto(url)
            headline = page.locator("#summary .headline").inner_text()
            first = page.locator("#summary p").nth(1).inner_text()
            steps = page.locator("#summary li").all_inner_texts()
            figures = page.locator("svg.figure").count()
            visible = page.locator("svg.figure").first.bounding_box()
            title = page.title()
        finally:
            browser.close()
    assert requested == [url]
    assert problems == []
    assert title == "Evidence report: accuracy"
    assert headline == report.summary.headline
    assert headline.startswith("2 candidates compared against base on accuracy")
    assert first.startswith("good improves accuracy over base by")
    assert steps[0].startswith("good: ")
    assert figures == 4
    assert visible is not None and visible["width"] > 200
