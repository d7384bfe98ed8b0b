"""Durable timers of pull distribution, run by `leadflow worker` (see services/timers.py).

- `lease`: a claim's lease ended with no contact → the lead returns to its queue;
- `step`: an age step of a queue (auto-assign by round robin, or escalate to a queue);
- `daily`: count yesterday's claims per rep against the queue's minimum, raise alerts.

Each timer runs in its own transaction, taken with `FOR UPDATE SKIP LOCKED` on
PostgreSQL so several workers never run the same one; every handler re-checks the
state it acts on, so running a timer twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from leadflow.domain.model import LeadStatus, Org
from leadflow.domain.pull import Queue, Step, auto_assign_action, describe, due_steps
from leadflow.domain.routing import Outcome, RoutingResult
from leadflow.domain.rulebook import Enqueue, Rule, Rulebook
from leadflow.services import claims, handback, txcache
from leadflow.services.context import Services
from leadflow.services.due import nothing_due
from leadflow.services.notifications import notify_rep, publish
from leadflow.services.queues import claims_per_rep, to_domain
from leadflow.services.routing import apply_result, route_with
from leadflow.store.direct import insert_values
from leadflow.store.models import DecisionRow, LeadRow
from leadflow.store.pull_models import ClaimRow, PullAlertRow, PullTimerRow, QueueRow

log = logging.getLogger("leadflow.pull")

STAY = "auto_assign_none"
"""Decision kind of an auto-assignment that found nobody: the lead stays, timers too."""


# ---------------------------------------------------------------- arming (routing hook)


def after_decision(
    s: Session, lead: LeadRow, decision: DecisionRow, result: Any, org: Org, now: datetime
) -> None:
    """A lead entered a queue (routed, returned, escalated): arm that queue's age steps."""
    if decision.outcome != "queued" or decision.kind == STAY or decision.queue is None:
        return
    if decision.kind != "route":  # a lead's first decision has no earlier steps to drop
        s.execute(
            delete(PullTimerRow).where(
                PullTimerRow.lead_id == lead.id,
                PullTimerRow.kind == "step",
                PullTimerRow.done_at.is_(None),
            )
        )
    queue = _queue(s, decision.queue)
    if queue is None:
        return
    for index, due in due_steps(queue.policy, lead.created_at):
        insert_values(s, PullTimerRow, kind="step", lead_id=lead.id, queue=queue.name,
                      step=index, due_at=due)  # fmt: skip


def _queue(s: Session, name: str) -> Queue | None:
    """A queue's definition, read once per transaction: every lead queued to it asks."""

    def load() -> Queue | None:
        row = s.get(QueueRow, name)
        return to_domain(row) if row is not None else None

    return txcache.cached(s, f"queue:{name}", load)


# ---------------------------------------------------------------- the runner


