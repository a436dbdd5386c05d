"""The leaderboard: every experiment against its own baseline, filtered by moderators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from consilience.web.pages import dashboard, metric_of, page
from consilience.web.views import leaderboard_view

__all__ = ["router"]

router = APIRouter()
Metric = Annotated[str | None, Query(max_length=200, description="Metric to compare on.")]
_RESERVED = ("metric", "done")


def _filters(request: Request) -> dict[str, str]:
    return {k: v[:200] for k, v in request.query_params.items() if k not in _RESERVED}


@router.get("/leaderboard", response_class=HTMLResponse, include_in_schema=False)
def leaderboard_page(request: Request, metric: Metric = None) -> HTMLResponse:
    data = leaderboard_view(dashboard(request), metric_of(request, metric), _filters(request))
    return page(request, "leaderboard.html", title="Leaderboard", active="/leaderboard",
                context={"data": data, "notes": data["notes"]})


@router.get("/api/leaderboard", tags=["leaderboard"])
def get_leaderboard(request: Request, metric: Metric = None) -> dict[str, Any]:
    """Every experiment against its own baseline, most robust first. Any other query parameter
    filters by equality: ``status``, ``verdict`` or a moderator (``?model_family=vit``)."""
    return leaderboard_view(dashboard(request), metric_of(request, metric), _filters(request))
