"""SLA timers: the owner must make first contact before a deadline, or the lead moves on.

An assignment starts a timer (policy chosen by rule or condition, see lifecycle.md);
contact (status `contacted`, or an activity calling `record_first_contact`) meets it;
the worker's `run_due_timers` handles breaches: reassign to the next eligible rep
(previous owners excluded) or escalate to the manager; both are notified; a rep who
misses N in a row is set to "away" so rotations stop feeding them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from leadflow.domain import sla as rules
from leadflow.domain.lifecycle import CONTACT_STATUSES
from leadflow.domain.model import LeadStatus, Org, RepStatus
from leadflow.rules.lifecycle import SlaPolicySpec, SlaSpec, policy_condition
from leadflow.services import lifecycle_config
from leadflow.services.context import ORG_REVISION, Services, bump, read_meta
from leadflow.services.decisions import record
from leadflow.services.due import nothing_due
from leadflow.services.invariants import Violation
from leadflow.services.org import load_org
from leadflow.services.outbox import INAPP
from leadflow.store.lifecycle_models import RepSlaRow, SlaTimerRow
from leadflow.store.models import DecisionRow, LeadRow, RepRow
from leadflow.store.outbox_models import OutboxRow

PENDING, MET, BREACHED, CANCELLED = "pending", "met", "breached", "cancelled"
BREACHED_EVENT, ESCALATED_EVENT, AWAY_EVENT = "sla.breached", "sla.escalated", "rep.set_away"
SLA_EVENTS = (BREACHED_EVENT, ESCALATED_EVENT, AWAY_EVENT)
"""Outbox events (docs/notifications.md): the rep and the manager in-app, and webhooks."""


# ---------------------------------------------------------------- starting and stopping


def choose_policy(spec: SlaSpec, lead: dict[str, Any], rule: str | None) -> SlaPolicySpec | None:
    """The first policy naming the lead's rule or whose condition matches; else the default."""
    for policy in spec.policies:
        by_rule = bool(policy.rules) and rule in policy.rules
        condition = policy_condition(policy)
        by_when = condition is not None and condition.evaluate(lead)
        if by_rule or by_when or (not policy.rules and condition is None):
            return policy
    return spec.default


def policy_named(spec: SlaSpec, name: str) -> SlaPolicySpec | None:
    found = next((p for p in spec.policies if p.name == name), None)
    return found or (spec.default if spec.default and spec.default.name == name else None)


def on_decision(
    s: Session, lead: LeadRow, decision: DecisionRow, org: Org, spec: SlaSpec, now: datetime
) -> None:
    """Any routing decision ends the previous owner's timer; an assignment of a lead not
    yet contacted starts the new owner's."""
    # A lead's first decision (intake) has no timer to end and no contact yet: two
    # queries saved on the hottest path.
    first = decision.kind == "route"
    if not first:
        _resolve(s, lead.id, CANCELLED, now)
    if not spec.enabled or decision.outcome != LeadStatus.ASSIGNED or lead.owner_rep_id is None:
        return
    if not first and was_contacted(s, lead.id):
        return
    policy = choose_policy(spec, {**lead.data, "rule": decision.rule}, decision.rule)
    if policy is None:
        return
    rep = org.reps.get(lead.owner_rep_id)
    hours = rep.working_hours if (rep is not None and policy.business_hours) else None
    due = rules.due_at(now, policy.within, hours, rep.timezone if rep else None)
    s.add(SlaTimerRow(lead_id=lead.id, rep_id=lead.owner_rep_id, policy=policy.name,
                      due_at=due, state=PENDING, created_at=now))  # fmt: skip
    decision.trace = {**decision.trace, "sla": {"policy": policy.name, "due_at": due.isoformat()}}


def was_contacted(s: Session, lead_id: int) -> bool:
    return bool(
        s.scalar(
            select(
                exists().where(
                    DecisionRow.lead_id == lead_id,
                    DecisionRow.kind == "status",
                    DecisionRow.outcome.in_(sorted(CONTACT_STATUSES)),
                )
            )
        )
    )


def _resolve(s: Session, lead_id: int, state: str, now: datetime) -> list[int]:
    """Close the lead's pending timers; the reps whose timers they were."""
    reps = list(
        s.scalars(
            select(SlaTimerRow.rep_id).where(
                SlaTimerRow.lead_id == lead_id, SlaTimerRow.state == PENDING
            )
        )
    )
    if reps:
        s.execute(
            update(SlaTimerRow)
            .where(SlaTimerRow.lead_id == lead_id, SlaTimerRow.state == PENDING)
            .values(state=state, resolved_at=now)
        )
    return reps


