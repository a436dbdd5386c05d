"""build_report: the report's content, its HTML (self-contained, escaped) and its Markdown."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import consilience
from consilience.errors import InputError
from consilience.report.document import Report, build_report
from consilience.report.figures import plot_function, render_svg, safe_svg
from tests.report_html.conftest import XSS, three_arm_runs

_URL = re.compile(r"""(?:src|href)\s*=\s*["']?(?!#|data:)[a-z]+:""", re.IGNORECASE)


def test_report_from_runs_opens_with_the_summary(runs: pd.DataFrame) -> None:
    report = build_report(runs, baseline="base", max_figures=1)
    assert isinstance(report, Report)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.title = "x"  # type: ignore[misc]
    assert report.summary.headline.startswith("2 candidates compared against base on accuracy")
    assert [f.subject for f in report.summary.findings] == ["good", "bad"]
    methods = dict(report.methods)
    assert methods["consilience"] == consilience.__version__
    assert methods["baseline"] == "base"
    assert "REML" in methods["model"] and len(methods["input hash"]) == 16
    html = report.to_html()
    assert html.index('id="summary"') < html.index('id="methods"') < html.index('id="ranking"')
    assert report.summary.headline in html
    assert html.count("<svg") == 2  # forest and funnel for the first candidate only
    assert "plots are drawn for the first 1 candidates in this order" in html


def test_html_is_self_contained(runs: pd.DataFrame) -> None:
    html = build_report(runs, baseline="base", max_figures=2).to_html()
    assert "<script" not in html.lower()
    assert "<link" not in html.lower() and "@import" not in html
    assert not re.search(r"url\((?!#)", html)  # only references inside the page
    assert not _URL.search(html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<style>" in html


def test_user_strings_are_escaped_in_html_and_markdown() -> None:
    report = build_report(three_arm_runs(hostile=True), baseline="base", max_figures=2)
    html = report.to_html()
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = report.to_markdown()
    assert XSS not in md and "&lt;script&gt;" in md
    for fig in report.figures():
        assert fig.svg is None or safe_svg(fig.svg)


def test_markdown_for_pull_requests(runs: pd.DataFrame) -> None:
    md = build_report(runs, baseline="base", max_figures=1).to_markdown()
    assert md.startswith("# Evidence report: accuracy\n")
    assert "## Summary" in md and "## Methods" in md and "### Next steps" in md
    assert "| rank | arm | k | estimate |" in md
    assert "_Figure: Per-task effects (forest plot) (see the HTML report)._" in md
    assert "<svg" not in md


def test_write_picks_the_format_by_suffix(runs: pd.DataFrame, tmp_path: Path) -> None:
    report = build_report(runs, baseline="base", figures=False)
    assert report.write(tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert report.write(tmp_path / "r.md").read_text().startswith("# ")
    with pytest.raises(InputError, match="must end in .html or .md"):
        report.write(tmp_path / "r.pdf")


def test_bad_arguments(runs: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="needs the baseline arm"):
        build_report(runs)
    with pytest.raises(InputError, match="max_figures"):
        build_report(runs, baseline="base", max_figures=-1)
    with pytest.raises(TypeError, match="runs DataFrame"):
        build_report(42)


def test_report_from_the_example_registry(example_db: tuple[Path, str], tmp_path: Path) -> None:
    from consilience.registry import Registry

    copy = tmp_path / "r.db"
    shutil.copyfile(example_db[0], copy)
    with Registry(copy) as reg:
        report = build_report(reg, experiments=["decision-tree", "bernoulli-nb"],
                              max_figures=1)
        proto = reg.protocol("random-forest-vs-linear")
    methods = dict(report.methods)
    assert methods["protocol random-forest-vs-linear"].startswith(f"sha256 {proto.sha256}")
    assert report.summary.headline.startswith("2 candidates compared on accuracy")
    keys = [s.key for s in report.sections]
    assert keys == ["leaderboard", "experiments", "living-analysis", "progress"]
    html = report.to_html()
    assert "Living analysis: random-forest-vs-linear" in html
    assert "Baseline progress" in html
    with Registry(copy) as reg, pytest.raises(InputError, match="not in the registry"):
        build_report(reg, experiments=["nope"])


def test_missing_plots_leave_a_note(monkeypatch: pytest.MonkeyPatch, runs: pd.DataFrame) -> None:
    from consilience.report import figures

    monkeypatch.setattr(figures, "plot_function", lambda name: None)
    report = build_report(runs, baseline="base", max_figures=1)
    assert all(not f.available for f in report.figures())
    assert any("is not available in this version" in w for w in report.warnings)


def test_svg_rendering_is_deterministic_and_salted() -> None:
    forest = plot_function("forest_plot")
    assert forest is not None

    def draw(ax: object) -> None:
        ax.plot([0, 1], [0, 1])  # type: ignore[attr-defined]

    a, b = render_svg(draw, key="one"), render_svg(draw, key="one")
    assert a == b and a.startswith('<svg class="figure"')
    assert render_svg(draw, key="two") != a
    assert safe_svg(a)
    assert not safe_svg('<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>')
    assert not safe_svg('<svg xmlns="http://www.w3.org/2000/svg" onload="x"></svg>')
    assert not safe_svg("<div>not svg</div>")
