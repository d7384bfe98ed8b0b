"""The crash harness's afterwards checks (leadflow/testing/crash_checks.py) on a real
offer history delivered in-process to a real webhook receiver and SMTP server: silent
when nothing was lost, and each planted loss, doubling or unfired timer is reported.
SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, select, update

from leadflow.config import Settings
from leadflow.services import notifications, offers, outbox
from leadflow.services.context import Services
from leadflow.store.offers_models import OfferRow
from leadflow.store.outbox_models import OutboxRow
from leadflow.testing import FrozenClock
from leadflow.testing.crash_checks import (
    Accept,
    Delivery,
    offer_problems,
    outbox_problems,
    timer_problems,
)
from leadflow.testing.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver
from tests.integration.offer_helpers import make_team, new_lead, offer_rulebook, offers_of

BROADCAST = "{team: sales, mode: broadcast, timeout: 30s, then: {queue: triage}}"


@dataclass
class History:
    svc: Services
    clock: FrozenClock
    hooks: HttpReceiver
    mailbox: SmtpReceiver
    reps: list[int]
    accept: Accept

    def received(self) -> Delivery:
        return Delivery(
            Counter(r.headers["X-Leadflow-Id"] for r in self.hooks.requests),
            Counter(str(m["X-Leadflow-Id"]) for m in self.mailbox.messages),
        )

    def outbox(self) -> list[str]:
        with self.svc.db.read() as s:
            return outbox_problems(s, self.received(), 8, set(self.reps))[0]


def _deliver(svc: Services, clock: FrozenClock) -> None:
    for _ in range(10):
        if not outbox.run_due_timers(svc, clock.advance(seconds=61), 1000):  # > lease
            return


@pytest.fixture
def history(svc: Services, clock: FrozenClock) -> Iterator[History]:
    """Two leads broadcast to 3 reps who get offers by e-mail too, a CRM webhook (its
    first two answers 500: retried); one lead accepted, the other's offers run out."""
    with http_receiver(failures=2) as hooks, smtp_receiver() as mailbox:
        svc.extras["settings"] = Settings(smtp_host="127.0.0.1", smtp_port=mailbox.port,
                                          outbox_backoff_seconds=1)
        reps = make_team(svc, 3)
        notifications.create_endpoint(svc, "crm", "webhook", hooks.url, [])
        for rep in reps:
            notifications.set_prefs(svc, rep, {"offer.made": ["inapp", "email"]}, None)
        offer_rulebook(svc, BROADCAST)
        won, lapsed = (int(new_lead(svc, n)["id"]) for n in (1, 2))
        first = offers_of(svc, won)[0]
        offers.accept(svc, first.id, first.rep_id)
        offers.run_due_timers(svc, clock.advance(seconds=31), 100)
        assert {o.status for o in offers_of(svc, lapsed)} == {"expired"}
        _deliver(svc, clock)
        yield History(svc, clock, hooks, mailbox, reps, Accept(first.id, first.rep_id, won))


def test_nothing_lost_nothing_reported(history: History) -> None:
    svc = history.svc
    with svc.db.read() as s:
        assert offer_problems(s, [history.accept]) == []
        assert timer_problems(s, history.clock.now()) == []
        problems, counts = outbox_problems(s, history.received(), 8, set(history.reps))
    assert problems == []
    assert counts["by_status"] == {"sent": counts["messages"]}
    assert counts["received_emails"] == 6  # 2 leads x 3 reps, offer.made
    assert counts["received_webhooks"] == counts["messages"] - 6 + 2  # + the two 500s


def test_a_message_the_receiver_never_got(history: History) -> None:
    """Marked sent by the outbox, absent at the receiver (all its tries dropped)."""
    ids = [r.headers["X-Leadflow-Id"] for r in history.hooks.requests]
    lost = ids[-1]
    history.hooks.requests[:] = [r for r in history.hooks.requests
                                 if r.headers["X-Leadflow-Id"] != lost]
    with history.svc.db.read() as s:
        row = s.scalar(select(OutboxRow).where(OutboxRow.message_id == lost))
        assert row is not None
        expected = f"outbox {row.id} (webhook {row.event}): marked sent, never received"
    assert history.outbox() == [expected]


def test_a_missing_or_doubled_event(history: History) -> None:
    svc = history.svc
    with svc.db.write() as s:
        row = s.scalars(select(OutboxRow).where(OutboxRow.event == "offer.expired",
                                                OutboxRow.channel == "webhook")).first()
        assert row is not None
        offer_id = row.payload["offer_id"]
        s.execute(delete(OutboxRow).where(OutboxRow.id == row.id))
    assert f"offer.expired {offer_id}: 0 webhook message(s), expected 1" in history.outbox()
    with svc.db.write() as s:  # an expiry applied twice: two messages for one offer
        for _ in range(2):
            outbox.enqueue(s, "offer.expired", "webhook", {"offer_id": offer_id},
                           history.clock.now(), endpoint_id=1)
    found = history.outbox()
    assert f"offer.expired {offer_id}: 2 webhook message(s), expected 1" in found
    assert any("still pending after the drain" in p for p in found)


def test_messages_left_pending_until_sent_again(history: History) -> None:
    with history.svc.db.write() as s:
        s.execute(update(OutboxRow).where(OutboxRow.channel == "email")
                  .values(status="pending"))  # fmt: skip
    assert sum("still pending" in p for p in history.outbox()) == 6
    history.mailbox.messages.clear()
    _deliver(history.svc, history.clock)  # the lease ends: sent again (at least once)
    assert history.outbox() == []


def test_two_winners_and_an_unfired_timer(history: History) -> None:
    svc, accept = history.svc, history.accept
    other = next(r for r in history.reps if r != accept.rep_id)
    with svc.db.read() as s:
        found = offer_problems(s, [accept, Accept(accept.offer_id + 1, other, accept.lead_id)])
    assert any("all heard 200" in p for p in found)
    assert any(f"owned by {accept.rep_id}" in p for p in found)
    with svc.db.write() as s:  # an offer nobody expired
        s.execute(update(OfferRow).where(OfferRow.status == "expired").values(status="pending"))
    with svc.db.read() as s:
        assert timer_problems(s, history.clock.now()) == ["offers: 3 due timer(s) never fired"]
