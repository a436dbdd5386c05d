"""Baseline progress: the chain of baselines, and the living analyses of locked protocols."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from consilience.web.pages import dashboard, page
from consilience.web.views import progress_figures, progress_view

__all__ = ["router"]

router = APIRouter()


@router.get("/progress", response_class=HTMLResponse, include_in_schema=False)
def progress_page(request: Request) -> HTMLResponse:
    d = dashboard(request)
    data = progress_view(d)
    return page(request, "progress.html", title="Baseline progress", active="/progress",
                context={"data": data, "figures": progress_figures(d), "notes": data["notes"]})


@router.get("/api/progress", tags=["progress"])
def get_progress(request: Request) -> dict[str, Any]:
    """The chain of baselines with every experiment tried against each, and the history of
    each locked protocol's living analysis."""
    return progress_view(dashboard(request))
