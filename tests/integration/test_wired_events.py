"""SLA breaches, pull events and manager alerts go out through the transactional outbox
and reach a real local webhook receiver (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from leadflow.pull_schemas import QueueIn
from leadflow.services import (
    alert_watch,
    claims,
    handback,
    notifications,
    outbox,
    pull_timers,
    queues,
    rulebooks,
    sla,
)
from leadflow.services.context import Services
from leadflow.store.lifecycle_models import SlaTimerRow
from leadflow.testing import FrozenClock
from leadflow.testing.receivers import Received, http_receiver
from tests.integration.lifecycle.conftest import activate, add_lead, make_org
from tests.integration.pull.conftest import build_pull


def _events(received: list[Received]) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in received]


def _types(received: list[Received]) -> list[str]:
    return [r.headers["X-Leadflow-Event"] for r in received]


class TestSlaBreachThroughTheOutbox:
    def test_a_breach_reaches_the_webhook_and_the_reps_in_app(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        ids = make_org(svc, manager=True)
        boss = ids[-1]
        activate(svc, {"sla": {"default": {"name": "std", "within": "5m",
                                           "on_breach": "escalate"}}})  # fmt: skip
        lead = add_lead(svc, score=10)
        owner = lead["owner_rep_id"]
        with http_receiver() as rx:
            notifications.create_endpoint(
                svc, "crm", "webhook", rx.url, ["sla.breached", "sla.escalated"]
            )
            clock.advance(minutes=6)
            assert sla.run_due_timers(svc, clock.now()) == 1
            assert outbox.run_due_timers(svc, clock.now(), 100) == 2
            got = rx.wait_for(2)
        assert sorted(_types(got)) == ["sla.breached", "sla.escalated"]
        breached = next(e for e in _events(got) if e["type"] == "sla.breached")
        assert breached["data"]["lead"]["id"] == lead["id"]
        assert breached["data"]["missed_by"] == owner
        assert breached["data"]["manager_rep_id"] == boss
        assert breached["data"]["action"] == "escalate"
        assert got[0].headers["X-Leadflow-Id"] == _events(got)[0]["id"]
        # In-app: the rep and the manager, read back by GET /lifecycle/notifications.
        seen = {(n["kind"], n["rep_id"]) for n in sla.notifications(svc)}
        assert seen == {("sla.breached", owner), ("sla.breached", boss), ("sla.escalated", boss)}
        assert {n["rep_id"] for n in sla.notifications(svc, owner)} == {owner}

    def test_a_rolled_back_breach_sends_nothing(self, svc: Services, clock: FrozenClock) -> None:
        make_org(svc)
        activate(svc, {"sla": {"default": {"name": "std", "within": "5m"}}})
        add_lead(svc, score=10)
        notifications.create_endpoint(svc, "crm", "webhook", "http://127.0.0.1:9/x", [])
        clock.advance(minutes=6)
        before = len(outbox.list_messages(svc))
        try:
            with svc.db.write() as s:
                timer = s.scalars(select(SlaTimerRow)).one()
                sla._breach(svc, s, timer, clock.now())
                raise RuntimeError("crash inside the breach transaction")
        except RuntimeError:
            pass
        assert sla.notifications(svc) == []
        assert len(outbox.list_messages(svc)) == before


class TestPullEventsThroughTheOutbox:
    def test_claim_release_and_lease_return_are_published(self, svc: Services) -> None:
        pull = build_pull(svc)
        pull.queue("inbound", "pool", lease_minutes=5)
        pull.route_to("inbound")
        a, b = pull.leads(2)
        with http_receiver() as rx:
            notifications.create_endpoint(
                svc, "crm", "webhook", rx.url, ["lead.claimed", "lead.released", "lead.returned"]
            )
            claims.claim(svc, a, pull.rep(0))
            handback.release(svc, a, pull.rep(0))
            claims.claim(svc, b, pull.rep(1))
            svc.clock.advance(minutes=6)  # type: ignore[attr-defined]
            pull_timers.run_due_timers(svc, svc.clock.now(), 100)
            outbox.run_due_timers(svc, svc.clock.now(), 100)
            got = rx.wait_for(4)
        assert _types(got) == ["lead.claimed", "lead.released", "lead.claimed", "lead.returned"]
        data = [e["data"] for e in _events(got)]
        assert [(d["lead"]["id"], d["rep_id"], d["queue"]) for d in data] == [
            (a, pull.reps[0], "inbound"),
            (a, pull.reps[0], "inbound"),
            (b, pull.reps[1], "inbound"),
            (b, pull.reps[1], "inbound"),
        ]
        assert data[0]["lease_until"] is not None
        # The rep whose lease ran out hears about it in-app.
        mine = outbox.inapp_after(svc, pull.reps[1], 0)
        assert "lead.returned" in {m["event"] for m in mine}

    def test_minimum_claims_alert_is_published(self, svc: Services, clock: FrozenClock) -> None:
        pull = build_pull(svc)
        queues.create_queue(
            svc,
            QueueIn.model_validate({"name": "inbound", "mode": "pool", "team": "inbound",
                                    "policies": {"min_claims_per_day": 2}}),
        )  # fmt: skip
        pull.route_to("inbound")
        with http_receiver() as rx:
            notifications.create_endpoint(svc, "crm", "webhook", rx.url, ["pull.alert"])
            clock.advance(days=1, hours=1)
            pull_timers.run_due_timers(svc, clock.now(), 100)
            outbox.run_due_timers(svc, clock.now(), 100)
            got = rx.wait_for(4)
        alerts = [e["data"] for e in _events(got)]
        assert {a["rep_id"] for a in alerts} == set(pull.reps)  # four reps, no claims
        assert all(a["kind"] == "min_claims" and "minimum 2" in a["message"] for a in alerts)


class TestManagerAlertsThroughTheOutbox:
    def test_an_alert_is_raised_once_until_it_clears(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        make_org(svc, manager=True)
        rulebooks.save(svc, "rules: []\nfallback:\n  queue: unassigned\n")
        for n in range(12):  # every lead falls to the fallback: routing errors
            add_lead(svc, email=f"e{n}@x.example")
        with http_receiver() as rx:
            notifications.create_endpoint(svc, "ops", "webhook", rx.url, ["alert.raised"])
            assert alert_watch.run_due_timers(svc, clock.now(), 100) == 1
            clock.advance(minutes=1)
            assert alert_watch.run_due_timers(svc, clock.now(), 100) == 0  # not due yet
            clock.advance(minutes=5)
            assert alert_watch.run_due_timers(svc, clock.now(), 100) == 0  # still active
            outbox.run_due_timers(svc, clock.now(), 100)
            got = rx.wait_for(1)
        assert _types(got) == ["alert.raised"]
        assert _events(got)[0]["data"]["key"] == "routing_errors"
