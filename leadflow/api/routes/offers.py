"""Offers: a rep sees and answers only their own; staff see a lead's offer history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from leadflow.api.deps import CurrentPrincipal, PathId, Staff, SvcDep
from leadflow.api.routes.notifications import rep_of
from leadflow.services import offer_views, offers

router = APIRouter(tags=["offers"])


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


@router.get("/me/offers")
def my_offers(
    svc: SvcDep,
    principal: CurrentPrincipal,
    status: Literal["pending", "accepted", "declined", "expired", "withdrawn"] | None = "pending",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[dict[str, Any]]:
    return offer_views.my_offers(svc, rep_of(principal), status, limit)


@router.get("/offers/{offer_id}")
def get_offer(offer_id: PathId, svc: SvcDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return offer_views.get_offer(svc, offer_id, rep_of(principal))


@router.post("/offers/{offer_id}/accept")
def accept(offer_id: PathId, svc: SvcDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """First accept wins; any later one answers 409 `already taken`."""
    return offers.accept(svc, offer_id, rep_of(principal))


@router.post("/offers/{offer_id}/decline")
def decline(
    offer_id: PathId, svc: SvcDep, principal: CurrentPrincipal, body: DeclineIn | None = None
) -> dict[str, Any]:
    return offers.decline(svc, offer_id, rep_of(principal), body.reason if body else "")


@router.get("/leads/{lead_id}/offers")
def lead_offers(lead_id: PathId, svc: SvcDep, _: Staff) -> list[dict[str, Any]]:
    return offer_views.campaigns_of(svc, lead_id)
