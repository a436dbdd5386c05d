"""Helpers shared by the route modules: the dashboard of a request, page rendering, request
bodies and the answers to state-changing requests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from consilience._results import package_version
from consilience.web.state import Dashboard
from consilience.web.templating import render_page

__all__ = [
    "NAV",
    "NOTICES",
    "answer_write",
    "dashboard",
    "metric_of",
    "page",
    "read_fields",
]

NAV = (("/experiments", "Experiments"), ("/leaderboard", "Leaderboard"),
       ("/progress", "Progress"), ("/alerts", "Alerts"), ("/curves", "Learning curves"))
"""The navigation bar: path and label of every page."""

NOTICES = {"plan": "The recommended plan was applied.",
           "status": "The status was changed."}
"""Messages shown after a change (the page is opened with ``?done=<key>``)."""

MAX_FIELD = 2000


def dashboard(request: Request) -> Dashboard:
    """The :class:`Dashboard` of the application serving ``request``."""
    board: Dashboard = request.app.state.dashboard
    return board


def metric_of(request: Request, metric: str | None) -> str:
    """The metric asked for, else the dashboard's default."""
    if metric:
        return metric
    return dashboard(request).default_metric()


def page(request: Request, template: str, *, title: str, active: str,
         context: Mapping[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render a page with the navigation, the registry's label and any notice."""
    done = request.query_params.get("done")
    html = render_page(template, {
        "title": title, "nav": NAV, "active": active, "version": package_version(),
        "registry_label": request.app.state.registry_label,
        "notice": NOTICES.get(done or ""), "notes": [], **context,
    })
    return HTMLResponse(html, status_code=status_code)


async def read_fields(request: Request) -> tuple[dict[str, str], bool]:
    """The fields of a JSON object or URL-encoded form body, and whether it was a form.

    Raises
    ------
    HTTPException
        400 for a body that is not a flat object of strings, 415 for another content type.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if ctype == "application/x-www-form-urlencoded":
        parsed = parse_qs(raw.decode("utf-8", errors="replace"), max_num_fields=50)
        fields = {k: v[0] for k, v in parsed.items() if k != "token"}
        return fields, True
    if not raw.strip():
        return {}, False
    if ctype != "application/json":
        raise HTTPException(415, "Send a JSON object (Content-Type: application/json) or a "
                                 "URL-encoded form.")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HTTPException(400, f"The request body is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in data.items()):
        raise HTTPException(400, "The request body must be a JSON object of text fields, e.g. "
                                 '{"status": "accepted", "note": "..."}.')
    out = {k: v for k, v in data.items() if v is not None}
    too_long = [k for k, v in out.items() if len(v) > MAX_FIELD]
    if too_long:
        raise HTTPException(400, f"Fields {too_long} are longer than {MAX_FIELD} characters.")
    return out, False


def answer_write(name: str, done: str, payload: dict[str, Any], *, form: bool,
                 metric: str | None = None) -> Response:
    """JSON for API clients; a redirect to the experiment's page for a plain HTML form."""
    if form:
        query = f"?done={done}" + (f"&metric={quote(metric, safe='')}" if metric else "")
        return RedirectResponse(f"/experiments/{quote(name, safe='')}{query}", status_code=303)
    return JSONResponse(payload)