def run_due_timers(svc: Services, now: datetime, limit: int) -> int:
    """Run up to `limit` timers due at `now`, oldest due first; returns how many ran."""
    due = select(PullTimerRow.id).where(PullTimerRow.done_at.is_(None), PullTimerRow.due_at <= now)
    if nothing_due(svc, due):
        return 0
    done = 0
    while done < limit:
        with svc.db.write() as s:
            timer = s.scalar(
                select(PullTimerRow)
                .where(PullTimerRow.done_at.is_(None), PullTimerRow.due_at <= now)
                .order_by(PullTimerRow.due_at, PullTimerRow.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if timer is None:
                break
            fired = svc.clock.now()
            # Marked done first: a handler re-arming the lead's timers must not see it.
            timer.done_at = fired
            timer.fired_late_ms = int((fired - timer.due_at).total_seconds() * 1000)
            s.flush()
            HANDLERS[timer.kind](svc, s, timer, fired)
        done += 1
    return done


def _expire_lease(svc: Services, s: Session, timer: PullTimerRow, now: datetime) -> None:
    row = s.get(ClaimRow, timer.claim_id) if timer.claim_id is not None else None
    if row is None or row.state != claims.HELD or row.lease_until > now:
        return
    span = describe(row.lease_until - row.claimed_at)
    reason = (
        f"lease of {span} ended with no contact logged; back in queue {row.queue!r} "
        "with its original age"
    )
    handback.return_to_queue(
        svc, s, row, now, state="expired", kind="return", reason=reason, actor="system"
    )


def _run_step(svc: Services, s: Session, timer: PullTimerRow, now: datetime) -> None:
    lead = s.get(LeadRow, timer.lead_id) if timer.lead_id is not None else None
    row = s.get(QueueRow, timer.queue)
    if lead is None or row is None:
        return
    if lead.status != LeadStatus.QUEUED or lead.queue != timer.queue:
        return  # claimed, assigned or moved since: the step no longer applies
    queue = to_domain(row)
    if timer.step >= len(queue.policy.steps):
        return
    step = queue.policy.steps[timer.step]
    org = claims.current_org(svc, s, now)
    if step.action == "queue":
        _escalate(s, lead, queue, step, org, now)
    else:
        _auto_assign(s, lead, queue, step, org, now)


def _age(step: Step) -> str:
    return f"unclaimed for {describe(step.after)}"


def _escalate(s: Session, lead: LeadRow, queue: Queue, step: Step, org: Org, now: datetime) -> None:
    assert step.queue is not None
    locked = claims.lock_waiting(s, lead.id, queue.name, skip_locked=False)
    if locked is None:
        return
    target = step.queue if s.get(QueueRow, step.queue) else queue.name
    reason = f"{_age(step)} in {queue.name!r}: escalated to queue {target!r}"
    outcome = Outcome("queued", lead.rule or queue.name, None, target, "escalate", None, reason)
    trace = {"queue": queue.name, "step": step.action, "to": target}
    decision = apply_result(
        s, lead, RoutingResult(outcome, trace), org, {}, {}, now, 0, "escalate", "system"
    )
    _alert(s, "escalation", queue.name, None, lead.id, f"decision:{decision.id}", reason, now)


def _auto_assign(
    s: Session, lead: LeadRow, queue: Queue, step: Step, org: Org, now: datetime
) -> None:
    """Round robin among the queue's reps, through the ordinary routing machinery (same
    strategy, same rotation table, same eligibility and capacity checks)."""
    rule = Rule(f"auto-assign:{queue.name}", auto_assign_action(queue, org))
    book = Rulebook((rule,), Enqueue(queue.name))
    ctx = {**lead.data, "account": {"matched": False}, "territory": {"matched": False}}
    result, loads, rotations = route_with(s, book, ctx, org, now, lock=True)
    if claims.lock_waiting(s, lead.id, queue.name, skip_locked=False) is None:
        return
    out = result.outcome
    if out.kind == "assigned" and out.rep_id is not None:
        claims.take(s, lead.id, queue.name, out.rep_id, now)
        reason = f"{_age(step)} in {queue.name!r}: auto-assigned by round robin ({out.reason})"
        kind = "auto_assign"
    else:
        reason = f"{_age(step)} in {queue.name!r}: no eligible rep to auto-assign; it stays"
        kind = STAY
    outcome = Outcome(
        out.kind, lead.rule or queue.name, out.rep_id, queue.name, "round_robin", None, reason
    )
    trace = {**result.trace, "queue": queue.name, "step": step.action}
    decision = apply_result(
        s,
        lead,
        RoutingResult(outcome, trace, result.state_updates),
        org,
        loads,
        rotations,
        now,
        0,
        kind,
        "system",
    )
    _alert(s, "escalation", queue.name, out.rep_id, lead.id, f"decision:{decision.id}", reason, now)


def _daily_check(svc: Services, s: Session, timer: PullTimerRow, now: datetime) -> None:
    """Count the day that just ended; then arm the next day's check (catch-up friendly:
    after downtime each missed day's timer runs in turn)."""
    row = s.get(QueueRow, timer.queue)
    if row is None:
        return
    queue = to_domain(row)
    minimum = queue.policy.min_claims_per_day
    if not minimum:
        return
    day_end = timer.due_at
    day_start = day_end - timedelta(days=1)
    for rep_id, name, count in claims_per_rep(s, queue, day_start, day_end):
        if count < minimum:
            message = (
                f"{name} claimed {count} leads from queue {queue.name!r} on "
                f"{day_start.date().isoformat()} (minimum {minimum})"
            )
            key = f"min_claims:{queue.name}:{rep_id}:{day_start.date().isoformat()}"
            _alert(s, "min_claims", queue.name, rep_id, None, key, message, now)
    s.add(PullTimerRow(kind="daily", queue=queue.name, due_at=day_end + timedelta(days=1)))


def _alert(
    s: Session,
    kind: str,
    queue: str,
    rep_id: int | None,
    lead_id: int | None,
    key: str,
    message: str,
    now: datetime,
) -> None:
    if s.scalar(select(PullAlertRow.id).where(PullAlertRow.key == key)) is not None:
        return
    s.add(
        PullAlertRow(
            kind=kind,
            queue=queue,
            rep_id=rep_id,
            lead_id=lead_id,
            key=key,
            message=message,
            created_at=now,
        )
    )
    log.info("pull alert %s: %s", kind, message)
    # Out through the outbox too: webhooks, and the rep concerned in-app (min claims).
    data = {"kind": kind, "queue": queue, "rep_id": rep_id, "lead_id": lead_id,
            "message": message, "key": key}  # fmt: skip
    publish(s, PULL_ALERT, data, now)
    if rep_id is not None and kind == "min_claims":
        notify_rep(s, rep_id, PULL_ALERT, data, now, hot=False)


PULL_ALERT = "pull.alert"

HANDLERS: dict[str, Callable[[Services, Session, PullTimerRow, datetime], None]] = {
    "lease": _expire_lease,
    "step": _run_step,
    "daily": _daily_check,
}

__all__ = ["after_decision", "run_due_timers"]
