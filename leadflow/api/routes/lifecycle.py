"""Lead lifecycle: status changes, field edits, manual reassignment, redistribution."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from leadflow.api.deps import AnyUser, PathId, Staff, SvcDep
from leadflow.errors import Forbidden, ValidationError
from leadflow.schemas import Id, LeadIn, Strict
from leadflow.services import dedup, lifecycle, reassign, routing, sla
from leadflow.services.auth import Principal

router = APIRouter(tags=["lifecycle"])


class StatusIn(Strict):
    status: str = Field(min_length=1, max_length=16)
    reason: str = Field(default="", max_length=1000)


class ReassignIn(Strict):
    rep_id: Id
    reason: str = Field(min_length=1, max_length=1000)
    force: bool = False


class RedistributeIn(Strict):
    reason: str = Field(default="", max_length=1000)
    dry_run: bool = False


class LeadPatch(LeadIn):
    """Any lead field; only the fields given change (company/attributes merge by key)."""


def _own_only(principal: Principal) -> int | None:
    """Staff act on any lead; a rep only on the leads they own."""
    return None if principal.is_staff else principal.rep_id


@router.post("/leads/{lead_id}/status")
def change_status(
    lead_id: PathId, body: StatusIn, svc: SvcDep, principal: AnyUser
) -> dict[str, Any]:
    """Move the lead to `status` (contacted, qualified, won, lost, disqualified, recycled).
    Illegal transitions answer 409 with the reason; lost/disqualified/recycled need one."""
    return lifecycle.change_status(
        svc, lead_id, body.status, body.reason, actor=principal.name, rep_id=_own_only(principal)
    )


@router.patch("/leads/{lead_id}")
def patch_lead(lead_id: PathId, body: LeadPatch, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    """Change lead fields; re-routes when the rulebook's `lifecycle.reroute.on_change` asks."""
    if "external_id" in body.model_fields_set:
        raise ValidationError("external_id cannot be changed", field="external_id")
    if not principal.is_staff and "score" in body.model_fields_set:
        # Scores decide routing and SLAs: a rep may not grade their own leads.
        raise Forbidden("a rep may not change a lead's score")
    patch = body.model_dump(include=body.model_fields_set)
    if "company" in patch:
        patch["company"] = body.company.model_dump(include=body.company.model_fields_set)
    return lifecycle.patch_lead(
        svc, lead_id, patch, actor=principal.name, rep_id=_own_only(principal)
    )


@router.post("/leads/{lead_id}/reassign")
def reassign_lead(
    lead_id: PathId, body: ReassignIn, svc: SvcDep, principal: Staff
) -> dict[str, Any]:
    """A manager hands the lead to a rep, with a reason (`force` past eligibility)."""
    return reassign.reassign_to(
        svc, lead_id, body.rep_id, body.reason, actor=principal.name, force=body.force
    )


class RerouteIn(Strict):
    reason: str = Field(default="", max_length=1000)


@router.post("/leads/{lead_id}/reroute")
def reroute_lead(lead_id: PathId, body: RerouteIn, svc: SvcDep, principal: Staff) -> dict[str, Any]:
    """Run the rulebook again for this lead (a recycled lead re-enters routing)."""
    return reassign.route_again(svc, lead_id, body.reason, actor=principal.name)


@router.post("/reps/{rep_id}/redistribute")
def redistribute(
    rep_id: PathId, body: RedistributeIn, svc: SvcDep, principal: Staff
) -> dict[str, Any]:
    """Send every open lead of this rep back through the rules (the rep excluded), as one
    batch; `dry_run` shows the exact outcome without changing anything."""
    return reassign.redistribute(
        svc, rep_id, reason=body.reason, dry_run=body.dry_run, actor=principal.name
    )


@router.get("/leads/{lead_id}/touches")
def lead_touches(lead_id: PathId, svc: SvcDep, principal: AnyUser) -> list[dict[str, Any]]:
    """Later submissions merged into this lead by dedup."""
    _check_visible(svc, lead_id, principal)
    with svc.db.read() as s:
        return dedup.touches(s, lead_id)


@router.get("/leads/{lead_id}/sla")
def lead_sla(lead_id: PathId, svc: SvcDep, principal: AnyUser) -> list[dict[str, Any]]:
    """The lead's SLA timers: pending, met, breached or cancelled."""
    _check_visible(svc, lead_id, principal)
    return sla.timers(svc, lead_id)


@router.get("/lifecycle/notifications")
def notifications(
    svc: SvcDep, principal: AnyUser, rep_id: int | None = None
) -> list[dict[str, Any]]:
    """SLA breaches and automatic status changes; a rep sees only their own."""
    if not principal.is_staff:
        if rep_id is not None and rep_id != principal.rep_id:
            raise Forbidden("a rep may only read their own notifications")
        rep_id = principal.rep_id
    return sla.notifications(svc, rep_id)


def _check_visible(svc: Any, lead_id: int, principal: Principal) -> None:
    lead = routing.get_lead(svc, lead_id)
    if not principal.is_staff and lead["owner_rep_id"] != principal.rep_id:
        from leadflow.errors import NotFound

        raise NotFound(f"lead {lead_id} not found")
