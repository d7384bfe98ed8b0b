from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from leadflow.api.deps import AnyUser, PathId, Staff, SvcDep
from leadflow.errors import Forbidden
from leadflow.schemas import AbsenceIn, RepIn, RepPatch
from leadflow.services import org
from leadflow.services.auth import Principal, Role

router = APIRouter(prefix="/reps", tags=["reps"])


def _self_or_staff(principal: Principal, rep_id: int) -> None:
    if not principal.is_staff and principal.rep_id != rep_id:
        raise Forbidden("a rep may only see or change their own record")


@router.post("", status_code=status.HTTP_201_CREATED)
def create_rep(body: RepIn, svc: SvcDep, _: Staff) -> dict[str, Any]:
    return org.create_rep(svc, body)


@router.get("")
def list_reps(
    svc: SvcDep, _: Staff, team: str | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    return org.list_reps(svc, team=team, active=active)


@router.get("/{rep_id}")
def get_rep(rep_id: PathId, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    _self_or_staff(principal, rep_id)
    return org.get_rep(svc, rep_id)


@router.patch("/{rep_id}")
def patch_rep(rep_id: PathId, body: RepPatch, svc: SvcDep, principal: AnyUser) -> dict[str, Any]:
    _self_or_staff(principal, rep_id)
    if principal.role is Role.REP and body.model_fields_set - {"status"}:
        raise Forbidden("a rep may only change their own `status`")
    return org.update_rep(svc, rep_id, body)


@router.post("/{rep_id}/out-of-office", status_code=status.HTTP_201_CREATED)
def add_out_of_office(
    rep_id: PathId, body: AbsenceIn, svc: SvcDep, principal: AnyUser
) -> dict[str, Any]:
    _self_or_staff(principal, rep_id)
    return org.add_absence(svc, rep_id, body)


@router.delete("/{rep_id}/out-of-office/{absence_id}", status_code=204)
def delete_out_of_office(
    rep_id: PathId, absence_id: PathId, svc: SvcDep, principal: AnyUser
) -> Response:
    _self_or_staff(principal, rep_id)
    org.delete_absence(svc, rep_id, absence_id)
    return Response(status_code=204)
