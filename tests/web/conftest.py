"""Web fixtures: a real uvicorn server over the test database, and signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from leadflow.api.app import create_app
from leadflow.config import Settings
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import org, routing, rulebooks, users
from leadflow.services.auth import Role
from leadflow.services.context import Services
from leadflow.testing.server import running

PASSWORD = "correct horse battery"
RULEBOOK = """\
rules:
  - name: france
    when: {company.country: FR}
    assign: {team: france, method: round_robin}
fallback:
  queue: unassigned
"""


@dataclass
class World:
    url: str
    svc: Services
    alice: int
    bob: int

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Client:
        c = self.client()
        res = login(c, email, password)
        assert res.status_code == 303, res.text
        return c


def form_csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def login(c: httpx.Client, email: str, password: str) -> httpx.Response:
    csrf = form_csrf(c.get("/login").text)
    return c.post("/login", data={"csrf": csrf, "email": email, "password": password})


def seed(svc: Services) -> tuple[int, int]:
    org.create_team(svc, TeamIn(name="france"))
    alice = org.create_rep(svc, RepIn(name="Alice", email="alice@x.example", teams=["france"]))
    bob = org.create_rep(svc, RepIn(name="Bob", email="bob@x.example", teams=["france"]))
    rulebooks.save(svc, RULEBOOK)
    for email, role, rep in (
        ("admin@x.example", Role.ADMIN, None),
        ("manager@x.example", Role.MANAGER, None),
        ("alice@x.example", Role.REP, alice["id"]),
        ("bob@x.example", Role.REP, bob["id"]),
    ):
        users.create_user(svc, email=email, password=PASSWORD, role=role, rep_id=rep)
    for n in range(4):
        routing.intake(
            svc,
            LeadIn(
                email=f"p{n}@prospect.example",
                company={"country": "FR", "name": f"Prospect {n}"},
                value=1000 * (n + 1),
            ),
        )
    routing.intake(svc, LeadIn(email="us@prospect.example", company={"country": "US"}))
    return alice["id"], bob["id"]


@pytest.fixture(autouse=True)
def light_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with small costs: the tests hash dozens of passwords on a busy CI."""
    light = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", light)
    monkeypatch.setattr(users, "_DUMMY_HASH", light.hash("dummy"))


@pytest.fixture
def world(svc: Services) -> Iterator[World]:
    alice, bob = seed(svc)
    with running(create_app(Settings(database_url=svc.db.url), svc)) as url:
        yield World(url, svc, alice, bob)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh laptop-sized tab of the module's `browser` (each browser test module
    defines `browser`, so the expensive launch happens once per module)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()
