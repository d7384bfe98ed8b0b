"""Lead lifecycle: status changes, field edits, manual reassignment, redistribution."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from leadflow.api.deps import AnyUser, SvcDep
from leadflow.errors import ValidationError
from leadflow.schemas import LeadIn, Strict
from leadflow.services import lifecycle
from leadflow.services.auth import Principal

router = APIRouter(tags=["lifecycle"])


class StatusIn(Strict):
    status: str = Field(min_length=1, max_length=16)
    reason: str = Field(default="", max_length=1000)


class LeadPatch(LeadIn):
    """Any lead field; only the fields given change (company/attributes merge by key)."""


def _own_only(principal: Principal) -> int | None:
    """Staff act on any lead; a rep only on the leads they own."""
    return None if principal.is_staff else principal.rep_id


@router.post("/leads/{lead_id}/status")
def change_status(lead_id: int, body: StatusIn, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    """Move the lead to `status` (contacted, qualified, won, lost, disqualified, recycled).
    Illegal transitions answer 409 with the reason; lost/disqualified/recycled need one."""
    return lifecycle.change_status(
        svc, lead_id, body.status, body.reason, actor=principal.name, rep_id=_own_only(principal)
    )


@router.patch("/leads/{lead_id}")
def patch_lead(lead_id: int, body: LeadPatch, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    """Change lead fields; re-routes when the rulebook's `lifecycle.reroute.on_change` asks."""
    if "external_id" in body.model_fields_set:
        raise ValidationError("external_id cannot be changed", field="external_id")
    patch = body.model_dump(include=body.model_fields_set)
    if "company" in patch:
        patch["company"] = body.company.model_dump(include=body.company.model_fields_set)
    return lifecycle.patch_lead(
        svc, lead_id, patch, actor=principal.name, rep_id=_own_only(principal)
    )
