"""Transactional outbox: written with the change, delivered after it, at least once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from leadflow.config import Settings
from leadflow.notify import signing
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import notifications, org, outbox, routing, rulebooks
from leadflow.services.context import Services
from leadflow.store.outbox_models import OutboxRow
from leadflow.testing import FrozenClock
from leadflow.testing.receivers import http_receiver, smtp_receiver
from tests.integration.offer_helpers import events

RULEBOOK = """
rules:
  - name: sales
    assign: {team: sales, method: round_robin}
fallback:
  queue: unassigned
"""


def _setup(svc: Services, **settings: object) -> int:
    svc.extras["settings"] = Settings(outbox_backoff_seconds=10, **settings)  # type: ignore[arg-type]
    org.create_team(svc, TeamIn(name="sales"))
    rep_id = org.create_rep(svc, RepIn(name="Ana", email="ana@x.example", teams=["sales"]))["id"]
    rulebooks.save(svc, RULEBOOK)
    return int(rep_id)


def _lead(svc: Services, n: int = 1) -> dict[str, object]:
    view, _ = routing.intake(
        svc, LeadIn(email=f"buyer{n}@p.example", company={"name": f"Acme {n}", "country": "FR"})
    )
    return view


class TestWebhook:
    def test_events_are_delivered_signed_with_a_stable_id(self, svc: Services) -> None:
        """lead.created and lead.assigned reach the endpoint; the signature verifies."""
        _setup(svc)
        with http_receiver() as rx:
            ep = notifications.create_endpoint(svc, "crm", "webhook", rx.url, [])
            lead = _lead(svc)
            assert outbox.run_due_timers(svc, svc.clock.now(), 100) == 2
            got = rx.wait_for(2)
        assert [r.headers[signing.EVENT_HEADER] for r in got] == ["lead.created", "lead.assigned"]
        for r in got:
            ts = r.headers[signing.TIMESTAMP_HEADER]
            sig = r.headers[signing.SIGNATURE_HEADER]
            now = svc.clock.now().timestamp()
            assert signing.verify(ep["secret"], r.body, ts, sig, now)
            assert not signing.verify("wrong-secret", r.body, ts, sig, now)
            assert not signing.verify(ep["secret"], r.body + b" ", ts, sig, now)
            assert not signing.verify(ep["secret"], r.body, ts, sig, now + 301)  # replay
            body = json.loads(r.body)
            assert body["id"] == r.headers[signing.ID_HEADER]
            assert body["data"]["lead"]["id"] == lead["id"]
        assert {r.status for r in events(svc, channel="webhook")} == {"sent"}

    def test_a_receiver_answering_500_gets_retries_with_backoff(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """Two failures, then success: same message id each time, delays 10 s then 20 s."""
        _setup(svc)
        with http_receiver(failures=2) as rx:
            notifications.create_endpoint(svc, "crm", "webhook", rx.url, ["lead.created"])
            _lead(svc)
            assert outbox.run_due_timers(svc, clock.now(), 100) == 1
            (row,) = events(svc, channel="webhook")
            assert row.status == "pending" and row.attempts == 1
            assert row.next_attempt_at == clock.now() + timedelta(seconds=10)
            assert "HTTP 500" in row.last_error
            assert outbox.run_due_timers(svc, clock.advance(seconds=9), 100) == 0  # not yet
            assert outbox.run_due_timers(svc, clock.advance(seconds=1), 100) == 1
            (row,) = events(svc, channel="webhook")
            assert row.next_attempt_at == clock.now() + timedelta(seconds=20)
            assert outbox.run_due_timers(svc, clock.advance(seconds=20), 100) == 1
            got = rx.wait_for(3)
        (row,) = events(svc, channel="webhook")
        assert row.status == "sent" and row.attempts == 3
        assert len({r.headers[signing.ID_HEADER] for r in got}) == 1

    def test_a_message_is_given_up_after_max_attempts(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """A receiver that never answers 2xx: the message ends `dead`, with the last error."""
        _setup(svc, outbox_max_attempts=2)
        with http_receiver(failures=99, fail_status=503) as rx:
            notifications.create_endpoint(svc, "crm", "webhook", rx.url, ["lead.created"])
            _lead(svc)
            outbox.run_due_timers(svc, clock.now(), 100)
            outbox.run_due_timers(svc, clock.advance(seconds=10), 100)
            assert outbox.run_due_timers(svc, clock.advance(hours=2), 100) == 0
        (row,) = events(svc, channel="webhook")
        assert row.status == "dead" and "503" in row.last_error

    def test_slack_endpoint_gets_a_text_message(self, svc: Services) -> None:
        """Slack incoming-webhook format: a JSON body with `text`."""
        _setup(svc)
        with http_receiver() as rx:
            notifications.create_endpoint(svc, "sales-channel", "slack", rx.url, ["lead.assigned"])
            _lead(svc)
            outbox.run_due_timers(svc, svc.clock.now(), 100)
            (got,) = rx.wait_for(1)
        text = json.loads(got.body)["text"]
        assert text.startswith("Lead assigned: Acme 1")


class TestTransaction:
    def test_a_rolled_back_change_sends_nothing(self, svc: Services) -> None:
        """Messages are rows of the same transaction: an error rolls them back too."""
        _setup(svc)
        notifications.create_endpoint(svc, "crm", "webhook", "http://127.0.0.1:9/x", [])
        with pytest.raises(RuntimeError), svc.db.write() as s:
            notifications.publish(s, "lead.created", {"lead": {"id": 1}}, svc.clock.now())
            raise RuntimeError("the state change failed")
        assert events(svc) == []

    def test_a_worker_killed_mid_send_still_delivers(
        self, svc: Services, clock: FrozenClock, tmp_path: object
    ) -> None:
        """A process takes a lead and claims its message, then is killed (SIGKILL) before
        sending: after the lease another worker delivers it."""
        _setup(svc)
        with http_receiver() as rx:
            notifications.create_endpoint(svc, "crm", "webhook", rx.url, ["lead.created"])
            script = textwrap.dedent(
                f"""
                import os, signal
                from datetime import datetime
                from leadflow.schemas import LeadIn
                from leadflow.services import outbox, routing
                from leadflow.services.context import Services
                from leadflow.store.db import Database
                from leadflow.testing import FrozenClock
                at = datetime.fromisoformat({clock.now().isoformat()!r})
                svc = Services(Database({svc.db.url!r}), FrozenClock(at))
                routing.intake(svc, LeadIn(email="x@p.example", company={{"country": "FR"}}))
                def die(*args):
                    os.kill(os.getpid(), signal.SIGKILL)
                outbox._send = die
                outbox.run_due_timers(svc, svc.clock.now(), 10)
                """
            )
            proc = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd(), timeout=60)
            assert proc.returncode == -signal.SIGKILL
            (row,) = events(svc, channel="webhook")
            assert row.status == "pending" and row.attempts == 1  # claimed, never sent
            assert rx.requests == []
            assert outbox.run_due_timers(svc, clock.now(), 10) == 0  # leased to the dead one
            assert outbox.run_due_timers(svc, clock.advance(seconds=61), 10) == 1
            assert len(rx.wait_for(1)) == 1
        (row,) = events(svc, channel="webhook")
        assert row.status == "sent"


class TestEmail:
    def test_rep_who_chose_email_receives_it_over_smtp(self, svc: Services) -> None:
        """A real SMTP server on 127.0.0.1 receives the message with its stable Message-ID."""
        with smtp_receiver() as smtp:
            rep_id = _setup(svc, smtp_host="127.0.0.1", smtp_port=smtp.port)
            notifications.set_prefs(svc, rep_id, {"lead.assigned": ["inapp", "email"]}, None)
            _lead(svc)
            assert outbox.run_due_timers(svc, svc.clock.now(), 100) == 1
            (msg,) = smtp.wait_for(1)
        assert msg["To"] == "ana@x.example"
        assert msg["Subject"] == "[leadflow] Lead assigned: Acme 1"
        (row,) = events(svc, channel="email")
        assert msg["Message-ID"] == f"<{row.message_id}@leadflow>"
        assert "Company: Acme 1" in msg.get_payload()
        assert row.status == "sent"
        assert len(events(svc, channel="inapp")) == 1

    def test_smtp_server_down_is_retried(self, svc: Services) -> None:
        """No server listening: the e-mail stays pending with the error, for a retry."""
        from leadflow.testing.receivers import free_port

        rep_id = _setup(svc, smtp_port=free_port())
        notifications.set_prefs(svc, rep_id, {"lead.assigned": ["email"]}, None)
        _lead(svc)
        outbox.run_due_timers(svc, svc.clock.now(), 100)
        (row,) = events(svc, channel="email")
        assert row.status == "pending" and row.last_error.startswith("SMTP")


@pytest.mark.postgres
def test_workers_never_claim_the_same_message(svc: Services) -> None:
    """PostgreSQL: rows locked by one worker are skipped by another (SKIP LOCKED)."""
    if svc.db.is_sqlite:
        pytest.skip("SQLite serialises writers instead")
    _setup(svc)
    notifications.create_endpoint(svc, "crm", "webhook", "http://127.0.0.1:9/x", ["lead.created"])
    _lead(svc)
    locked = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with svc.db.write() as s:
            s.scalars(select(OutboxRow).with_for_update()).all()
            locked.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    locked.wait(10)
    try:
        assert outbox.run_due_timers(svc, svc.clock.now(), 10) == 0
    finally:
        release.set()
        t.join()


def test_one_worker_tick_expires_an_offer_and_delivers_its_events(
    svc: Services, clock: FrozenClock
) -> None:
    """`leadflow worker` runs offers before the outbox: a timeout's offer.expired and
    the next offer.made reach the webhook in the same tick."""
    from leadflow.services.timers import run_all_due
    from tests.integration.offer_helpers import make_team, new_lead, offer_rulebook

    svc.extras["settings"] = Settings()
    make_team(svc, 2)
    offer_rulebook(svc, "{team: sales, mode: cascade, timeout: 30s}")
    with http_receiver() as rx:
        notifications.create_endpoint(
            svc, "crm", "webhook", rx.url, ["offer.expired", "offer.made"]
        )
        new_lead(svc)
        clock.advance(seconds=30)
        done = run_all_due(svc)
        assert done["offers"] == 1 and done["outbox"] == 3
        got = rx.wait_for(3)
    assert [r.headers[signing.EVENT_HEADER] for r in got] == [
        "offer.made",
        "offer.expired",
        "offer.made",
    ]


def test_old_delivered_messages_are_pruned_dead_ones_kept(
    svc: Services, clock: FrozenClock
) -> None:
    """After the retention, sent and in-app rows go; a dead message stays for review."""
    _setup(svc, outbox_max_attempts=1, outbox_retention_days=30)
    with http_receiver(failures=1) as rx:
        notifications.create_endpoint(
            svc, "crm", "webhook", rx.url, ["lead.created", "lead.assigned"]
        )
        _lead(svc)
        outbox.run_due_timers(svc, clock.now(), 100)  # the first fails for good, then one sent
    assert sorted(r.status for r in events(svc)) == ["dead", "sent", "stored"]
    outbox.run_due_timers(svc, clock.advance(days=29), 100)
    assert len(events(svc)) == 3
    outbox.run_due_timers(svc, clock.advance(days=2), 100)
    assert [r.status for r in events(svc)] == ["dead"]
