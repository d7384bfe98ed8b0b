"""Activities on a lead. The first contact ends the claim lease (the rep is working the
lead) and stamps time-to-first-contact; outcomes move the lead's status forward."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadflow.domain.model import OPEN_STATUSES, LeadStatus
from leadflow.errors import NotFound
from leadflow.pull_schemas import ActivityIn
from leadflow.services import sla
from leadflow.services.auth import Principal
from leadflow.services.claims import HELD
from leadflow.services.context import Services
from leadflow.services.decisions import record
from leadflow.services.routing import lock_loads, release_open
from leadflow.store.models import LeadRow
from leadflow.store.pull_models import ActivityRow, ClaimRow, FirstContactRow, PullTimerRow

STATUS_AFTER = {
    "called": LeadStatus.CONTACTED,
    "emailed": LeadStatus.CONTACTED,
    "meeting": LeadStatus.CONTACTED,
    "qualified": LeadStatus.QUALIFIED,
    "won": LeadStatus.WON,
    "lost": LeadStatus.LOST,
    "disqualified": LeadStatus.REJECTED,
}
PROGRESS = [
    LeadStatus.ASSIGNED,
    LeadStatus.CONTACTED,
    LeadStatus.QUALIFIED,
    LeadStatus.WON,
]
CLOSED = frozenset({LeadStatus.WON, LeadStatus.LOST, LeadStatus.REJECTED})


def log_activity(
    svc: Services, lead_id: int, data: ActivityIn, principal: Principal
) -> dict[str, Any]:
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
        row = ActivityRow(
            lead_id=lead_id,
            rep_id=principal.rep_id,
            type=data.type,
            note=data.note or "",
            actor=principal.name,
            created_at=now,
        )
        s.add(row)
        first = _first_contact(s, lead, principal.rep_id, now)
        before = lead.status
        _advance(s, lead, STATUS_AFTER[data.type], now)
        s.flush()
        _record(s, lead, row, before, now)
        return {**activity_view(row), "lead_status": lead.status, "first_contact": first}


def _first_contact(s: Session, lead: LeadRow, rep_id: int | None, now: Any) -> dict[str, Any]:
    """End a live lease (the lead is being worked) and stamp the first contact once."""
    ended = (
        s.execute(
            update(ClaimRow)
            .where(ClaimRow.lead_id == lead.id, ClaimRow.state == HELD)
            .values(state="contacted", ended_at=now)
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
    stamp = s.get(FirstContactRow, lead.id)
    if stamp is None:
        seconds = int((now - lead.created_at).total_seconds())
        stamp = FirstContactRow(lead_id=lead.id, rep_id=rep_id, contacted_at=now, seconds=seconds)
        s.add(stamp)
    return {"at": stamp.contacted_at, "seconds_after_arrival": stamp.seconds}


def _record(s: Session, lead: LeadRow, row: ActivityRow, before: str, now: Any) -> None:
    """The activity is a decision of the lead (its timeline, the first-contact metrics),
    and a status it moved meets or cancels the SLA timer like any status change."""
    moved = f" ({before} → {lead.status})" if lead.status != before else ""
    trace = {"activity_id": row.id, "type": row.type, "from": before, "to": lead.status}
    record(s, lead, "activity", f"{row.type} logged by {row.actor}{moved}", now,
           actor=row.actor, trace=trace)  # fmt: skip
    if lead.status != before:
        sla.on_status_change(s, lead, before, now)


def _advance(s: Session, lead: LeadRow, target: LeadStatus, now: Any) -> None:
    current = LeadStatus(lead.status)
    if current in CLOSED or current not in OPEN_STATUSES:
        return  # closed leads keep their outcome; queued/offered ones are not being worked
    if target not in CLOSED and PROGRESS.index(target) <= PROGRESS.index(current):
        return
    lead.status = target
    lead.updated_at = now
    if target in CLOSED and lead.owner_rep_id is not None:
        release_open(s, lead.owner_rep_id)


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
