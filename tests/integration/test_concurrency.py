"""Concurrent intake: row locks (PostgreSQL) and BEGIN IMMEDIATE (SQLite) keep rotations
and caps exact.

Each thread has its own Services and connection pool, like separate server processes.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from leadflow.schemas import LeadIn
from leadflow.services import routing
from leadflow.services.context import Services
from leadflow.store.db import Database
from leadflow.store.models import DecisionRow, RotationRow
from leadflow.testing import FrozenClock
from tests.conftest import fresh_database
from tests.integration.conftest import french_team

THREADS = 32
PER_THREAD = 2


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Services]:
    db = fresh_database("postgres", request, tmp_path)
    yield Services(db, FrozenClock())
    db.dispose()


def run_together(n: int, work: Callable[[Services, int], Any], url: str) -> list[Any]:
    """Start n threads that each call `work` at the same instant; re-raise any failure."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def body(i: int) -> None:
        db = Database(url)
        try:
            own = Services(db, FrozenClock())
            barrier.wait(timeout=30)
            results[i] = work(own, i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    return results


def post_french(svc: Services, i: int) -> list[dict[str, Any]]:
    lead = LeadIn.model_validate({"company": {"country": "FR"}})
    return [routing.intake(svc, lead)[0] for _ in range(PER_THREAD)]


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"]
)
def test_concurrent_round_robin_neither_skips_nor_doubles_a_turn(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """64 leads from 32 threads at once among 5 reps: counts differ by at most one, and
    the rotation turns recorded in the decisions are exactly 1..64, each once."""
    svc = Services(fresh_database(backend, request, tmp_path), FrozenClock())
    ids = french_team(svc, 5)
    results = run_together(THREADS, post_french, svc.db.url)
    leads = [lead for batch in results for lead in batch]
    total = THREADS * PER_THREAD
    assert len({x["id"] for x in leads}) == total
    counts = Counter(x["owner_rep_id"] for x in leads)
    assert set(counts) == set(ids)
    assert max(counts.values()) - min(counts.values()) <= 1
    with svc.db.read() as s:
        reasons = list(s.scalars(select(DecisionRow.reason)))
        state = s.scalar(select(RotationRow.state))
    turns = sorted(int(t) for r in reasons for t in re.findall(r"^turn (\d+):", r))
    assert turns == list(range(1, total + 1))
    assert state is not None and state["_seq"] == total
    svc.db.dispose()


@pytest.mark.postgres
def test_concurrent_intake_never_exceeds_a_cap(pg: Services) -> None:
    """3 reps capped at 5 leads a day, 64 leads at once: exactly 15 assigned, 5 each."""
    ids = french_team(pg, 3, capacity={"max_per_day": 5})
    leads = [x for batch in run_together(THREADS, post_french, pg.db.url) for x in batch]
    counts = Counter(x["owner_rep_id"] for x in leads if x["status"] == "assigned")
    assert counts == {rep_id: 5 for rep_id in ids}
    assert sum(x["status"] == "queued" for x in leads) == THREADS * PER_THREAD - 15


@pytest.mark.postgres
def test_concurrent_retries_with_one_external_id_make_one_lead(pg: Services) -> None:
    """The same external_id posted by 16 threads at once: one lead, one decision."""
    french_team(pg, 2)
    lead = LeadIn.model_validate({"external_id": "crm-7", "company": {"country": "FR"}})

    def post(svc: Services, i: int) -> tuple[int, bool]:
        view, created = routing.intake(svc, lead)
        return view["id"], created

    results = run_together(16, post, pg.db.url)
    assert len({lead_id for lead_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with pg.db.read() as s:
        assert len(list(s.scalars(select(DecisionRow.id)))) == 1
