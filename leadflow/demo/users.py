"""Demo sign-ins: an admin, a manager and a rep, with fresh passwords at every start."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from leadflow.services import users
from leadflow.services.auth import Role
from leadflow.services.context import Services
from leadflow.store.models import RepRow

DEMO_USERS = (
    ("admin@demo.leadflow.dev", Role.ADMIN, None),
    ("claire.martin@demo.leadflow.dev", Role.MANAGER, "claire.martin@demo.leadflow.dev"),
    ("hugo.bernard@demo.leadflow.dev", Role.REP, "hugo.bernard@demo.leadflow.dev"),
)


def ensure_demo_users(svc: Services) -> list[tuple[str, str, str]]:
    """(email, role, password) for each demo user; passwords are new at every call."""
    out = []
    for email, role, rep_email in DEMO_USERS:
        rep_id = None
        if rep_email:
            with svc.db.read() as s:
                rep_id = s.scalar(select(RepRow.id).where(RepRow.email == rep_email))
            if rep_id is None:
                continue  # the demo organisation was changed: skip this login
        password = secrets.token_urlsafe(12)
        users.create_user(
            svc, email=email, password=password, role=role, rep_id=rep_id, replace=True
        )
        out.append((email, role.value, password))
    return out
