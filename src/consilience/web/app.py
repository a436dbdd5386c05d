"""The dashboard application: pages and a JSON API over one experiment registry.

Read-only for everyone who can reach it; every change (apply a plan, set a status) needs a write
token and must come from the dashboard's own pages or from a non-browser client (see
:mod:`consilience.web.security`). Start it with ``consilience serve``; it listens on
127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from consilience.errors import MissingDependencyError

__all__ = ["DEFAULT_MAX_BODY", "LOCAL_HOSTS", "create_app"]

DEFAULT_MAX_BODY = 64 * 1024
"""Largest request body accepted, in bytes (the dashboard's requests are a few hundred)."""

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
"""Host names a dashboard bound to the loopback interface answers to (DNS-rebinding guard)."""


def _require(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"The '{module}' package is needed for the dashboard but is not installed ({exc}). "
            f"Install it with: pip install 'consilience[web]'") from exc


def _label(registry: Any) -> str:
    path = registry.path
    if path is not None:
        return f"SQLite registry {path.name}"
    return "PostgreSQL registry"


def create_app(
    registry_url: str | os.PathLike[str] | None = None,
    *,
    metric: str | None = None,
    actor: str = "dashboard",
    allowed_hosts: Sequence[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    prewarm: bool = False,
) -> Any:
    """Create the dashboard for a registry.

    Parameters
    ----------
    registry_url : str or path-like, optional
        SQLAlchemy URL or SQLite file of an existing registry (default as
        :class:`~consilience.registry.Registry`: ``CONSILIENCE_DB``, else ``./consilience.db``).
    metric : str, optional
        Metric compared when a page does not ask for one (default: the first locked protocol's
        primary metric, else the most common metric of complete runs).
    actor : str
        Name recorded in the audit log for changes made through the dashboard.
    allowed_hosts : sequence of str, optional
        Host names the server answers to; requests for any other ``Host`` get 400. Pass
        :data:`LOCAL_HOSTS` for a dashboard bound to 127.0.0.1 (``consilience serve`` does).
        ``None`` accepts any host.
    max_body_bytes : int
        Request bodies over this size get 413.
    prewarm : bool
        At start-up, compute the experiments list and the alerts (the slowest first pages: a
        comparison per experiment) in a background thread, so the first visitor does not wait
        for them (``consilience serve`` does). Requests are served meanwhile; one that needs
        the same result waits for it instead of computing it twice.

    Returns
    -------
    fastapi.FastAPI
        Pages ``/experiments``, ``/experiments/{name}``, ``/leaderboard``, ``/progress``,
        ``/alerts``, ``/curves``; the JSON API under ``/api`` (schema at ``/openapi.json``).

    Raises
    ------
    MissingDependencyError
        FastAPI or Jinja2 is not installed (``pip install 'consilience[web]'``).
    InputError
        No registry at ``registry_url``.
    """
    for module in ("fastapi", "jinja2", "sqlalchemy"):
        _require(module)
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    from consilience._results import package_version
    from consilience.errors import InputError
    from consilience.registry import Registry
    from consilience.web.pages import NAV
    from consilience.web.routes import ROUTERS
    from consilience.web.security import BodyLimit, SecurityHeaders, WriteGuard
    from consilience.web.state import Dashboard
    from consilience.web.templating import render_page
    from consilience.web.views import NotFound

    if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int) \
            or max_body_bytes < 1024:
        raise InputError(f"The 'max_body_bytes' parameter must be an integer >= 1024. Got "
                         f"{max_body_bytes!r} instead.")
    registry = Registry(registry_url, actor=actor)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm = None
        if prewarm:
            warm = threading.Thread(target=_prewarm, args=(app.state.dashboard,),
                                    name="consilience-prewarm", daemon=True)
            warm.start()
        try:
            yield
        finally:
            if warm is not None:
                warm.join(timeout=60)
            registry.close()

    app = FastAPI(title="consilience dashboard", version=package_version(),
                  description="Evidence synthesis for ML experiments: which model improvements "
                              "are real. GET is open; POST needs a write token "
                              "(Authorization: Bearer ...).",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json", lifespan=lifespan)
    app.state.dashboard = Dashboard(registry, metric=metric)
    app.state.registry_label = _label(registry)
    app.state.actor = actor
    for router in ROUTERS:
        app.include_router(router)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api") or request.url.path == "/openapi.json"

    def error_page(request: Request, status: int, heading: str, message: str) -> Response:
        if wants_json(request) or request.method != "GET":
            return JSONResponse({"detail": message}, status_code=status)
        html = render_page("error.html", {
            "title": heading, "nav": NAV, "active": "", "version": package_version(),
            "registry_label": app.state.registry_label, "notice": None, "notes": [],
            "status_code": status, "heading": heading, "message": message})
        return HTMLResponse(html, status_code=status)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return error_page(request, 404, "Not found", str(exc))

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> Response:
        return error_page(request, 400, "Cannot do that", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        heading = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        response = error_page(request, exc.status_code, heading, str(exc.detail))
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                             for e in exc.errors())
        return error_page(request, 422, "Invalid request", problems)

    # Outermost last: headers on every answer, then the size limit, then the write guard.
    app.add_middleware(WriteGuard, verify=registry.verify_token, has_token=registry.has_token,
                       max_bytes=max_body_bytes)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.add_middleware(SecurityHeaders)
    return app


def _prewarm(d: Any) -> None:
    """Fill the dashboard's cache with the pages that compare every experiment."""
    from consilience.web.views import alerts_view, experiments_view

    try:
        metric = d.default_metric()
        experiments_view(d, metric)
        alerts_view(d, metric)
    except Exception:  # best effort: each page reports its own error when asked
        logging.getLogger(__name__).debug("pre-computing the dashboard pages failed", exc_info=True)
