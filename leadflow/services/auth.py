"""API tokens and roles. Only a SHA-256 digest of each token is stored; tokens never logged."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from leadflow.errors import AuthError, NotFound, ValidationError
from leadflow.services.context import Services
from leadflow.store.models import RepRow, TokenRow

TOKEN_PREFIX = "lf_"


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    REP = "rep"
    INTAKE = "intake"  # may only create leads: for web forms


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    name: str
    rep_id: int | None = None
    token_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ADMIN, Role.MANAGER)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    svc: Services,
    role: Role,
    *,
    name: str = "",
    rep_id: int | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """A new token (shown once) and its record. `expires_at`: refused from then on."""
    if role is Role.REP and rep_id is None:
        raise ValidationError("a rep token needs the rep it belongs to", field="rep_id")
    if expires_at is not None and expires_at <= svc.clock.now():
        raise ValidationError("expires_at must be in the future", field="expires_at")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with svc.db.write() as s:
        if rep_id is not None and s.get(RepRow, rep_id) is None:
            raise ValidationError(f"rep {rep_id} not found", field="rep_id")
        row = TokenRow(
            name=name or role.value,
            token_hash=digest(token),
            role=role.value,
            rep_id=rep_id,
            created_at=svc.clock.now(),
            expires_at=expires_at,
        )
        s.add(row)
        s.flush()
        return token, token_view(row)


def token_view(row: TokenRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "rep_id": row.rep_id,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
        "expires_at": row.expires_at,
    }


def list_tokens(svc: Services) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        return [token_view(r) for r in s.scalars(select(TokenRow).order_by(TokenRow.id))]


def revoke_token(svc: Services, token_id: int) -> dict[str, Any]:
    with svc.db.write() as s:
        row = s.get(TokenRow, token_id)
        if row is None:
            raise NotFound(f"token {token_id} not found")
        if row.revoked_at is None:
            row.revoked_at = svc.clock.now()
        return token_view(row)


def authenticate(svc: Services, token: str | None, admin_token: str | None) -> Principal:
    if not token:
        raise AuthError("missing credentials: send `Authorization: Bearer <token>`")
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal(Role.ADMIN, "admin (LEADFLOW_ADMIN_TOKEN)")
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise AuthError("invalid token")
    with svc.db.read() as s:
        row = s.scalar(select(TokenRow).where(TokenRow.token_hash == digest(token)))
        if row is None or row.revoked_at is not None:
            raise AuthError("invalid or revoked token")
        if row.expires_at is not None and row.expires_at <= svc.clock.now():
            raise AuthError("token expired: ask an admin for a new one")
        return Principal(Role(row.role), row.name, row.rep_id, row.id)
