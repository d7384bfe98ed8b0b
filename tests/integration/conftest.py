"""Builders for integration tests: a team of reps and an active rulebook, via the services."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from leadflow.api.app import create_app
from leadflow.config import Settings
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import org, routing, rulebooks
from leadflow.services.auth import Role, create_token
from leadflow.services.context import Services

with warnings.catch_warnings():
    # Starlette now prefers the `httpx2` fork and warns at import; plain httpx (already a
    # dependency) drives the TestClient just the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

ROUND_ROBIN_FR = """
rules:
  - name: france
    when: {company.country: {in: [FR, BE]}}
    assign: {team: france, method: round_robin}
fallback:
  queue: unassigned
"""


def make_team(svc: Services, team: str, n: int, **rep_fields: Any) -> list[int]:
    """Create `team` with n reps (e-mails `<team><i>@x.example`); returns their ids."""
    org.create_team(svc, TeamIn(name=team))
    return [
        org.create_rep(
            svc, RepIn(name=f"{team} {i}", email=f"{team}{i}@x.example", teams=[team], **rep_fields)
        )["id"]
        for i in range(n)
    ]


def post(svc: Services, **lead: Any) -> dict[str, Any]:
    view, _ = routing.intake(svc, LeadIn.model_validate(lead))
    return view


def french_team(svc: Services, n: int = 3, **rep_fields: Any) -> list[int]:
    ids = make_team(svc, "france", n, **rep_fields)
    rulebooks.save(svc, ROUND_ROBIN_FR)
    return ids


ADMIN_TOKEN = "test-admin-token"


@pytest.fixture
def api(svc: Services) -> Iterator[TestClient]:
    """The real app in-process on the parametrised database, authenticated as admin."""
    settings = Settings(database_url=svc.db.url, admin_token=ADMIN_TOKEN)
    with TestClient(create_app(settings, svc)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield client


def bearer(svc: Services, role: Role, rep_id: int | None = None) -> dict[str, str]:
    token, _ = create_token(svc, role, rep_id=rep_id)
    return {"Authorization": f"Bearer {token}"}
