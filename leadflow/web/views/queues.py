"""Pull for reps: the queues they may pull from (seen as the mode and their tier allow),
claim and release; on their leads, the SLA countdown and "log an activity in two clicks".

Every action calls the pull and lifecycle services the API uses; what a rep sees of a
queue is exactly `queue_listing.list_queue`'s answer (a blind queue: ages and a count).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from leadflow.domain.pull import Mode, Queue, claim_by_id_refusal, preview
from leadflow.errors import Forbidden, LeadflowError, ValidationError
from leadflow.pull_schemas import ACTIVITY_TYPES, ActivityIn
from leadflow.services import activities, claims, handback, queue_listing, queues, sla
from leadflow.services.auth import Principal
from leadflow.services.queue_listing import Filters
from leadflow.web.core import (
    ALL_ROLES,
    AnyForm,
    NavItem,
    Viewer,
    field,
    render,
    see_other,
    templates,
)

router = APIRouter()
NAV = [NavItem("Queues", "/queues", ALL_ROLES, order=7, needs_rep=True)]
FULL_COLUMNS = (
    "company.name",
    "company.industry",
    "company.size",
    "company.country",
    "source",
    "score",
    "value",
)
COLUMN_LABELS = {
    "company.name": "Company",
    "company.industry": "Industry",
    "company.size": "Size",
    "company.country": "Country",
    "source": "Source",
    "score": "Score",
    "value": "Value",
    "email": "E-mail",
}
SORT_LABELS = {"": "queue order", "age": "oldest first", "-age": "newest first",
               "score": "lowest score", "-score": "highest score"}  # fmt: skip
DONE = {
    "claimed": "Claimed: the lead is yours until its lease ends; log a contact to keep it.",
    "released": "Released: the lead is back in its queue with its original age.",
    "logged": "Activity logged.",
}
PAGE = 50


def _svc(request: Request) -> Any:
    return request.app.state.services


# ---------------------------------------------------------------- the queues overview


def _access(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """Every queue with why this viewer may not pull from it (None = may pull)."""
    svc = _svc(request)
    out = []
    for q in queues.list_queues(svc):
        refusal = None
        if not principal.is_staff:
            with svc.db.read() as s:
                try:
                    claims.puller(s, q["name"], principal)
                except Forbidden as exc:
                    refusal = exc.message
        out.append({**q, "refusal": refusal})
    # The queues a rep may pull from first; then the others with the reason.
    return sorted(out, key=lambda q: (q["refusal"] is not None, q["name"]))


@router.get("/queues")
def queues_page(request: Request, who: Viewer) -> Response:
    items = _access(request, who.principal)
    return render(request, "queues.html", who, {"queues": items})


# ---------------------------------------------------------------- one queue


def _filters(request: Request) -> Filters:
    q = request.query_params

    def text(name: str) -> str | None:
        return (q.get(name) or "").strip()[:200] or None

    def number(name: str) -> float | None:
        raw = text(name)
        if raw is None:
            return None
        try:
            return float(raw)
        except ValueError:
            raise ValidationError(f"{name}: {raw!r} is not a number", field=name) from None

    return Filters(
        q=text("q"),
        min_score=number("min_score"),
        max_score=number("max_score"),
        industry=text("industry"),
        source=text("source"),
        sort=text("sort"),
    )


def _pick(item: dict[str, Any], path: str) -> Any:
    if path in item:  # a preview item is flat: {"company.name": …}
        return item[path]
    return preview(item, [path])[path]


def _queue_context(request: Request, principal: Principal, name: str) -> dict[str, Any]:
    svc = _svc(request)
    config = queues.get_queue(svc, name)
    problem = None
    try:
        filters = _filters(request)
        listing = queue_listing.list_queue(svc, name, principal, filters, limit=PAGE)
    except ValidationError as exc:
        # A refused filter: say why and show the queue unfiltered.
        problem, filters = exc.message, Filters()
        listing = queue_listing.list_queue(svc, name, principal, filters, limit=PAGE)
    view = listing["view"]
    columns: tuple[str, ...] = ()
    if view == "preview":
        columns = tuple(config["preview_fields"])
    elif view == "full":
        columns = FULL_COLUMNS
    rows = [
        {"id": i["id"], "age": i["age_seconds"], "cells": [_pick(i, c) for c in columns]}
        for i in listing["items"]
    ]
    held = queue_listing.my_claims(svc, principal.rep_id) if principal.rep_id else []
    mode = Mode(config["mode"])
    # Staff look at every queue in full (to supervise); pulling is for reps.
    can_pull = principal.rep_id is not None and not principal.is_staff
    return {
        "queue": config,
        "listing": listing,
        "columns": columns,
        "rows": rows,
        "filters": filters,
        "sorts": SORT_LABELS,
        "labels": COLUMN_LABELS,
        "problem": problem,
        "held": len(held),
        "by_id": can_pull and claim_by_id_refusal_for(mode) is None,
        "can_pull": can_pull,
        "filterable": view != "age_only",
        "can_filter": {
            "score": view == "full" or "score" in columns,
            "industry": view == "full" or "company.industry" in columns,
            "source": view == "full" or "source" in columns,
        },
    }


def claim_by_id_refusal_for(mode: Mode) -> str | None:
    """Whether a lead may be claimed by id in this mode (fifo: only the next one)."""
    return claim_by_id_refusal(Queue(name="-", mode=mode))


def _queue_page(
    request: Request, who: Any, name: str, error: str | None = None, status_code: int = 200
) -> Response:
    try:
        context = _queue_context(request, who.principal, name)
    except LeadflowError as exc:
        # Not a puller of this queue (triage, another team, tier) or no such queue.
        status = exc.status_code if exc.status_code in (403, 404) else 400
        return render(request, "error.html", who, {"title": "Queue", "message": exc.message},
                      status_code=status)  # fmt: skip
    context["error"] = error
    context["done"] = DONE.get(request.query_params.get("ok", ""))
    return render(request, "queue.html", who, context, status_code=status_code)


@router.get("/queues/{name}")
def queue_page(name: str, request: Request, who: Viewer) -> Response:
    return _queue_page(request, who, name[:100])


def _acted(request: Request, who: Any, name: str, act: Any) -> Response:
    """Run a claim; success shows the lead, a refusal the queue with the reason."""
    try:
        lead = act()
    except LeadflowError as exc:
        return _queue_page(request, who, name, exc.message, exc.status_code)
    return see_other(f"/leads/{lead['id']}?ok=claimed")


@router.post("/queues/{name}/claim-next")
def claim_next(name: str, request: Request, form: AnyForm) -> Response:
    who, _ = form
    name = name[:100]
    return _acted(request, who, name, lambda: claims.claim_next(_svc(request), name, who.principal))


@router.post("/queues/{name}/claim")
def claim(name: str, request: Request, form: AnyForm) -> Response:
    who, data = form
    name = name[:100]
    lead_id = _lead_id(data)
    return _acted(request, who, name, lambda: claims.claim(_svc(request), lead_id, who.principal))


def _lead_id(data: FormData) -> int:
    raw = field(data, "lead_id", max_length=20)
    return int(raw) if raw.isdigit() else 0


# ---------------------------------------------------------------- working a lead


def _next(data: FormData, default: str) -> str:
    target = field(data, "next", max_length=300)
    # Only local paths: a form may not send the user elsewhere.
    return target if target.startswith("/") and not target.startswith("//") else default


def _failed(request: Request, who: Any, exc: LeadflowError) -> Response:
    return render(request, "error.html", who, {"title": "Not done", "message": exc.message},
                  status_code=exc.status_code)  # fmt: skip


def _with_ok(path: str, code: str) -> str:
    base = path.split("?", 1)[0]
    return f"{base}?ok={code}"


@router.post("/my/leads/{lead_id}/release")
def release(lead_id: int, request: Request, form: AnyForm) -> Response:
    who, data = form
    try:
        handback.release(_svc(request), lead_id, who.principal)
    except LeadflowError as exc:
        return _failed(request, who, exc)
    return see_other(_with_ok(_next(data, "/my/leads"), "released"))


@router.post("/my/leads/{lead_id}/activity")
def log_activity(lead_id: int, request: Request, form: AnyForm) -> Response:
    who, data = form
    kind = field(data, "type", max_length=20)
    if kind not in ACTIVITY_TYPES:
        return _failed(request, who, ValidationError(
            f"type must be one of {', '.join(ACTIVITY_TYPES)}", field="type"))  # fmt: skip
    note = field(data, "note", max_length=5000) or None
    try:
        activities.log_activity(
            _svc(request), lead_id, ActivityIn(type=kind, note=note), who.principal
        )
    except LeadflowError as exc:
        return _failed(request, who, exc)
    return see_other(_with_ok(_next(data, "/my/leads"), "logged"))


# ---------------------------------------------------------------- template helpers


def lead_actions(request: Request, leads: list[dict[str, Any]]) -> dict[str, Any]:
    """For "my leads" and the lead page: SLA deadlines, which leads the viewer holds a
    live claim on (release), and the outcome of the last action."""
    who = getattr(request.state, "web_identity", None)
    rep_id = who.principal.rep_id if who else None
    svc = _svc(request)
    held = {c["lead_id"] for c in queue_listing.my_claims(svc, rep_id)} if rep_id else set()
    return {
        "due": sla.pending_due(svc, [lead["id"] for lead in leads]),
        "held": held,
        "types": ACTIVITY_TYPES,
        "now": svc.clock.now(),
        "done": DONE.get(request.query_params.get("ok", "")),
    }


def may_act(request: Request, lead: dict[str, Any]) -> bool:
    who = getattr(request.state, "web_identity", None)
    if who is None:
        return False
    return bool(who.principal.is_staff or lead.get("owner_rep_id") == who.principal.rep_id)


templates.env.globals.update(lead_actions=lead_actions, may_act=may_act)
