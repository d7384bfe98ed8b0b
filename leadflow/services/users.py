"""Web users: e-mail + password (argon2id), a role, optionally the rep they are.

Sign-in is rate limited per e-mail and per client address, with the failures kept in
the database so every process counts the same attempts. Passwords are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError
from sqlalchemy import delete, func, select

from leadflow.errors import AuthError, Conflict, LeadflowError, NotFound, ValidationError
from leadflow.schemas import Email
from leadflow.services.auth import Principal, Role
from leadflow.services.context import Services
from leadflow.store.models import RepRow
from leadflow.store.web_models import LoginAttemptRow, UserRow

WEB_ROLES = (Role.ADMIN, Role.MANAGER, Role.REP)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 would hash megabytes happily: bound the work per request
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 20

_hasher = PasswordHasher()
_email = TypeAdapter(Email)
# Verified when the e-mail is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("leadflow-dummy-password")


class TooManyAttempts(LeadflowError):
    status_code = 429


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    name: str
    role: Role
    rep_id: int | None

    @property
    def principal(self) -> Principal:
        return Principal(self.role, self.name or self.email, self.rep_id)


def user_from_row(row: UserRow) -> User:
    return User(row.id, row.email, row.name, Role(row.role), row.rep_id)


def normalise_email(value: str) -> str:
    try:
        return _email.validate_python(value)
    except PydanticError as exc:
        raise ValidationError(exc.errors()[0]["msg"], field="email") from None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValidationError(
            f"a password needs at least {MIN_PASSWORD} characters", field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise ValidationError(f"a password has at most {MAX_PASSWORD} characters", field="password")


def create_user(
    svc: Services,
    *,
    email: str,
    password: str,
    role: Role | str,
    rep_id: int | None = None,
    name: str = "",
    replace: bool = False,
) -> dict[str, Any]:
    """A new user (or, with `replace`, a new password/role for an existing one)."""
    email = normalise_email(email)
    check_password(password)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(
            f"unknown role {role!r}; use admin, manager or rep", field="role"
        ) from None
    if role not in WEB_ROLES:
        raise ValidationError("web users are admin, manager or rep", field="role")
    if role is Role.REP and rep_id is None:
        raise ValidationError("a rep user needs the rep it is (--rep)", field="rep")
    digest = _hasher.hash(password)
    with svc.db.write() as s:
        rep = s.get(RepRow, rep_id) if rep_id is not None else None
        if rep_id is not None and rep is None:
            raise ValidationError(f"rep {rep_id} not found", field="rep")
        row = s.scalar(select(UserRow).where(UserRow.email == email))
        if row is not None and not replace:
            raise Conflict(f"a user with e-mail {email} already exists", field="email")
        if row is None:
            row = UserRow(email=email, created_at=svc.clock.now(), active=True)
            s.add(row)
        row.password_hash = digest
        row.role = role.value
        row.rep_id = rep_id
        row.name = name or (rep.name if rep else "") or email.split("@")[0]
        row.active = True
        s.flush()
        return user_view(row)


def user_view(row: UserRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "email": row.email,
        "name": row.name,
        "role": row.role,
        "rep_id": row.rep_id,
        "active": row.active,
        "created_at": row.created_at,
        "last_login_at": row.last_login_at,
    }


def list_users(svc: Services) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        return [user_view(r) for r in s.scalars(select(UserRow).order_by(UserRow.email))]


def get_user(svc: Services, user_id: int) -> User:
    with svc.db.read() as s:
        row = s.get(UserRow, user_id)
        if row is None or not row.active:
            raise NotFound(f"user {user_id} not found")
        return user_from_row(row)


def sign_in(svc: Services, email: str, password: str, *, client: str) -> User:
    """Check a password; raises AuthError (wrong) or TooManyAttempts (rate limited)."""
    email = email.strip().lower()[:320]
    keys = (f"email:{email}", f"client:{client[:200]}")
    now = svc.clock.now()
    with svc.db.read() as s:
        _check_rate(s, keys, now)
        row = s.scalar(select(UserRow).where(UserRow.email == email, UserRow.active.is_(True)))
        stored = row.password_hash if row is not None else _DUMMY_HASH
    ok = _verify(stored, password[:MAX_PASSWORD]) and row is not None
    with svc.db.write() as s:
        if not ok:
            s.add_all(LoginAttemptRow(key=k, at=now) for k in keys)
            s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < now - WINDOW))
        else:
            assert row is not None
            s.execute(delete(LoginAttemptRow).where(LoginAttemptRow.key == keys[0]))
            fresh = s.get(UserRow, row.id)
            assert fresh is not None
            fresh.last_login_at = now
            if _hasher.check_needs_rehash(fresh.password_hash):
                fresh.password_hash = _hasher.hash(password)
    if not ok:
        raise AuthError("wrong e-mail or password")
    assert row is not None
    return user_from_row(row)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_rate(s: Any, keys: tuple[str, str], now: Any) -> None:
    limits = (MAX_FAILURES_PER_EMAIL, MAX_FAILURES_PER_CLIENT)
    for key, limit in zip(keys, limits, strict=True):
        failures = s.scalar(
            select(func.count())
            .select_from(LoginAttemptRow)
            .where(LoginAttemptRow.key == key, LoginAttemptRow.at > now - WINDOW)
        )
        if failures >= limit:
            minutes = int(WINDOW.total_seconds() // 60)
            raise TooManyAttempts(f"too many failed sign-ins; wait {minutes} minutes and try again")
