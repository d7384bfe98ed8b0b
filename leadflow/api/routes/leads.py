"""Lead intake, reading, decision traces, dry-run."""

from __future__ import annotations

from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Header, Query, Response, status

from leadflow.api.deps import AnyUser, Intake, PathId, QueryId, Staff, SvcDep
from leadflow.errors import Forbidden, NotFound
from leadflow.schemas import MAX_ID, LeadIn
from leadflow.services import routing
from leadflow.services.auth import Principal, Role
from leadflow.services.context import Services
from leadflow.services.visibility import decision_for_rep

router = APIRouter(tags=["leads"])


@router.post(
    "/leads",
    status_code=status.HTTP_201_CREATED,
    response_model=dict[str, Any],  # documented as before; the body is encoded below
    responses={200: {"description": "a repeat (same external_id or Idempotency-Key): the "
                     "lead first created; nothing new is stored"}},
)
async def create_lead(
    body: LeadIn,
    svc: SvcDep,
    principal: Intake,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> Response:
    """Store and route a lead. A repeated `external_id` / `Idempotency-Key` answers 200
    with the lead first created, and creates nothing."""
    return await take_lead(svc, body, principal, idempotency_key)


async def take_lead(
    svc: Services, body: LeadIn, principal: Principal, idempotency_key: str | None
) -> Response:
    """`create_lead`'s work, once the request is validated and its caller allowed (also
    run by `leadflow.api.fast_intake`)."""
    # Async: the request awaits its group commit instead of holding a pool thread.
    view, created = await routing.intake_async(
        svc, body, idempotency_key=idempotency_key, actor=principal.name
    )
    if principal.role is Role.INTAKE:
        # A web form learns only that the lead was accepted.
        view = {"id": view["id"], "status": view["status"]}
    # The hottest route: encoded by pydantic's serializer directly, which writes what the
    # generic path (validate against `dict[str, Any]`, copy, then serialize) would write.
    return Response(
        pydantic_core.to_json(view),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        media_type="application/json",
    )


def _visible(principal: Principal, lead: dict[str, Any]) -> dict[str, Any]:
    if principal.is_staff or lead["owner_rep_id"] == principal.rep_id:
        return lead
    # Reps cannot probe for leads that are not theirs: same answer as a missing id.
    raise NotFound(f"lead {lead['id']} not found")


@router.get("/leads")
def list_leads(
    svc: SvcDep,
    principal: AnyUser,
    owner: QueryId = None,
    status: str | None = Query(default=None, max_length=16),
    queue: str | None = Query(default=None, max_length=100),
    territory: str | None = Query(default=None, max_length=100),
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the `next` of the previous page")
    ] = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    if not principal.is_staff:
        if owner is not None and owner != principal.rep_id:
            raise Forbidden("a rep may only list their own leads")
        owner = principal.rep_id
    return routing.list_leads(
        svc,
        owner=owner,
        status=status,
        queue=queue,
        territory=territory,
        before=before,
        limit=limit,
    )


@router.get("/leads/{lead_id}")
def get_lead(lead_id: PathId, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    return _visible(principal, routing.get_lead(svc, lead_id))


@router.get("/leads/{lead_id}/decisions")
def get_decisions(lead_id: PathId, svc: SvcDep, principal: AnyUser) -> list[dict[str, Any]]:
    _visible(principal, routing.get_lead(svc, lead_id))
    decisions = routing.get_decisions(svc, lead_id)
    if principal.is_staff:
        return decisions
    return [decision_for_rep(d, principal.rep_id) for d in decisions]


@router.post("/route/dry-run")
def dry_run(body: LeadIn, svc: SvcDep, _: Staff) -> dict[str, Any]:
    """Where would this lead go, and why? Nothing is stored."""
    return routing.dry_run(svc, body)
