"""Teams, territories, accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from leadflow.api.deps import Staff, SvcDep
from leadflow.schemas import AccountIn, RowId, TeamIn, TerritoryIn
from leadflow.services import org

router = APIRouter(tags=["organisation"])


class ManagerIn(BaseModel):
    manager_rep_id: RowId | None


@router.post("/teams", status_code=status.HTTP_201_CREATED)
def create_team(body: TeamIn, svc: SvcDep, _: Staff) -> dict[str, Any]:
    return org.create_team(svc, body)


@router.get("/teams")
def list_teams(svc: SvcDep, _: Staff) -> list[dict[str, Any]]:
    return org.list_teams(svc)


@router.patch("/teams/{name}")
def set_manager(name: str, body: ManagerIn, svc: SvcDep, _: Staff) -> dict[str, Any]:
    return org.set_team_manager(svc, name, body.manager_rep_id)


@router.post("/territories", status_code=status.HTTP_201_CREATED)
def create_territory(body: TerritoryIn, svc: SvcDep, _: Staff) -> dict[str, Any]:
    return org.create_territory(svc, body)


@router.get("/territories")
def list_territories(svc: SvcDep, _: Staff) -> list[dict[str, Any]]:
    return org.list_territories(svc)


@router.post("/accounts", status_code=status.HTTP_201_CREATED)
def create_account(body: AccountIn, svc: SvcDep, _: Staff) -> dict[str, Any]:
    return org.create_account(svc, body)


@router.get("/accounts")
def list_accounts(
    svc: SvcDep,
    _: Staff,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> list[dict[str, Any]]:
    return org.list_accounts(svc, limit, offset)
