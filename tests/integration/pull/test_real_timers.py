"""Timers for real: short leases and age steps on the system clock, a worker loop in a
thread, several workers at once, and catch-up after the worker was down."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from leadflow.services import claims, routing
from leadflow.services.clock import SystemClock
from leadflow.services.context import Services
from leadflow.services.pull_timers import run_due_timers
from leadflow.services.timer_loop import TimerLoop
from leadflow.store.db import Database
from leadflow.store.pull_models import PullTimerRow
from tests.integration.pull.conftest import Pull, build_pull

SHORT = 0.01  # minutes: 0.6 s


@pytest.fixture
def live_pull(database: Database) -> Pull:
    return build_pull(Services(database, SystemClock()))


def _wait_for(check: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _status(pull: Pull, lead: int) -> str:
    return str(routing.get_lead(pull.svc, lead)["status"])


class TestRealTimers:
    def test_lease_expires_under_a_running_worker(self, live_pull: Pull) -> None:
        pull = live_pull
        pull.queue("inbound", "pool", lease_minutes=SHORT)
        pull.route_to("inbound")
        lead = pull.lead()
        loop = TimerLoop(pull.svc, interval=0.05).start()
        try:
            claims.claim(pull.svc, lead, pull.rep(0))
            _wait_for(lambda: _status(pull, lead) == "queued")
        finally:
            loop.stop()
        kinds = [d["kind"] for d in routing.get_decisions(pull.svc, lead)]
        assert kinds == ["route", "claim", "return"]

    def test_auto_assign_step_fires_for_real(self, live_pull: Pull) -> None:
        pull = live_pull
        pull.queue("inbound", "pool", policies={"auto_assign": {"after_minutes": SHORT}})
        pull.route_to("inbound")
        lead = pull.lead()
        loop = TimerLoop(pull.svc, interval=0.05).start()
        try:
            _wait_for(lambda: _status(pull, lead) == "assigned")
        finally:
            loop.stop()
        assert routing.get_decisions(pull.svc, lead)[-1]["kind"] == "auto_assign"

    def test_worker_catches_up_after_downtime_in_due_order(self, live_pull: Pull) -> None:
        """Leases end while no worker runs; on restart all return, oldest due first."""
        pull = live_pull
        pull.queue("inbound", "pool", lease_minutes=SHORT)
        pull.route_to("inbound")
        leads = [pull.lead() for _ in range(4)]
        for i, lead in enumerate(leads):
            claims.claim(pull.svc, lead, pull.rep(i))
            time.sleep(0.02)  # distinct due times
        time.sleep(SHORT * 60 + 0.3)  # the worker is "down" while all leases end
        assert all(_status(pull, lead) == "assigned" for lead in leads)
        loop = TimerLoop(pull.svc, interval=0.05).start()  # restart
        try:
            _wait_for(lambda: all(_status(pull, lead) == "queued" for lead in leads))
        finally:
            loop.stop()
        returns = sorted(
            (d["id"], d["lead_id"])
            for lead in leads
            for d in routing.get_decisions(pull.svc, lead)
            if d["kind"] == "return"
        )
        assert [lead for _, lead in returns] == leads

    def test_concurrent_workers_run_each_timer_exactly_once(self, live_pull: Pull) -> None:
        pull = live_pull
        pull.queue("inbound", "pool", lease_minutes=SHORT, policies={"hoarding_cap": 100})
        pull.route_to("inbound")
        leads = [pull.lead() for _ in range(24)]
        for i, lead in enumerate(leads):
            claims.claim(pull.svc, lead, pull.rep(i % 4))
        time.sleep(SHORT * 60 + 0.2)

        def worker(_: int) -> int:
            total = 0
            while True:
                ran = run_due_timers(pull.svc, pull.svc.clock.now(), 5)
                total += ran
                if ran == 0:
                    return total

        with ThreadPoolExecutor(4) as pool:
            ran = sum(pool.map(worker, range(4)))
        assert ran == 24  # no timer run twice, none skipped
        with pull.svc.db.read() as s:
            pending = s.scalar(select(func.count()).where(PullTimerRow.done_at.is_(None)))
        assert pending == 0
        assert all(_status(pull, lead) == "queued" for lead in leads)
