"""`leadflow check` on offers, pending offers as timers, and the outbox: silent on any
sequence of accepts, declines and timeouts, loud on each planted corruption (SQLite and
PostgreSQL)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadflow.errors import Conflict
from leadflow.services import offers
from leadflow.services.context import Services
from leadflow.services.invariants import check_database
from leadflow.store.lifecycle_models import SlaTimerRow
from leadflow.store.models import DecisionRow
from leadflow.store.offers_models import OfferCampaignRow, OfferRow
from leadflow.store.outbox_models import OutboxRow
from leadflow.testing import FrozenClock
from tests.integration.offer_helpers import make_team, new_lead, offer_rulebook, offers_of

BROADCAST = "{team: sales, mode: broadcast, timeout: 30s, max_rounds: 2, then: {queue: triage}}"


def found(svc: Services, **kw: object) -> set[str]:
    return {v.check for v in check_database(svc, **kw).violations}  # type: ignore[arg-type]


@pytest.fixture
def offered(svc: Services) -> dict[str, int]:
    """Three leads broadcast to three reps: one accepted, one left to run out, one pending."""
    make_team(svc, 3)
    offer_rulebook(svc, BROADCAST)
    ids = {name: int(new_lead(svc, n)["id"]) for n, name in enumerate(("won", "lapsed", "live"))}
    first = offers_of(svc, ids["won"])[0]
    offers.accept(svc, first.id, first.rep_id)
    return ids


def test_offers_in_every_state_pass(svc: Services, clock: FrozenClock,
                                    offered: dict[str, int]) -> None:
    assert check_database(svc).ok
    for _ in range(2):  # both rounds of every open campaign run out
        offers.run_due_timers(svc, clock.advance(seconds=31), 100)
    report = check_database(svc)
    assert report.ok, report.violations


def test_a_pending_offer_is_a_timer(svc: Services, clock: FrozenClock,
                                    offered: dict[str, int]) -> None:
    """Nobody expired the offers (no worker): past the grace they are timers not fired."""
    clock.advance(seconds=30 + 90)
    assert found(svc, timer_grace=timedelta(seconds=60)) == {"timer not fired"}
    assert found(svc, timer_grace=timedelta(seconds=300)) == set()
    offers.run_due_timers(svc, clock.now(), 100)  # the worker catches up: clean again
    assert found(svc, timer_grace=timedelta(seconds=60)) == set()


Corruption = Callable[[Session, dict[str, int]], None]


def _offer(s: Session, lead_id: int, status: str | None = None) -> OfferRow:
    q = select(OfferRow).where(OfferRow.lead_id == lead_id).order_by(OfferRow.id)
    rows = list(s.scalars(q))
    return next(o for o in rows if status is None or o.status == status)


def _second_winner(s: Session, ids: dict[str, int]) -> None:
    _offer(s, ids["won"], "withdrawn").status = "accepted"


def _winner_not_recorded(s: Session, ids: dict[str, int]) -> None:
    s.execute(update(OfferCampaignRow).where(OfferCampaignRow.lead_id == ids["won"])
              .values(winner_rep_id=OfferCampaignRow.winner_rep_id + 1))  # fmt: skip


def _accept_twice(s: Session, ids: dict[str, int]) -> None:
    accept = s.scalar(select(DecisionRow).where(DecisionRow.kind == "offer_accept"))
    assert accept is not None
    s.add(DecisionRow(lead_id=accept.lead_id, kind="offer_accept", outcome="assigned",
                      rule=accept.rule, rep_id=accept.rep_id, reason="replayed", trace={},
                      created_at=accept.created_at))


def _pending_after_close(s: Session, ids: dict[str, int]) -> None:
    _offer(s, ids["won"], "withdrawn").status = "pending"


def _stalled(s: Session, ids: dict[str, int]) -> None:
    s.execute(update(OfferRow).where(OfferRow.lead_id == ids["live"]).values(status="expired"))


def _wave_twice(s: Session, ids: dict[str, int]) -> None:
    o = _offer(s, ids["live"])
    s.add(OfferRow(campaign_id=o.campaign_id, lead_id=o.lead_id, rep_id=o.rep_id,
                   round_no=o.round_no, status="expired", created_at=o.created_at,
                   expires_at=o.expires_at, reason="sent again"))


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (_second_winner, {"offer two winners"}),
        (_winner_not_recorded, {"offer winner mismatch"}),
        (_accept_twice, {"offer_accept count"}),
        (_pending_after_close, {"offer pending in closed campaign"}),
        (_stalled, {"offer campaign stalled"}),
        (_wave_twice, {"offer sent twice"}),
    ],
    ids=lambda x: getattr(x, "__name__", "").strip("_") or None,
)
def test_offer_corruption_is_flagged(
    svc: Services, offered: dict[str, int], corrupt: Corruption, expected: set[str]
) -> None:
    with svc.db.write() as s:
        corrupt(s, offered)
    assert found(svc) == expected


def test_outbox_message_overdue_is_flagged(svc: Services, clock: FrozenClock,
                                           offered: dict[str, int]) -> None:
    """A pending e-mail or webhook waits for its next attempt (a retry's backoff, a
    claimed message's lease); past that plus the grace, nobody is delivering it."""
    with svc.db.write() as s:
        row = s.scalars(select(OutboxRow).where(OutboxRow.channel == "inapp")).first()
        assert row is not None
        row.channel, row.status, row.target = "email", "pending", "a@x.example"
        row.next_attempt_at = clock.now() + timedelta(minutes=10)  # a retry, later
        row_id = row.id
    offers.run_due_timers(svc, clock.advance(seconds=31), 100)
    offers.run_due_timers(svc, clock.advance(seconds=31), 100)  # no offer left pending
    assert found(svc) == set()
    clock.advance(minutes=13)
    assert found(svc) == set()  # due 4 minutes ago: within the 5-minute grace
    clock.advance(minutes=2)
    violations = check_database(svc).violations
    stuck = [v for v in violations if v.check == "outbox stuck"]
    assert [v.subject for v in stuck] == [f"outbox {row_id}"]
    with svc.db.write() as s:  # delivered, or given up on (`dead`): nothing to flag
        s.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(status="dead"))
    assert "outbox stuck" not in found(svc)


