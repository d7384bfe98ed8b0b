"""A small pull world behind a real uvicorn server: a pool queue, a blind queue, the
triage queue, an SLA of one hour, reps with web sign-ins."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from leadflow.api.app import create_app
from leadflow.config import Settings
from leadflow.pull_schemas import QueueIn
from leadflow.schemas import LeadIn
from leadflow.services import queues, routing, rulebooks
from leadflow.services.context import Services
from leadflow.store.db import Database
from leadflow.testing import FrozenClock
from leadflow.testing.server import running
from tests.web.conftest import PASSWORD, login, seed

RULEBOOK = """\
rules:
  - name: pooled
    when: {source: pool}
    queue: {name: inbound}
  - name: hidden
    when: {source: blind}
    queue: {name: vault}
  - name: france
    when: {company.country: FR}
    assign: {team: france, method: round_robin}
fallback:
  queue: unassigned
lifecycle:
  sla:
    default: {name: standard, within: 1h}
"""
POOL_COMPANIES = ("Acme Pool Widgets", "Globex Pool Systems")
BLIND_COMPANY = "Hidden Vault Industries"


@dataclass
class PullWorld:
    url: str
    svc: Services
    alice: int
    bob: int
    pool: list[int]
    blind: int
    triage: int

    def sign_in(self, email: str) -> httpx.Client:
        c = httpx.Client(base_url=self.url, timeout=10)
        assert login(c, email, PASSWORD).status_code == 303
        return c


def build(svc: Services) -> tuple[int, int, list[int], int, int]:
    alice, bob = seed(svc)  # team france, Alice and Bob, users, 4 FR leads, 1 US (triage)
    queues.create_queue(svc, QueueIn(name="inbound", mode="pool", team="france"))
    queues.create_queue(svc, QueueIn(name="vault", mode="blind", team="france"))
    rulebooks.save(svc, RULEBOOK)
    pool = [
        routing.intake(
            svc,
            LeadIn(
                email=f"buyer{i}@pool.example",
                source="pool",
                company={"name": name, "country": "FR", "industry": "software"},
            ),
        )[0]["id"]
        for i, name in enumerate(POOL_COMPANIES)
    ]
    blind = routing.intake(
        svc,
        LeadIn(email="ceo@vault.example", source="blind", company={"name": BLIND_COMPANY}),
    )[0]["id"]
    triage = routing.intake(
        svc, LeadIn(email="ops@nowhere.example", company={"name": "Nowhere Ltd", "country": "US"})
    )[0]["id"]
    return alice, bob, pool, blind, triage


@pytest.fixture
def pull(svc: Services) -> Iterator[PullWorld]:
    """Over the parametrised database (SQLite file and PostgreSQL)."""
    alice, bob, pool, blind, triage = build(svc)
    with running(create_app(Settings(database_url=svc.db.url), svc)) as url:
        yield PullWorld(url, svc, alice, bob, pool, blind, triage)


@pytest.fixture
def pull_sqlite(tmp_path: Path) -> Iterator[PullWorld]:
    """Over a temporary SQLite file (the browser tests)."""
    db = Database(f"sqlite:///{tmp_path / 'leadflow.db'}")
    db.upgrade()
    # The pages count down against the browser's real clock: start the frozen one at now.
    svc = Services(db, FrozenClock(datetime.now(UTC)))
    alice, bob, pool, blind, triage = build(svc)
    try:
        with running(create_app(Settings(database_url=db.url), svc)) as url:
            yield PullWorld(url, svc, alice, bob, pool, blind, triage)
    finally:
        db.dispose()
