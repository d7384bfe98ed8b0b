"""Leads: a rep's own leads with their status, the staff list, and one lead with its
decision trace as a timeline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadflow.domain.model import LeadStatus
from leadflow.errors import NotFound
from leadflow.services import metrics, org, routing
from leadflow.web.core import (
    ALL_ROLES,
    STAFF,
    NavItem,
    PageNotFound,
    StaffViewer,
    Viewer,
    render,
    see_other,
)
from leadflow.web.trace import timeline

router = APIRouter()
NAV = [
    NavItem("My leads", "/my/leads", ALL_ROLES, order=5, needs_rep=True),
    NavItem("Leads", "/leads", STAFF, order=15),
]
STATUSES = [s.value for s in LeadStatus]
PAGE = 50


def _names(request: Request) -> dict[int, str]:
    return {r["id"]: r["name"] for r in org.list_reps(request.app.state.services)}


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    status = q.get("status") or None
    before = q.get("before", "")
    return {
        "status": status if status in STATUSES else None,
        "queue": (q.get("queue") or "")[:100] or None,
        "before": int(before) if before.isdigit() else None,
    }


@router.get("/my/leads")
def my_leads(request: Request, who: Viewer) -> Response:
    rep_id = who.principal.rep_id
    if rep_id is None:
        return see_other("/leads")  # a manager or admin who is not a rep
    f = _filters(request)
    page = routing.list_leads(
        request.app.state.services,
        owner=rep_id,
        status=f["status"],
        before=f["before"],
        limit=PAGE,
    )
    counts = metrics.status_counts(request.app.state.services, rep_id)
    context = {
        "leads": page["items"],
        "next": page["next"],
        "statuses": STATUSES,
        "filters": f,
        "counts": counts,
    }
    return render(request, "my_leads.html", who, context)


@router.get("/leads")
def all_leads(request: Request, who: StaffViewer) -> Response:
    f = _filters(request)
    owner = request.query_params.get("owner", "")
    page = routing.list_leads(
        request.app.state.services,
        owner=int(owner) if owner.isdigit() else None,
        status=f["status"],
        queue=f["queue"],
        before=f["before"],
        limit=PAGE,
    )
    return render(
        request,
        "leads.html",
        who,
        {
            "leads": page["items"],
            "next": page["next"],
            "statuses": STATUSES,
            "filters": f,
            "names": _names(request),
        },
    )


@router.get("/leads/{lead_id}")
def lead_page(lead_id: int, request: Request, who: Viewer) -> Response:
    svc = request.app.state.services
    try:
        lead = routing.get_lead(svc, lead_id)
    except NotFound:
        lead = None
    if lead is None or (
        not who.principal.is_staff and lead["owner_rep_id"] != who.principal.rep_id
    ):
        # Another rep's lead gets exactly the answer of a missing one.
        raise PageNotFound(f"lead {lead_id} not found")
    names = _names(request)
    events = timeline(routing.get_decisions(svc, lead_id), names)
    return render(request, "lead.html", who, {"lead": lead, "events": events, "names": names})
