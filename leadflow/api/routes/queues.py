"""Queues: configuration (admin), listings per rep, claim-next, stats; rep tiers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response, status

from leadflow.api.deps import Admin, AnyUser, PathId, Staff, SvcDep
from leadflow.api.routes.reps import _self_or_staff
from leadflow.pull_schemas import QueueIn, TierIn
from leadflow.services import claims, queue_listing, queues
from leadflow.services.queue_listing import Filters

router = APIRouter(tags=["queues"])


@router.get("/queues")
def list_queues(svc: SvcDep, _: AnyUser) -> list[dict[str, Any]]:
    """Every queue with its mode and policies (reps see the rules they are held to)."""
    return queues.list_queues(svc)


@router.post("/queues", status_code=status.HTTP_201_CREATED)
def create_queue(body: QueueIn, svc: SvcDep, _: Admin) -> dict[str, Any]:
    return queues.create_queue(svc, body)


@router.get("/queues/{name}")
def get_queue(name: str, svc: SvcDep, _: AnyUser) -> dict[str, Any]:
    return queues.get_queue(svc, name)


@router.put("/queues/{name}")
def put_queue(
    name: str, body: QueueIn, response: Response, svc: SvcDep, _: Admin
) -> dict[str, Any]:
    view, created = queues.put_queue(svc, name, body)
    if created:
        response.status_code = status.HTTP_201_CREATED
    return view


@router.delete("/queues/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_queue(name: str, svc: SvcDep, _: Admin) -> Response:
    queues.delete_queue(svc, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/queues/{name}/leads")
def list_queue_leads(
    name: str,
    svc: SvcDep,
    principal: AnyUser,
    q: str | None = Query(default=None, max_length=200, description="search visible fields"),
    min_score: float | None = None,
    max_score: float | None = None,
    industry: str | None = Query(default=None, max_length=100),
    source: str | None = Query(default=None, max_length=100),
    sort: str | None = Query(default=None, description="age, -age, score or -score"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=100_000),
) -> dict[str, Any]:
    """The queue as this viewer may see it: blind → ages and count; pool → previews;
    cherry-pick and top reps → details; triage → managers only."""
    filters = Filters(q, min_score, max_score, industry, source, sort)
    return queue_listing.list_queue(svc, name, principal, filters, limit=limit, offset=offset)


@router.get("/queues/{name}/leads/{lead_id}")
def lead_details(name: str, lead_id: PathId, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    """One queued lead's details before claim (counts against the skip limit)."""
    return queue_listing.lead_details(svc, name, lead_id, principal)


@router.post("/queues/{name}/claim-next")
def claim_next(name: str, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    """Claim the next lead in the queue's order that this rep may take."""
    return claims.claim_next(svc, name, principal)


@router.get("/queues/{name}/stats")
def queue_stats(name: str, svc: SvcDep, _: Staff) -> dict[str, Any]:
    """Claims per rep today against the queue's minimum."""
    return queues.stats(svc, name)


@router.get("/claims")
def my_claims(svc: SvcDep, principal: AnyUser) -> list[dict[str, Any]]:
    """The caller's live claims and when their leases end."""
    if principal.rep_id is None:
        return []
    return queue_listing.my_claims(svc, principal.rep_id)


@router.get("/pull/alerts")
def alerts(
    svc: SvcDep, _: Staff, limit: int = Query(default=100, ge=1, le=1000)
) -> list[dict[str, Any]]:
    """Escalation notifications and minimum-claims alerts, newest first."""
    return queues.list_alerts(svc, limit)


@router.put("/reps/{rep_id}/tier")
def set_tier(rep_id: PathId, body: TierIn, svc: SvcDep, _: Staff) -> dict[str, Any]:
    return queues.set_tier(svc, rep_id, body.tier)


@router.get("/reps/{rep_id}/tier")
def get_tier(rep_id: PathId, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    _self_or_staff(principal, rep_id)
    return queues.get_tier(svc, rep_id)
