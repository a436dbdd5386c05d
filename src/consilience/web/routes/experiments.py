"""Experiments: the list, one experiment's page, its plan, and the two changes the dashboard can
make (apply the recommended plan, set the status)."""

from __future__ import annotations

import warnings
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from consilience._results import json_safe
from consilience.web.pages import answer_write, dashboard, metric_of, page, read_fields
from consilience.web.views import experiment_figures, experiment_view, experiments_view

__all__ = ["router"]

router = APIRouter()
Metric = Annotated[str | None, Query(max_length=200, description="Metric to compare on.")]

_WRITE_BODY: dict[str, Any] = {
    "requestBody": {"content": {
        "application/json": {"schema": {"type": "object", "properties": {
            "status": {"type": "string"}, "note": {"type": "string", "maxLength": 2000}}}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
            "status": {"type": "string"}, "note": {"type": "string"},
            "token": {"type": "string"}}}},
    }},
    "security": [{"bearer": []}],
}


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/experiments", status_code=307)


@router.get("/experiments", response_class=HTMLResponse, include_in_schema=False)
def experiments_page(request: Request, metric: Metric = None) -> HTMLResponse:
    d = dashboard(request)
    data = experiments_view(d, metric_of(request, metric))
    return page(request, "experiments.html", title="Experiments", active="/experiments",
                context={"data": data, "notes": data["notes"]})


@router.get("/experiments/{name:path}", response_class=HTMLResponse, include_in_schema=False)
def experiment_page(request: Request, name: str, metric: Metric = None) -> HTMLResponse:
    from consilience.registry import EXPERIMENT_STATUSES

    d = dashboard(request)
    m = metric_of(request, metric)
    data = experiment_view(d, name, m)
    figures = experiment_figures(d, name, m)
    return page(request, "experiment.html", title=name, active="/experiments",
                context={"data": data, "figures": figures, "statuses": EXPERIMENT_STATUSES,
                         "notes": data["notes"]})


@router.get("/api/experiments", tags=["experiments"])
def list_experiments(request: Request, metric: Metric = None) -> dict[str, Any]:
    """Every experiment with its status and, where compared, its verdict."""
    return experiments_view(dashboard(request), metric_of(request, metric))


@router.get("/api/experiments/{name:path}", tags=["experiments"])
def get_experiment(request: Request, name: str, metric: Metric = None) -> dict[str, Any]:
    """One experiment: record, comparison with per-task effects, finding, power and plan."""
    return experiment_view(dashboard(request), name, metric_of(request, metric))


@router.post("/api/experiments/{name:path}/status", tags=["experiments"],
             openapi_extra=_WRITE_BODY)
async def set_status(request: Request, name: str) -> Response:
    """Set an experiment's status (needs the write token); accepting it makes it the baseline."""
    fields, form = await read_fields(request)
    status = fields.get("status")
    if not status:
        raise HTTPException(400, "Give the new status: one of planned, running, complete, "
                                 "accepted, rejected, neutral, failed.")
    d = dashboard(request)

    def change() -> dict[str, Any]:
        from consilience.web.views import require_experiment

        require_experiment(d, name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            record = d.registry.set_status(name, status, note=fields.get("note") or None)
        return {"experiment": record.to_dict(), "message": f"{name} is now {record.status}.",
                "warnings": [str(w.message) for w in caught]}

    payload = await run_in_threadpool(change)
    return answer_write(name, "status", json_safe(payload), form=form)


@router.get("/api/plans/{name:path}", tags=["plans"])
def get_plan(request: Request, name: str, metric: Metric = None) -> dict[str, Any]:
    """The power of an experiment's design and the design that reaches the target power."""
    data = experiment_view(dashboard(request), name, metric_of(request, metric))
    if data["plan"] is None:
        raise HTTPException(400, data["plan_error"] or "This experiment cannot be planned.")
    return {"experiment": name, "plan": data["plan"], "plannable": data["plannable"]}


@router.post("/api/plans/{name:path}/apply", tags=["plans"],
             openapi_extra={"security": [{"bearer": []}]})
async def apply_recommended_plan(request: Request, name: str, metric: Metric = None
                                 ) -> Response:
    """Write the recommended seeds and evaluation-set size to a planned or running experiment
    (needs the write token); recorded in the audit log as ``plan.apply``."""
    _, form = await read_fields(request)
    d = dashboard(request)
    m = metric_of(request, metric)
    actor = request.app.state.actor

    def apply() -> dict[str, Any]:
        from consilience.registry.planning import apply_plan
        from consilience.web.views import require_experiment

        require_experiment(d, name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            record, plan = apply_plan(d.registry, name, actor=actor, metric=m)
        return {"experiment": record.to_dict(), "plan": plan.to_dict(),
                "message": f"Plan applied: {plan.seeds} seeds per arm"
                           + (f", {plan.n_eval} evaluation examples" if plan.n_eval else "")
                           + f", {plan.k} tasks recommended.",
                "warnings": [str(w.message) for w in caught]}

    payload = await run_in_threadpool(apply)
    return answer_write(name, "plan", json_safe(payload), form=form, metric=metric)