def test_a_resolved_sla_timer_is_not_pending(svc: Services, clock: FrozenClock,
                                             offered: dict[str, int]) -> None:
    """`sla_timers` has no `status`: its `resolved_at` says it fired (met, breached or
    cancelled); only an unresolved one past its due time is late."""
    now = clock.now()
    with svc.db.write() as s:
        rep = _offer(s, offered["won"], "accepted").rep_id
        for state in ("met", "pending"):
            s.add(SlaTimerRow(lead_id=offered["won"], rep_id=rep, policy="std", state=state,
                              due_at=now, created_at=now,
                              resolved_at=now if state == "met" else None))
    clock.advance(hours=1)
    late = [v.subject for v in check_database(svc).violations if v.check == "timer not fired"]
    assert [x for x in late if x.startswith("sla_timers")] == ["sla_timers 2"]


STEPS = st.lists(
    st.tuples(st.sampled_from(["accept", "decline", "timeout", "stale_accept"]),
              st.integers(0, 5)),
    max_size=10,
)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=STEPS)
def test_no_false_alarm_on_any_offer_history(
    svc: Services, clock: FrozenClock, steps: list[tuple[str, int]]
) -> None:
    """Whatever reps do, at every step `leadflow check` finds nothing."""
    if not svc.extras.get("team"):
        svc.extras["team"] = make_team(svc, 3)
        offer_rulebook(svc, BROADCAST.replace("broadcast", "cascade"))
    svc.extras["n"] = n = svc.extras.get("n", 0) + 1
    lead_id = int(new_lead(svc, n)["id"])
    for action, pick in steps:
        rows = offers_of(svc, lead_id)
        live = [o for o in rows if o.status == "pending"]
        if action == "timeout":
            offers.run_due_timers(svc, clock.advance(seconds=31), 100)
        elif action == "stale_accept" and rows:
            o = rows[pick % len(rows)]
            with contextlib.suppress(Conflict):
                offers.accept(svc, o.id, o.rep_id)
        elif live:
            o = live[pick % len(live)]
            if action == "accept":
                offers.accept(svc, o.id, o.rep_id)
            else:
                offers.decline(svc, o.id, o.rep_id, "no")
        report = check_database(svc, timer_grace=timedelta(days=1))
        assert report.ok, (action, report.violations)


def test_gauges_see_pending_offers_and_only_undelivered_messages(
    svc: Services, clock: FrozenClock, offered: dict[str, int]
) -> None:
    """Pending offers past `expires_at` are due timers on /metrics; the outbox backlog
    counts messages waiting for delivery, not the reps' in-app rows (never `sent`)."""
    from leadflow.observability import metrics

    def gauges() -> dict[tuple[str, str], float]:
        return {(x.name, x.labels.get("table", "")): x.value
                for m in metrics.DatabaseState(svc).collect() for x in m.samples}

    with svc.db.read() as s:
        assert s.scalars(select(OutboxRow).where(OutboxRow.channel == "inapp")).first()
    assert gauges()[("leadflow_outbox_backlog", "outbox")] == 0
    assert gauges()[("leadflow_timers_due", "offers")] == 0
    clock.advance(seconds=40)
    due = gauges()
    assert due[("leadflow_timers_due", "offers")] == 6  # two leads still on offer, 3 reps
    assert due[("leadflow_timer_lateness_seconds", "offers")] == 10
