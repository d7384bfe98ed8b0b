"""The crash harness's afterwards checks on offers, timers and the outbox, read straight
from the database and compared with what the clients and the sinks saw.

- offers: at most one winner per campaign; every accept a client heard `200` for is its
  campaign's winner and owns the lead;
- timers: nothing due is left unfired once the worker has drained; none fired twice
  (one effect per expired offer, one age-step decision per step timer);
- outbox: every decision and offer event has exactly one message per sink (none missing,
  none made twice); once drained every message is delivered, and everything the outbox
  marks delivered reached the real receiver (duplicates allowed: at least once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from leadflow.observability.metrics import timer_tables
from leadflow.services.events import PULL_EVENTS
from leadflow.store.models import DecisionRow, LeadRow
from leadflow.store.offers_models import OfferCampaignRow, OfferRow
from leadflow.store.outbox_models import OutboxRow
from leadflow.store.pull_models import PullTimerRow

DELIVERED, DEAD = "sent", "dead"
STEP_KINDS = ("auto_assign", "auto_assign_none", "escalate")


@dataclass(frozen=True)
class Accept:
    """An accept a client was answered `200` for."""

    offer_id: int
    rep_id: int
    lead_id: int


@dataclass
class Delivery:
    """What the real sinks received, by message id (with repeats)."""

    webhook: Counter[str] = field(default_factory=Counter)
    email: Counter[str] = field(default_factory=Counter)


def due_work(s: Session, now: datetime) -> dict[str, int]:
    """What the workers still have to do now: due unfired timers per table, outbound
    messages not yet delivered (pending, whatever their next attempt)."""
    left: dict[str, int] = {}
    for timed in timer_tables():
        cond = timed.due <= now
        if timed.pending is not None:
            cond = and_(cond, timed.pending)
        left[timed.table.name] = s.scalar(select(func.count()).where(cond)) or 0
    left["outbox"] = (
        s.scalar(
            select(func.count()).where(OutboxRow.channel != "inapp", OutboxRow.status == "pending")
        )
        or 0
    )
    left["open offer campaigns"] = (
        s.scalar(select(func.count()).where(OfferCampaignRow.status == "open")) or 0
    )
    return left


def offer_problems(s: Session, accepts: Iterable[Accept]) -> list[str]:
    problems = []
    winners = Counter(s.scalars(select(OfferRow.campaign_id).where(OfferRow.status == "accepted")))
    problems += [f"offer campaign {c}: {n} winners" for c, n in winners.items() if n > 1]
    heard: dict[int, set[int]] = {}
    for a in accepts:
        offer = s.get(OfferRow, a.offer_id)
        if offer is None:
            problems.append(f"offer {a.offer_id}: accepted (200) but not stored")
            continue
        heard.setdefault(offer.campaign_id, set()).add(a.rep_id)
        campaign = s.get(OfferCampaignRow, offer.campaign_id)
        lead = s.get(LeadRow, a.lead_id)
        if campaign is None or campaign.status != "accepted" or campaign.winner_rep_id != a.rep_id:
            problems.append(
                f"offer {a.offer_id}: rep {a.rep_id} heard 200, campaign "
                f"{campaign.status if campaign else None} won by "
                f"{campaign.winner_rep_id if campaign else None}"
            )
        if lead is None or lead.owner_rep_id != a.rep_id:
            problems.append(
                f"lead {a.lead_id}: offer accepted by rep {a.rep_id}, owned by "
                f"{lead.owner_rep_id if lead else None}"
            )
    problems += [
        f"offer campaign {c}: reps {sorted(reps)} all heard 200 to an accept"
        for c, reps in heard.items()
        if len(reps) > 1
    ]
    return problems


def timer_problems(s: Session, now: datetime) -> list[str]:
    """Run once the workers have drained: no due timer left, none fired twice."""
    problems = [
        f"{table}: {n} due timer(s) never fired"
        for table, n in due_work(s, now).items()
        if n and table != "outbox"
    ]
    per_lead = Counter(
        s.scalars(select(DecisionRow.lead_id).where(DecisionRow.kind.in_(STEP_KINDS)))
    )
    steps = Counter(
        s.scalars(
            select(PullTimerRow.lead_id).where(
                PullTimerRow.kind == "step", PullTimerRow.done_at.is_not(None)
            )
        )
    )
    problems += [
        f"lead {lead}: {n} age-step decisions from {steps[lead]} fired step timer(s)"
        for lead, n in per_lead.items()
        if n > steps[lead]
    ]
    return problems


def expected_messages(s: Session) -> Counter[tuple[str, int]]:
    """(event, key) of every outbound event the stored state says was published: one per
    routed lead, per assigning / queueing / pull decision, per offer made, accepted or
    expired. The key is what the payload carries (lead, decision or offer id)."""
    want: Counter[tuple[str, int]] = Counter()
    for d in s.execute(
        select(
            DecisionRow.id,
            DecisionRow.lead_id,
            DecisionRow.kind,
            DecisionRow.outcome,
            DecisionRow.rep_id,
        )
    ):
        if d.kind == "route":
            want["lead.created", d.lead_id] += 1
        if d.outcome == "assigned" and d.rep_id is not None:
            want["lead.assigned", d.id] += 1
        elif d.outcome == "queued":
            want["lead.queued", d.id] += 1
        if d.kind in PULL_EVENTS:
            want[PULL_EVENTS[d.kind], d.id] += 1
    for offer_id, status in s.execute(select(OfferRow.id, OfferRow.status)):
        want["offer.made", offer_id] += 1
        if status in ("accepted", "expired"):
            want[f"offer.{status}", offer_id] += 1
    return want


def _key(event: str, payload: dict[str, Any]) -> int | None:
    if event == "lead.created":
        return int(payload["lead"]["id"])
    if event.startswith("offer."):
        return int(payload["offer_id"])
    if "decision_id" in payload:
        return int(payload["decision_id"])
    return None


def outbox_problems(
    s: Session, received: Delivery, max_attempts: int, email_reps: set[int]
) -> tuple[list[str], dict[str, Any]]:
    """Compare the outbox with the state (nothing missing, nothing made twice) and with
    the receivers (nothing delivered is missing there). Returns problems and counts."""
    rows = list(s.scalars(select(OutboxRow).where(OutboxRow.channel != "inapp")))
    want = expected_messages(s)
    have: Counter[tuple[str, int]] = Counter()
    for r in rows:
        key = _key(r.event, r.payload) if r.channel == "webhook" else None
        if key is not None:
            have[r.event, key] += 1
    problems = [
        f"{event} {key}: {have[event, key]} webhook message(s), expected {n}"
        for (event, key), n in sorted(want.items())
        if have[event, key] != n
    ]
    problems += [
        f"{event} {key}: {n} webhook message(s) for an event that never happened"
        for (event, key), n in sorted(have.items())
        if (event, key) not in want
    ]
    emails = Counter(
        int(r.payload["offer_id"]) for r in rows if r.channel == "email" and r.event == "offer.made"
    )
    made_to = {offer_id: rep for offer_id, rep in s.execute(select(OfferRow.id, OfferRow.rep_id))}
    problems += [
        f"offer {offer_id}: {emails[offer_id]} e-mail(s) to rep {rep}, expected 1"
        for offer_id, rep in sorted(made_to.items())
        if rep in email_reps and emails[offer_id] != 1
    ]
    status = Counter(r.status for r in rows)
    for r in rows:
        sink = received.webhook if r.channel == "webhook" else received.email
        if r.status == DELIVERED and sink[r.message_id] == 0:
            problems.append(f"outbox {r.id} ({r.channel} {r.event}): marked sent, never received")
        elif r.status == DEAD and r.attempts < max_attempts:
            problems.append(f"outbox {r.id}: dead after only {r.attempts} attempt(s)")
        elif r.status not in (DELIVERED, DEAD):
            problems.append(
                f"outbox {r.id} ({r.channel} {r.event}): still {r.status} after "
                f"the drain ({r.attempts} attempt(s), last error {r.last_error!r})"
            )
    ids = {r.message_id for r in rows}
    for name, sink in (("webhook", received.webhook), ("email", received.email)):
        problems += [
            f"{name} {mid}: received, but no such outbox message" for mid in sink if mid not in ids
        ]
    counts = {
        "messages": len(rows),
        "by_status": dict(status),
        "received_webhooks": sum(received.webhook.values()),
        "received_emails": sum(received.email.values()),
        "duplicates": sum(
            n - 1 for sink in (received.webhook, received.email) for n in sink.values() if n > 1
        ),
    }
    return problems, counts
