"""Activities on a lead. The first contact ends the claim lease (the rep is working the
lead), stamps time-to-first-contact and meets the SLA; outcomes move the lead through
the lifecycle state machine (services/lifecycle.py), so each change is a `status`
decision and an illegal move is refused with the machine's reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadflow.domain import lifecycle
from leadflow.domain.model import LeadStatus
from leadflow.errors import Conflict, NotFound, ValidationError
from leadflow.pull_schemas import ActivityIn
from leadflow.services import sla
from leadflow.services.auth import Principal
from leadflow.services.claims import HELD
from leadflow.services.context import Services
from leadflow.services.lifecycle import transition
from leadflow.services.routing import lock_loads
from leadflow.store.models import LeadRow
from leadflow.store.pull_models import ActivityRow, ClaimRow, FirstContactRow, PullTimerRow

CONTACT_TYPES = frozenset({"called", "emailed", "meeting"})
"""Activities that are a contact and nothing more: they never close or qualify a lead."""
OUTCOMES = {
    "qualified": LeadStatus.QUALIFIED,
    "won": LeadStatus.WON,
    "lost": LeadStatus.LOST,
    "disqualified": LeadStatus.DISQUALIFIED,
}


def log_activity(
    svc: Services, lead_id: int, data: ActivityIn, principal: Principal
) -> dict[str, Any]:
    """Store the activity; a first contact ends the lease and meets the SLA, an outcome
    moves the lead through the lifecycle state machine (each change is a decision)."""
    now = svc.clock.now()
    with svc.db.write() as s:
        peek = s.get(LeadRow, lead_id)
        if peek is None or not (principal.is_staff or peek.owner_rep_id == principal.rep_id):
            raise NotFound(f"lead {lead_id} not found")
        owner = peek.owner_rep_id
        if owner is not None:
            lock_loads(s, frozenset({owner}))  # same lock order as claims: load, then lead
        lead = s.get(LeadRow, lead_id, with_for_update=True, populate_existing=True)
        assert lead is not None
        if data.type in OUTCOMES:
            _check_outcome(lead, OUTCOMES[data.type], data.note or "")
        row = ActivityRow(
            lead_id=lead_id,
            rep_id=principal.rep_id,
            type=data.type,
            note=data.note or "",
            actor=principal.name,
            created_at=now,
        )
        s.add(row)
        first = first_contact(s, lead, principal.rep_id, now)
        # Any activity is a contact: an assigned lead becomes `contacted` (SLA met).
        sla.record_first_contact(s, lead, now, actor=principal.name)
        target = OUTCOMES.get(data.type)
        if target is not None and lead.status != target:
            transition(s, lead, target, data.note or "", now, actor=principal.name)
        s.flush()
        return {**activity_view(row), "lead_status": lead.status, "first_contact": first}


def _check_outcome(lead: LeadRow, target: LeadStatus, note: str) -> None:
    """Refuse an outcome the state machine refuses, before anything is stored, naming
    the activity's own fields (`note` carries the reason, `type` the outcome)."""
    if lead.status == target:
        return  # logging the same outcome twice changes nothing
    current = lead.status
    if current == LeadStatus.ASSIGNED:
        current = LeadStatus.CONTACTED  # the activity itself is the first contact
    verdict = lifecycle.check(current, target, note)
    if not verdict.allowed:
        error = ValidationError if verdict.bad_input else Conflict
        raise error(verdict.reason, field="note" if verdict.field == "reason" else "type")


def on_status_change(s: Session, lead: LeadRow, before: str, now: datetime) -> None:
    """Lifecycle listener: a first contact made through the status API ends the lease too;
    closing a lead straight from `assigned` ends it as well (nobody works a closed lead)."""
    if lead.status in sla.CONTACT_STATUSES and before not in sla.CONTACT_STATUSES:
        first_contact(s, lead, lead.owner_rep_id, now)
    elif lifecycle.is_closed(lead.status):
        _end_leases(s, lead.id, "closed", now)


def first_contact(s: Session, lead: LeadRow, rep_id: int | None, now: datetime) -> dict[str, Any]:
    """End a live lease (the lead is being worked) and stamp the first contact once."""
    _end_leases(s, lead.id, "contacted", now)
    stamp = s.get(FirstContactRow, lead.id)
    if stamp is None:
        seconds = int((now - lead.created_at).total_seconds())
        stamp = FirstContactRow(lead_id=lead.id, rep_id=rep_id, contacted_at=now, seconds=seconds)
        s.add(stamp)
        s.flush()  # a listener in the same transaction must find it, not stamp again
    return {"at": stamp.contacted_at, "seconds_after_arrival": stamp.seconds}


def _end_leases(s: Session, lead_id: int, state: str, now: datetime) -> None:
    """End the lead's held claim and retire its lease timer."""
    ended = (
        s.execute(
            update(ClaimRow)
            .where(ClaimRow.lead_id == lead_id, ClaimRow.state == HELD)
            .values(state=state, ended_at=now)
            .returning(ClaimRow.id)
        )
        .scalars()
        .all()
    )
    if ended:
        s.execute(
            update(PullTimerRow)
            .where(PullTimerRow.claim_id.in_(ended), PullTimerRow.done_at.is_(None))
            .values(done_at=now)
        )


def activity_view(row: ActivityRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "lead_id": row.lead_id,
        "rep_id": row.rep_id,
        "type": row.type,
        "note": row.note,
        "actor": row.actor,
        "created_at": row.created_at,
    }


def list_activities(svc: Services, lead_id: int, principal: Principal) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        lead = s.get(LeadRow, lead_id)
        if lead is None or not (principal.is_staff or lead.owner_rep_id == principal.rep_id):
            raise NotFound(f"lead {lead_id} not found")
        rows = s.scalars(
            select(ActivityRow).where(ActivityRow.lead_id == lead_id).order_by(ActivityRow.id)
        )
        return [activity_view(r) for r in rows]
