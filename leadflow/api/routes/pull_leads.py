"""Claiming, releasing and assigning queued leads; activities on a lead."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from leadflow.api.deps import AnyUser, PathId, Staff, SvcDep
from leadflow.pull_schemas import ActivityIn, AssignIn
from leadflow.services import activities, claims, handback

router = APIRouter(tags=["pull"])


@router.post("/leads/{lead_id}/claim")
def claim(lead_id: PathId, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    """Claim a queued lead (atomic: of two racing claimers one wins, the other gets 409)."""
    return claims.claim(svc, lead_id, principal)


@router.post("/leads/{lead_id}/release")
def release(lead_id: PathId, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    """Give a claimed lead back to its queue, with its original age."""
    return handback.release(svc, lead_id, principal)


@router.post("/leads/{lead_id}/assign")
def assign(lead_id: PathId, body: AssignIn, svc: SvcDep, principal: Staff) -> dict[str, Any]:
    """A manager assigns a queued lead (triage) to a rep."""
    return handback.assign(svc, lead_id, body.rep_id, principal, body.reason)


@router.post("/leads/{lead_id}/activities", status_code=status.HTTP_201_CREATED)
def log_activity(
    lead_id: PathId, body: ActivityIn, svc: SvcDep, principal: AnyUser
) -> dict[str, Any]:
    return activities.log_activity(svc, lead_id, body, principal)


@router.get("/leads/{lead_id}/activities")
def list_activities(lead_id: PathId, svc: SvcDep, principal: AnyUser) -> list[dict[str, Any]]:
    return activities.list_activities(svc, lead_id, principal)
