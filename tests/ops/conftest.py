"""Fixtures for operability and security tests: an in-process app over the `svc`
database (SQLite and PostgreSQL), a small organisation, and tokens for every role."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from leadflow.api.app import create_app
from leadflow.config import Settings
from leadflow.pull_schemas import QueueIn
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import auth, org, queues, routing, rulebooks
from leadflow.services.context import Services

with warnings.catch_warnings():
    # Starlette nudges towards another HTTP client; the test client itself works as is.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

ADMIN_TOKEN = "admin-secret-token-for-tests-0123456789"

RULEBOOK = """
rules:
  - name: france
    when: {company.country: {in: [FR]}}
    assign: {team: france, method: round_robin}
fallback:
  queue: unassigned
"""
#: The world's rulebook also holds German leads in a blind queue both reps pull from.
WORLD_RULEBOOK = RULEBOOK.replace("fallback:", """  - name: blind
    when: {company.country: {in: [DE]}}
    queue: {name: blind}
fallback:""")


@dataclass
class World:
    """Two reps with one lead each, a queued lead (triage), a lead waiting in a blind
    queue both reps pull from, and one token per role."""

    rep_a: dict
    rep_b: dict
    lead_a: dict
    lead_b: dict
    queued: dict
    tokens: dict[str, str]
    token_ids: dict[str, int]
    blind: dict | None = None


def build_world(svc: Services) -> World:
    org.create_team(svc, TeamIn(name="france"))
    rep_a = org.create_rep(svc, RepIn(name="Alice Alpha", email="alice@corp.example",
                                      teams=["france"]))
    rep_b = org.create_rep(svc, RepIn(name="Bruno Beta", email="bruno@corp.example",
                                      teams=["france"]))
    queues.create_queue(svc, QueueIn(name="blind", mode="blind", team="france"))
    rulebooks.save(svc, WORLD_RULEBOOK)
    first, _ = routing.intake(svc, LeadIn(email="p1@prospect-one.example",
                                          company={"country": "FR"}))
    second, _ = routing.intake(svc, LeadIn(email="p2@prospect-two.example",
                                           company={"country": "FR"}))
    queued, _ = routing.intake(svc, LeadIn(email="q@queued.example", company={"country": "US"}))
    blind, _ = routing.intake(svc, LeadIn(email="b@blind-secret.example",
                                          company={"country": "DE", "name": "BlindCo"}))
    by_owner = {first["owner_rep_id"]: first, second["owner_rep_id"]: second}
    tokens: dict[str, str] = {}
    ids: dict[str, int] = {}
    for key, role, rep_id in [
        ("admin", auth.Role.ADMIN, None),
        ("manager", auth.Role.MANAGER, None),
        ("rep", auth.Role.REP, rep_a["id"]),
        ("other_rep", auth.Role.REP, rep_b["id"]),
        ("intake", auth.Role.INTAKE, None),
    ]:
        token, view = auth.create_token(svc, role, name=key, rep_id=rep_id)
        tokens[key], ids[key] = token, view["id"]
    return World(rep_a, rep_b, by_owner[rep_a["id"]], by_owner[rep_b["id"]], queued, tokens, ids,
                 blind)


@pytest.fixture
def settings() -> Settings:
    return Settings(admin_token=SecretStr(ADMIN_TOKEN), database_url="sqlite://")


@pytest.fixture
def client(svc: Services, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, svc)) as c:
        yield c


@pytest.fixture
def world(svc: Services) -> World:
    return build_world(svc)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
