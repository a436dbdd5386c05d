"""Jinja2 templates of the dashboard, with autoescaping on for every template.

Templates are package data (``consilience/web/templates``) loaded by name from a fixed list of
pages; no request value ever names a template or a file. Figures are inserted as markup only
after :func:`consilience.report.figures.safe_svg` has checked them.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from consilience.report.figures import SvgFigure, safe_svg
from consilience.report.html import verdict_class
from consilience.report.tables import cell_text, p_text, prob_text

__all__ = ["PAGES", "environment", "render_page"]

PAGES = ("experiments.html", "experiment.html", "leaderboard.html", "progress.html",
         "alerts.html", "curves.html", "error.html")
"""Every template a route may render."""

_ENV: Any = None


def _quote(value: Any) -> str:
    """A path segment: every character but letters, digits and ``-._~`` percent-encoded."""
    return quote(str(value), safe="")


def _num(value: Any, digits: int = 4) -> str:
    return cell_text(value, digits)


def _pct(value: Any, digits: int = 0) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(f):
        return "—"
    return f"{f * 100:.{digits}f}%"


def _svg(fig: SvgFigure | None) -> Markup:
    if fig is None or fig.svg is None or not safe_svg(fig.svg):
        return Markup("")
    return Markup(fig.svg)


def environment() -> Any:
    """The Jinja2 environment (created once): package templates, autoescape on, strict
    undefined variables."""
    global _ENV
    if _ENV is None:
        from jinja2 import Environment, PackageLoader, StrictUndefined

        env = Environment(loader=PackageLoader("consilience.web", "templates"), autoescape=True,
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        env.filters.update(q=_quote, num=_num, pct=_pct, svg=_svg, verdict_class=verdict_class,
                           p=p_text, prob=prob_text)
        _ENV = env
    return _ENV


def render_page(name: str, context: dict[str, Any]) -> str:
    """Render the page template ``name`` (one of :data:`PAGES`)."""
    if name not in PAGES:
        raise ValueError(f"unknown page template {name!r}; pages are {list(PAGES)}.")
    return str(environment().get_template(name).render(**context))
