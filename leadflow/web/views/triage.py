"""Triage (skimming) for managers: the leads waiting in triage queues, each assignable
by hand to a rep with a reason (`handback.assign`, the same call as the API's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadflow.domain.pull import Mode
from leadflow.errors import LeadflowError, ValidationError
from leadflow.services import handback, org, queue_listing, queues
from leadflow.services.queue_listing import Filters
from leadflow.web.core import (
    STAFF,
    NavItem,
    StaffForm,
    StaffViewer,
    field,
    render,
    see_other,
    templates,
)

router = APIRouter()
NAV = [NavItem("Triage", "/triage", STAFF, order=17)]
PAGE = 100


def _context(request: Request, who: Any) -> dict[str, Any]:
    svc = request.app.state.services
    triage = [q for q in queues.list_queues(svc) if q["mode"] == Mode.TRIAGE]
    boxes = [
        queue_listing.list_queue(svc, q["name"], who.principal, Filters(sort="age"), limit=PAGE)
        for q in triage
    ]
    reps = [r for r in org.list_reps(svc) if r["active"]]
    return {"boxes": boxes, "reps": reps, "done": request.query_params.get("ok") == "assigned"}


def _page(request: Request, who: Any, error: str | None = None, status: int = 200) -> Response:
    context = {**_context(request, who), "error": error}
    return render(request, "triage.html", who, context, status_code=status)


@router.get("/triage")
def triage_page(request: Request, who: StaffViewer) -> Response:
    return _page(request, who)


@router.post("/triage/{lead_id}/assign")
def assign(lead_id: int, request: Request, form: StaffForm) -> Response:
    who, data = form
    rep = field(data, "rep_id", max_length=20)
    reason = field(data, "reason", max_length=1000)
    try:
        if not rep.isdigit():
            raise ValidationError("choose a rep", field="rep_id")
        if not reason:
            # Hand assignment overrides the rules: the trace must say why.
            raise ValidationError("say why this lead goes to this rep", field="reason")
        handback.assign(request.app.state.services, lead_id, int(rep), who.principal, reason)
    except LeadflowError as exc:
        return _page(request, who, exc.message, exc.status_code)
    return see_other("/triage?ok=assigned")


def _pull_charts(data: dict[str, Any]) -> Any:
    from leadflow.web.pull_charts import pull_charts

    return pull_charts(data)


# The dashboard's SLA and claim-rate slots draw their charts through this global.
templates.env.globals["pull_charts"] = _pull_charts
