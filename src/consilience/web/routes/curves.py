"""Learning curves and the data-versus-model decision."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from consilience.web.curves_view import curves_view
from consilience.web.pages import dashboard, metric_of, page

__all__ = ["router"]

router = APIRouter()
Metric = Annotated[str | None, Query(max_length=200, description="Metric of the curves.")]
LabelCost = Annotated[float | None, Query(gt=0, lt=1e9, description="USD per labelled example.")]


@router.get("/curves", response_class=HTMLResponse, include_in_schema=False)
def curves_page(request: Request, metric: Metric = None, label_cost: LabelCost = None
                ) -> HTMLResponse:
    data, figures = curves_view(dashboard(request), metric_of(request, metric), label_cost)
    return page(request, "curves.html", title="Learning curves", active="/curves",
                context={"data": data, "figures": figures, "notes": data["notes"]})


@router.get("/api/curves", tags=["curves"])
def get_curves(request: Request, metric: Metric = None, label_cost: LabelCost = None
               ) -> dict[str, Any]:
    """Learning curves found in the runs, their fits and, with ``label_cost``, the value of
    labelling budgets against the candidate model changes."""
    data, _ = curves_view(dashboard(request), metric_of(request, metric), label_cost)
    return data
