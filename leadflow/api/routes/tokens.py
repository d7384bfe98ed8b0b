from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import AwareDatetime, BaseModel, Field

from leadflow.api.deps import Admin, PathId, SvcDep
from leadflow.schemas import Id
from leadflow.services import auth

router = APIRouter(prefix="/tokens", tags=["auth"])


class TokenIn(BaseModel):
    role: auth.Role
    name: str = Field(default="", max_length=200)
    rep_id: Id | None = None
    expires_at: AwareDatetime | None = Field(
        default=None, description="refused from this instant on (ISO 8601 with offset)"
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenIn, svc: SvcDep, _: Admin) -> dict[str, Any]:
    """The token is in the answer once; only its digest is stored."""
    token, view = auth.create_token(
        svc, body.role, name=body.name, rep_id=body.rep_id, expires_at=body.expires_at
    )
    return {**view, "token": token}


@router.get("")
def list_tokens(svc: SvcDep, _: Admin) -> list[dict[str, Any]]:
    return auth.list_tokens(svc)


@router.post("/{token_id}/revoke")
def revoke(token_id: PathId, svc: SvcDep, _: Admin) -> dict[str, Any]:
    return auth.revoke_token(svc, token_id)


@router.delete("/{token_id}")
def delete_token(token_id: PathId, svc: SvcDep, _: Admin) -> dict[str, Any]:
    """Revoke a token: refused from now on. The record stays (with `revoked_at`) so the
    audit trail still names who did what with it; revoking twice is harmless."""
    return auth.revoke_token(svc, token_id)