def on_status_change(s: Session, lead: LeadRow, before: str, now: datetime) -> None:
    """Contact meets the SLA (and clears the rep's miss streak); closing cancels it."""
    if lead.status in CONTACT_STATUSES:
        for rep_id in _resolve(s, lead.id, MET, now):
            s.execute(
                update(RepSlaRow)
                .where(RepSlaRow.rep_id == rep_id)
                .values(consecutive_misses=0, updated_at=now)
            )
    else:
        _resolve(s, lead.id, CANCELLED, now)


def record_first_contact(s: Session, lead: LeadRow, now: datetime, *, actor: str) -> None:
    """For activities (a logged call or e-mail): the lead becomes `contacted` if it was
    only assigned, which meets its SLA. Later activities change nothing."""
    from leadflow.services.lifecycle import transition

    if lead.status == LeadStatus.ASSIGNED:
        transition(s, lead, LeadStatus.CONTACTED, "first activity logged", now, actor=actor)


# ---------------------------------------------------------------- breaches


def run_due_timers(svc: Services, now: datetime, limit: int = 100) -> int:
    """Handle up to `limit` due timers, one transaction each (a failure costs one timer).
    On PostgreSQL each is claimed with FOR UPDATE SKIP LOCKED: workers never collide."""
    pending = select(SlaTimerRow.id).where(SlaTimerRow.state == PENDING, SlaTimerRow.due_at <= now)
    if nothing_due(svc, pending):
        return 0
    done = 0
    for _ in range(limit):
        with svc.db.write() as s:
            timer = s.scalar(
                select(SlaTimerRow)
                .where(SlaTimerRow.state == PENDING, SlaTimerRow.due_at <= now)
                .order_by(SlaTimerRow.due_at, SlaTimerRow.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if timer is None:
                break
            _breach(svc, s, timer, now)
        done += 1
    return done


def _breach(svc: Services, s: Session, timer: SlaTimerRow, now: datetime) -> None:
    from leadflow.services.lifecycle import lock_lead
    from leadflow.services.reassign import move, previous_owners

    lead = lock_lead(s, timer.lead_id)
    if lead.owner_rep_id != timer.rep_id or lead.status != LeadStatus.ASSIGNED:
        timer.state, timer.resolved_at = CANCELLED, now  # moved on meanwhile: stale
        return
    timer.state, timer.resolved_at = BREACHED, now
    spec = lifecycle_config.spec(s).sla
    policy = policy_named(spec, timer.policy)
    org = load_org(svc, s, read_meta(s).get(ORG_REVISION, 0), now)
    rep = org.reps.get(timer.rep_id)
    manager = rules.manager_of(rep, org)
    went_away = _count_miss(s, timer.rep_id, spec, now)
    reassigned = _count(s, lead.id, "sla_reassign")
    action = rules.breach_action(
        policy.on_breach if policy else "escalate", reassigned, spec.max_reassignments
    )
    breach = {"policy": timer.policy, "due_at": timer.due_at.isoformat(), "missed_by": timer.rep_id,
              "action": action, "rep_set_away": went_away}  # fmt: skip
    rep_name = rep.name if rep else f"rep {timer.rep_id}"
    if action == "reassign":
        decision = move(svc, s, lead, now, kind="sla_reassign", actor="sla",
                        exclude=previous_owners(s, lead.id) | {timer.rep_id},
                        note={"sla_breach": breach})  # fmt: skip
        decision.reason = f"SLA {timer.policy} missed by {rep_name}: {decision.reason}"
        where = f"rep {decision.rep_id}" if decision.rep_id else f"queue {decision.queue}"
        message = f"Lead {lead.id} was not contacted in time by {rep_name}; moved to {where}."
    else:
        who = manager.name if manager else "no manager on record"
        record(s, lead, "sla_escalate", f"SLA {timer.policy} missed by {rep_name}; escalated to "
               f"{who}", now, actor="sla", trace={"sla_breach": breach,
               "manager_rep_id": manager.id if manager else None})  # fmt: skip
        message = f"Lead {lead.id} was not contacted in time by {rep_name}; please act."
    payload = {"lead_id": lead.id, **breach,
               "manager_rep_id": manager.id if manager else None}  # fmt: skip
    told = [timer.rep_id] + ([manager.id] if manager is not None else [])
    notify(s, BREACHED_EVENT, told, lead, message, payload, now)
    if action != "reassign":
        notify(s, ESCALATED_EVENT, told[1:], lead, message, payload, now)


def _count(s: Session, lead_id: int, kind: str) -> int:
    return len(
        s.scalars(
            select(DecisionRow.id).where(DecisionRow.lead_id == lead_id, DecisionRow.kind == kind)
        ).all()
    )


def _count_miss(s: Session, rep_id: int, spec: SlaSpec, now: datetime) -> bool:
    """Add a miss to the rep's streak; at the threshold set them away. True if so."""
    row = s.scalar(select(RepSlaRow).where(RepSlaRow.rep_id == rep_id).with_for_update())
    if row is None:
        row = RepSlaRow(rep_id=rep_id, consecutive_misses=0, total_misses=0, updated_at=now)
        s.add(row)
    row.consecutive_misses += 1
    row.total_misses += 1
    row.updated_at = now
    if not rules.goes_away(row.consecutive_misses, spec.away_after_misses):
        return False
    rep = s.get(RepRow, rep_id)
    if rep is None or rep.status == RepStatus.AWAY:
        return False
    rep.status = RepStatus.AWAY
    rep.updated_at = now
    row.consecutive_misses = 0
    bump(s, ORG_REVISION)  # every process reloads the org: rotations skip the rep now
    message = f"{rep.name} missed {spec.away_after_misses} SLAs in a row and was set to away."
    notify(s, AWAY_EVENT, [rep_id], None, message, {"rep_id": rep_id,
           "misses": spec.away_after_misses}, now)  # fmt: skip
    return True


def notify(
    s: Session,
    event: str,
    rep_ids: list[int],
    lead: LeadRow | None,
    message: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """Tell the reps (their channels; in-app by default) and the subscribed endpoints,
    through the outbox, in the same transaction as the event it reports."""
    from leadflow.services.events import lead_summary
    from leadflow.services.notifications import notify_reps, publish

    data = {"message": message[:1000], **payload}
    if lead is not None:
        data["lead"] = lead_summary(lead)
    notify_reps(s, event, {rid: data for rid in rep_ids}, now, hot=False)
    publish(s, event, data, now)


def notifications(
    svc: Services, rep_id: int | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """SLA notifications as reps received them: their in-app outbox rows."""
    q = (
        select(OutboxRow)
        .where(OutboxRow.channel == INAPP, OutboxRow.event.in_(SLA_EVENTS))
        .order_by(OutboxRow.id.desc())
        .limit(limit)
    )
    if rep_id is not None:
        q = q.where(OutboxRow.rep_id == rep_id)
    with svc.db.read() as s:
        return [
            {"id": n.id, "kind": n.event, "rep_id": n.rep_id,
             "lead_id": n.payload.get("lead_id"), "message": n.payload.get("message", ""),
             "payload": n.payload, "created_at": n.created_at}
            for n in s.scalars(q)
        ]  # fmt: skip


def timers(svc: Services, lead_id: int) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        rows = s.scalars(
            select(SlaTimerRow).where(SlaTimerRow.lead_id == lead_id).order_by(SlaTimerRow.id)
        )
        return [
            {"id": t.id, "rep_id": t.rep_id, "policy": t.policy, "due_at": t.due_at,
             "state": t.state, "resolved_at": t.resolved_at}
            for t in rows
        ]  # fmt: skip


def pending_due(svc: Services, lead_ids: list[int]) -> dict[int, datetime]:
    """When each of these leads' pending first-contact timer falls due (the countdowns
    of "my leads"); leads without a pending timer are absent."""
    if not lead_ids:
        return {}
    with svc.db.read() as s:
        rows = s.execute(
            select(SlaTimerRow.lead_id, SlaTimerRow.due_at).where(
                SlaTimerRow.lead_id.in_(lead_ids[:1000]), SlaTimerRow.state == PENDING
            )
        )
        return {lead_id: due for lead_id, due in rows}


# ---------------------------------------------------------------- `leadflow check`


def check_invariants(s: Session, now: datetime) -> Iterator[Violation]:
    """Lifecycle: a closed lead is out of play — no queue, no live claim, no SLA timer."""
    from leadflow.domain.lifecycle import CLOSED
    from leadflow.store.pull_models import ClaimRow

    closed = sorted(CLOSED)
    held = select(ClaimRow.id).where(ClaimRow.lead_id == LeadRow.id, ClaimRow.state == "held")
    open_q = select(LeadRow.id, LeadRow.status, LeadRow.queue).where(
        LeadRow.status.in_(closed), (LeadRow.queue.is_not(None)) | held.exists()
    )
    for lead_id, status, queue in s.execute(open_q.order_by(LeadRow.id)):
        where = f"still in queue {queue!r}" if queue else "still held by a claim"
        yield Violation("closed lead counted open", f"lead {lead_id}", f"{status} but {where}")
    timers = (
        select(SlaTimerRow.id, SlaTimerRow.lead_id, LeadRow.status)
        .join(LeadRow, LeadRow.id == SlaTimerRow.lead_id)
        .where(SlaTimerRow.state == PENDING, LeadRow.status.in_(closed))
    )
    for timer_id, lead_id, status in s.execute(timers.order_by(SlaTimerRow.id)):
        yield Violation("sla timer on closed lead", f"sla_timers {timer_id}",
                        f"pending for lead {lead_id}, which is {status}")  # fmt: skip
