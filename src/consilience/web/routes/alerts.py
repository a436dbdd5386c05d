"""Alerts: underpowered designs and inconclusive comparisons."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from consilience.web.pages import dashboard, metric_of, page
from consilience.web.views import alerts_view

__all__ = ["router"]

router = APIRouter()
Metric = Annotated[str | None, Query(max_length=200, description="Metric to compare on.")]


@router.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
def alerts_page(request: Request, metric: Metric = None) -> HTMLResponse:
    data = alerts_view(dashboard(request), metric_of(request, metric))
    return page(request, "alerts.html", title="Alerts", active="/alerts",
                context={"data": data, "notes": data["notes"]})


@router.get("/api/alerts", tags=["alerts"])
def get_alerts(request: Request, metric: Metric = None) -> dict[str, Any]:
    """Experiments that need attention, and those that could not be checked."""
    return alerts_view(dashboard(request), metric_of(request, metric))
