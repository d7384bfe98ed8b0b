"""SLA paths with a frozen clock, for real with short timers, and with two workers."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from leadflow.schemas import RepPatch
from leadflow.services import lifecycle, org, routing, sla
from leadflow.services.context import Services
from leadflow.services.timers import run_all_due
from leadflow.store.db import Database
from leadflow.testing import FrozenClock
from tests.integration.lifecycle.conftest import activate, add_lead, make_org

HOT_5M = {
    "sla": {
        "policies": [{"name": "hot", "when": {"score": {"gte": 50}}, "within": "5m"}],
        "default": {"name": "standard", "within": "1h"},
        "max_reassignments": 2,
        "away_after_misses": 3,
    }
}


def _sla(**overrides: Any) -> dict[str, Any]:
    return {"sla": {**HOT_5M["sla"], **overrides}}


def _kinds(svc: Services, lead_id: int) -> list[str]:
    return [d["kind"] for d in routing.get_decisions(svc, lead_id)]


class TestSlaWithFrozenClock:
    def test_hot_lead_gets_5_minutes_others_an_hour(self, svc: Services) -> None:
        make_org(svc)
        activate(svc, HOT_5M)
        hot = add_lead(svc, email="h@x.example", score=80)
        cold = add_lead(svc, email="c@x.example", score=10)
        (t_hot,) = sla.timers(svc, hot["id"])
        (t_cold,) = sla.timers(svc, cold["id"])
        start = svc.clock.now()
        assert (t_hot["policy"], (t_hot["due_at"] - start).total_seconds()) == ("hot", 300)
        assert (t_cold["policy"], (t_cold["due_at"] - start).total_seconds()) == ("standard", 3600)

    def test_contact_in_time_meets_the_sla(self, svc: Services, clock: FrozenClock) -> None:
        make_org(svc)
        activate(svc, HOT_5M)
        lead = add_lead(svc, score=80)
        clock.advance(minutes=4)
        lifecycle.change_status(svc, lead["id"], "contacted")
        clock.advance(minutes=10)
        assert sla.run_due_timers(svc, clock.now()) == 0
        assert [t["state"] for t in sla.timers(svc, lead["id"])] == ["met"]
        assert routing.get_lead(svc, lead["id"])["owner_rep_id"] == lead["owner_rep_id"]

    def test_breach_reassigns_to_another_rep_and_notifies(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """Missed 5 minutes: the lead moves to the next rep; rep and manager are told."""
        ids = make_org(svc, manager=True)
        boss = ids[-1]
        activate(svc, HOT_5M)
        lead = add_lead(svc, score=80)
        first = lead["owner_rep_id"]
        clock.advance(minutes=4)
        assert sla.run_due_timers(svc, clock.now()) == 0
        clock.advance(minutes=2)
        assert sla.run_due_timers(svc, clock.now()) == 1
        after = routing.get_lead(svc, lead["id"])
        assert after["owner_rep_id"] not in (None, first)
        last = routing.get_decisions(svc, lead["id"])[-1]
        assert last["kind"] == "sla_reassign"
        assert last["reason"].startswith("SLA hot missed by R")
        assert first in last["trace"]["excluded_reps"]
        states = [(t["rep_id"], t["state"]) for t in sla.timers(svc, lead["id"])]
        assert states == [(first, "breached"), (after["owner_rep_id"], "pending")]
        told = {n["rep_id"] for n in sla.notifications(svc)}
        assert told == {first, boss}
        assert sla.run_due_timers(svc, clock.now()) == 0  # idempotent: nothing left due

    def test_never_back_to_a_previous_owner(self, svc: Services, clock: FrozenClock) -> None:
        """Two reps, two breaches: the lead ends in the fallback queue, not back with rep 1."""
        make_org(svc, reps=2)
        activate(svc, _sla(max_reassignments=5, away_after_misses=None))
        lead = add_lead(svc, score=80)
        owners = [lead["owner_rep_id"]]
        for _ in range(2):
            clock.advance(minutes=6)
            assert sla.run_due_timers(svc, clock.now()) == 1
            owners.append(routing.get_lead(svc, lead["id"])["owner_rep_id"])
        assert owners[1] not in (None, owners[0])
        final = routing.get_lead(svc, lead["id"])
        assert (final["status"], final["queue"], final["owner_rep_id"]) == (
            "queued",
            "unassigned",
            None,
        )

    def test_escalate_policy_keeps_owner_and_tells_manager(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        ids = make_org(svc, manager=True)
        activate(svc, _sla(default={"name": "std", "within": "1h", "on_breach": "escalate"}))
        lead = add_lead(svc, score=10)
        clock.advance(hours=2)
        assert sla.run_due_timers(svc, clock.now()) == 1
        assert routing.get_lead(svc, lead["id"])["owner_rep_id"] == lead["owner_rep_id"]
        last = routing.get_decisions(svc, lead["id"])[-1]
        assert last["kind"] == "sla_escalate" and "escalated to Boss" in last["reason"]
        assert last["trace"]["manager_rep_id"] == ids[-1]
        assert ids[-1] in {n["rep_id"] for n in sla.notifications(svc)}

    def test_after_max_reassignments_the_breach_escalates(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        make_org(svc, reps=4, manager=True)
        activate(svc, _sla(max_reassignments=1, away_after_misses=None))
        lead = add_lead(svc, score=80)
        for _ in range(2):
            clock.advance(minutes=6)
            sla.run_due_timers(svc, clock.now())
        assert _kinds(svc, lead["id"]) == ["route", "sla_reassign", "sla_escalate"]

    def test_three_misses_in_a_row_set_the_rep_away(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """After 3 straight misses the rep is away; the rotation stops feeding them."""
        ids = make_org(svc, reps=2)
        activate(svc, _sla(max_reassignments=0))  # escalate at once: leads stay put
        victim = None
        for n in range(6):
            lead = add_lead(svc, email=f"l{n}@x.example", score=80)
            victim = victim or lead["owner_rep_id"]
        clock.advance(minutes=6)
        sla.run_due_timers(svc, clock.now())
        away = [r["id"] for r in org.list_reps(svc) if r["status"] == "away"]
        assert sorted(away) == sorted(ids)  # both missed 3 in a row
        kinds = {n["kind"] for n in sla.notifications(svc)}
        assert "rep.set_away" in kinds
        org.update_rep(svc, victim, RepPatch(status="available"))
        fresh = add_lead(svc, email="new@x.example", score=80)
        assert fresh["owner_rep_id"] == victim  # the only available rep

    def test_a_met_sla_resets_the_streak(self, svc: Services, clock: FrozenClock) -> None:
        ids = make_org(svc, reps=1)
        activate(svc, _sla(max_reassignments=0, away_after_misses=2))
        a = add_lead(svc, email="a@x.example", score=80)
        clock.advance(minutes=6)
        sla.run_due_timers(svc, clock.now())  # miss 1
        b = add_lead(svc, email="b@x.example", score=80)
        lifecycle.change_status(svc, b["id"], "contacted")  # met: streak back to 0
        add_lead(svc, email="c@x.example", score=80)
        clock.advance(minutes=6)
        sla.run_due_timers(svc, clock.now())  # miss 1 again, not 2
        assert org.get_rep(svc, ids[0])["status"] == "available"
        assert a["owner_rep_id"] == ids[0]

    def test_business_hours_policy_waits_for_the_rep_morning(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        hours = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
        make_org(svc, reps=1, working_hours=hours, timezone="UTC")
        policy = {"name": "bh", "within": "5m", "business_hours": True}
        activate(svc, _sla(policies=[policy], default=None))
        clock.at = clock.at.replace(hour=17, minute=58)
        lead = add_lead(svc)
        (timer,) = sla.timers(svc, lead["id"])
        assert timer["due_at"].isoformat() == "2026-03-03T09:03:00+00:00"

    def test_sla_rules_are_validated_with_the_rulebook(self, svc: Services) -> None:
        from leadflow.errors import RulebookError

        make_org(svc)
        with pytest.raises(RulebookError) as info:
            activate(svc, _sla(default={"name": "x", "within": "soon"}))
        assert "lifecycle.sla.default.within" in info.value.message
        assert "not a duration" in info.value.message


class TestSlaForReal:
    def test_short_timer_breaches_on_the_real_clock(self, database: Database) -> None:
        """A 1-second SLA, the system clock, and the worker's own entry point."""
        svc = Services(database)  # SystemClock
        make_org(svc)
        activate(svc, _sla(policies=[{"name": "fast", "within": "1s"}], default=None))
        lead = add_lead(svc, score=80)
        assert run_all_due(svc)["sla"] == 0
        time.sleep(1.3)
        assert run_all_due(svc)["sla"] == 1
        assert routing.get_lead(svc, lead["id"])["owner_rep_id"] != lead["owner_rep_id"]

    def test_two_workers_handle_each_breach_once(self, svc: Services, clock: FrozenClock) -> None:
        make_org(svc, reps=8)
        activate(svc, _sla(max_reassignments=5, away_after_misses=None))
        leads = [add_lead(svc, email=f"w{n}@x.example", score=80) for n in range(6)]
        clock.advance(minutes=6)
        handled: list[int] = []
        barrier = threading.Barrier(2)

        def work() -> None:
            barrier.wait(timeout=10)
            handled.append(sla.run_due_timers(svc, clock.now()))

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sum(handled) == 6
        for lead in leads:
            assert _kinds(svc, lead["id"]).count("sla_reassign") == 1


class TestWorkerProcess:
    def test_leadflow_worker_once_handles_the_breach(self, database: Database) -> None:
        """The real `leadflow worker --once` in its own process, on the real clock."""
        import os
        import subprocess
        import sys

        svc = Services(database)
        make_org(svc)
        activate(svc, _sla(policies=[{"name": "fast", "within": "1s"}], default=None))
        lead = add_lead(svc, score=80)
        time.sleep(1.2)
        env = {**os.environ, "LEADFLOW_DATABASE_URL": database.url}
        done = subprocess.run(
            [sys.executable, "-m", "leadflow.cli.main", "worker", "--once"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "'sla': 1" in done.stdout
        assert routing.get_decisions(svc, lead["id"])[-1]["kind"] == "sla_reassign"
