"""Server-side web sessions: the browser holds a random id, the database its digest,
the user and a CSRF token. Logging out (or an expiry) ends it for every process.

Browsers signed in with an API token (the original token login) keep the token in
the cookie instead; their CSRF token is derived from it, so it needs no storage.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from leadflow.errors import AuthError
from leadflow.services.auth import Principal, authenticate
from leadflow.services.context import Services
from leadflow.services.due import nothing_due
from leadflow.services.users import user_from_row
from leadflow.store.web_models import UserRow, WebSessionRow

SESSION_PREFIX = "ws_"
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class WebIdentity:
    principal: Principal
    csrf: str
    email: str | None = None
    user_id: int | None = None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start(svc: Services, user_id: int, *, client: str = "") -> str:
    """A new session for the user; returns the id to put in the cookie (shown once)."""
    session_id = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = svc.clock.now()
    with svc.db.write() as s:
        s.add(
            WebSessionRow(
                id_hash=_digest(session_id),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(24),
                created_at=now,
                expires_at=now + LIFETIME,
                client=client[:200],
            )
        )
    return session_id


def end(svc: Services, session_id: str) -> None:
    with svc.db.write() as s:
        s.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == _digest(session_id)))


def identify(svc: Services, cookie: str | None, admin_token: str | None) -> WebIdentity:
    """Who holds this cookie: a web session or an API token. Raises AuthError."""
    if not cookie or len(cookie) > 200:
        raise AuthError("not signed in")
    if not cookie.startswith(SESSION_PREFIX):
        principal = authenticate(svc, cookie, admin_token)
        return WebIdentity(principal, token_csrf(cookie))
    with svc.db.read() as s:
        row = s.execute(
            select(WebSessionRow, UserRow)
            .join(UserRow, UserRow.id == WebSessionRow.user_id)
            .where(WebSessionRow.id_hash == _digest(cookie))
        ).first()
    if row is None:
        raise AuthError("session ended; sign in again")
    session, user = row
    if session.expires_at <= svc.clock.now() or not user.active:
        raise AuthError("session expired; sign in again")
    u = user_from_row(user)
    return WebIdentity(u.principal, session.csrf_token, u.email, u.id)


def token_csrf(token: str) -> str:
    return hmac.new(token.encode(), b"leadflow-csrf", hashlib.sha256).hexdigest()[:32]


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def run_due_timers(svc: Services, now: datetime, limit: int) -> int:
    """Purge expired sessions (picked up by `leadflow worker`); idempotent."""
    if nothing_due(svc, select(WebSessionRow.id_hash).where(WebSessionRow.expires_at <= now)):
        return 0
    with svc.db.write() as s:
        ids = list(
            s.scalars(
                select(WebSessionRow.id_hash).where(WebSessionRow.expires_at <= now).limit(limit)
            )
        )
        if ids:
            s.execute(delete(WebSessionRow).where(WebSessionRow.id_hash.in_(ids)))
        return len(ids)
