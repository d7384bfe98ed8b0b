"""Racing claimers on SQLite and PostgreSQL: 32 clients (threads, then processes) drain a
200-lead fifo queue with claim-next, and 32 clients race for one lead by id."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from leadflow.errors import Conflict
from leadflow.pull_schemas import QueueIn
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import org, queues, routing, rulebooks
from leadflow.services.auth import Principal, Role
from leadflow.services.claims import claim, claim_next
from leadflow.services.context import Services
from leadflow.store.db import Database
from leadflow.store.models import LeadRow
from leadflow.store.pull_models import ClaimRow
from leadflow.testing import FrozenClock

CLIENTS = 32
LEADS = 200


def _setup(svc: Services, leads: int, mode: str) -> list[Principal]:
    org.create_team(svc, TeamIn(name="floor"))
    reps = [
        org.create_rep(svc, RepIn(name=f"C{i}", email=f"c{i}@floor.example", teams=["floor"]))
        for i in range(CLIENTS)
    ]
    spec = QueueIn(name="line", mode=mode, team="floor", policies={"hoarding_cap": LEADS})
    queues.create_queue(svc, spec)
    rulebooks.save(svc, "rules: []\nfallback:\n  queue: {name: line}\n")
    for n in range(leads):
        routing.intake(svc, LeadIn(email=f"p{n}@corp.example", score=n % 100))
    return [Principal(Role.REP, r["name"], r["id"]) for r in reps]


def _drain(svc: Services, rep: Principal, start: threading.Barrier | None) -> list[int]:
    if start is not None:
        start.wait()
    got = []
    while True:
        try:
            got.append(claim_next(svc, "line", rep)["id"])
        except Conflict:
            return got


def _drain_in_process(url: str, reps: list[Principal]) -> list[int]:
    svc = Services(Database(url), FrozenClock())
    try:
        with ThreadPoolExecutor(len(reps)) as pool:
            return [i for ids in pool.map(lambda r: _drain(svc, r, None), reps) for i in ids]
    finally:
        svc.db.dispose()


def _race_in_process(url: str, lead: int, reps: list[Principal], start: Any, out: Any) -> None:
    svc = Services(Database(url), FrozenClock())

    def attempt(rep: Principal) -> str:
        start.wait()
        try:
            claim(svc, lead, rep)
            return "won"
        except Conflict as exc:
            return exc.message

    try:
        with ThreadPoolExecutor(len(reps)) as pool:
            out.put(list(pool.map(attempt, reps)))
    finally:
        svc.db.dispose()


def _assert_all_claimed_once(svc: Services, claimed: list[int]) -> None:
    assert len(claimed) == LEADS
    assert len(set(claimed)) == LEADS  # no lead claimed twice
    with svc.db.read() as s:
        waiting = s.scalar(select(func.count()).where(LeadRow.status == "queued"))
        holders = Counter(s.scalars(select(ClaimRow.lead_id).where(ClaimRow.state == "held")))
        owners = dict(s.execute(select(LeadRow.id, LeadRow.owner_rep_id)).all())
    assert waiting == 0  # none lost
    assert set(holders) == set(claimed) and max(holders.values()) == 1
    assert all(owners[i] is not None for i in claimed)


@pytest.mark.slow
class TestClaimRaces:
    def test_32_threads_drain_a_fifo_queue_exactly_once(self, svc: Services) -> None:
        reps = _setup(svc, LEADS, "fifo")
        start = threading.Barrier(CLIENTS)
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(lambda r: _drain(svc, r, start), reps))
        _assert_all_claimed_once(svc, [i for ids in results for i in ids])

    def test_32_clients_in_4_processes_drain_a_fifo_queue_exactly_once(self, svc: Services) -> None:
        reps = _setup(svc, LEADS, "fifo")
        ctx = multiprocessing.get_context("spawn")
        chunks = [reps[i::4] for i in range(4)]
        with ctx.Pool(4) as pool:
            results = pool.starmap(_drain_in_process, [(svc.db.url, c) for c in chunks])
        _assert_all_claimed_once(svc, [i for ids in results for i in ids])

    def test_32_threads_race_for_one_lead_exactly_one_wins(self, svc: Services) -> None:
        reps = _setup(svc, 1, "blind")
        lead = routing.list_leads(svc)["items"][0]["id"]
        start = threading.Barrier(CLIENTS)

        def attempt(rep: Principal) -> str:
            start.wait()
            try:
                claim(svc, lead, rep)
                return "won"
            except Conflict as exc:
                return exc.message

        with ThreadPoolExecutor(CLIENTS) as pool:
            outcomes = Counter(pool.map(attempt, reps))
        assert outcomes == {"won": 1, f"lead {lead} is not available to claim": CLIENTS - 1}
        kinds = [d["kind"] for d in routing.get_decisions(svc, lead)]
        assert kinds == ["route", "claim"]

    def test_32_clients_in_4_processes_race_for_one_lead(self, svc: Services) -> None:
        reps = _setup(svc, 1, "pool")
        lead = routing.list_leads(svc)["items"][0]["id"]
        ctx = multiprocessing.get_context("spawn")
        start, out = ctx.Barrier(CLIENTS), ctx.Queue()
        procs = [
            ctx.Process(target=_race_in_process, args=(svc.db.url, lead, reps[i::4], start, out))
            for i in range(4)
        ]
        for p in procs:
            p.start()
        outcomes = Counter(o for _ in procs for o in out.get(timeout=120))
        for p in procs:
            p.join(30)
        assert outcomes["won"] == 1
        losers = [m for m in outcomes if m != "won"]
        assert len(losers) >= 1 and all(f"lead {lead} was claimed by C" in m for m in losers)
        assert sum(outcomes.values()) == CLIENTS
