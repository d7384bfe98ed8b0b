"""Giving a claimed lead back (lease expiry, release) and managers assigning queued leads.

Same lock order as claims (the rep's load row, then the lead) and the same conditional
writes, so a release racing an expiry or a contact ends the claim exactly once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadflow.domain.model import LeadStatus
from leadflow.domain.routing import UNASSIGNED_QUEUE, Outcome, RoutingResult
from leadflow.errors import Conflict, NotFound, ValidationError
from leadflow.services.auth import Principal
from leadflow.services.claims import HELD, current_org, take
from leadflow.services.context import Services
from leadflow.services.routing import apply_result, lead_view, lock_loads, release_open
from leadflow.store.models import LeadRow, RepRow
from leadflow.store.pull_models import ClaimRow, PullTimerRow, QueueRow

# ---------------------------------------------------------------- returning a lead


def return_to_queue(
    svc: Services,
    s: Session,
    claim_row: ClaimRow,
    now: datetime,
    *,
    state: str,
    kind: str,
    reason: str,
    actor: str,
) -> bool:
    """End a held claim and put the lead back where it waited, with its original age.

    Idempotent: a claim that is no longer held (contacted, released, expired) is left
    alone and False is returned.
    """
    loads = lock_loads(s, frozenset({claim_row.rep_id}))
    ended = s.execute(
        update(ClaimRow)
        .where(ClaimRow.id == claim_row.id, ClaimRow.state == HELD)
        .values(state=state, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != 1:  # type: ignore[attr-defined]
        return False
    s.execute(
        update(PullTimerRow)
        .where(PullTimerRow.claim_id == claim_row.id, PullTimerRow.done_at.is_(None))
        .values(done_at=now)
        .execution_options(synchronize_session=False)
    )
    lead = s.get(LeadRow, claim_row.lead_id, with_for_update=True)
    if lead is None or lead.owner_rep_id != claim_row.rep_id or lead.status != LeadStatus.ASSIGNED:
        return True  # the lead moved on (reassigned by a manager): nothing to give back
    target = claim_row.queue if s.get(QueueRow, claim_row.queue) else UNASSIGNED_QUEUE
    release_open(s, claim_row.rep_id)
    outcome = Outcome("queued", lead.rule or target, None, target, kind, None, reason)
    trace = {"queue": target, "claim_id": claim_row.id, "returned_from_rep": claim_row.rep_id}
    org = current_org(svc, s, now)
    apply_result(s, lead, RoutingResult(outcome, trace), org, loads, {}, now, 0, kind, actor)
    return True


def release(svc: Services, lead_id: int, principal: Principal) -> dict[str, Any]:
    now = svc.clock.now()
    with svc.db.write() as s:
        row = s.scalar(select(ClaimRow).where(ClaimRow.lead_id == lead_id, ClaimRow.state == HELD))
        mine = row is not None and row.rep_id == principal.rep_id
        if row is None or not (mine or principal.is_staff):
            if principal.is_staff and s.get(LeadRow, lead_id) is not None:
                raise Conflict(f"lead {lead_id} has no live claim to release", field="lead")
            raise NotFound(f"lead {lead_id} has no claim of yours to release")
        reason = f"released by {principal.name}; back in queue {row.queue!r} with its original age"
        return_to_queue(
            svc, s, row, now, state="released", kind="release", reason=reason, actor=principal.name
        )
        lead = s.get(LeadRow, lead_id)
        assert lead is not None
        return lead_view(lead)


# ---------------------------------------------------------------- managers


def assign(
    svc: Services, lead_id: int, rep_id: int, principal: Principal, reason: str = ""
) -> dict[str, Any]:
    """A manager gives a queued lead (typically from a triage queue) to a rep; the
    reason, when given, is part of the decision (the trace says why by hand)."""
    now = svc.clock.now()
    with svc.db.write() as s:
        rep = s.get(RepRow, rep_id)
        if rep is None or not rep.active:
            raise ValidationError(f"rep {rep_id} not found or inactive", field="rep_id")
        loads = lock_loads(s, frozenset({rep_id}))
        lead = s.get(LeadRow, lead_id)
        if lead is None:
            raise NotFound(f"lead {lead_id} not found")
        queue = lead.queue
        if (
            lead.status != LeadStatus.QUEUED
            or queue is None
            or not take(s, lead_id, queue, rep_id, now)
        ):
            raise Conflict(
                f"lead {lead_id} is not waiting in a queue (status {lead.status}); "
                "only queued leads can be assigned by hand",
                field="lead",
            )
        why = f"assigned by hand from queue {queue!r} by {principal.name}"
        if reason.strip():
            why += f": {reason.strip()}"
        outcome = Outcome("assigned", lead.rule or queue, rep_id, queue, "manual", None, why)
        org = current_org(svc, s, now)
        trace = {"queue": queue, "assigned_by": principal.name, "reason": reason.strip()}
        apply_result(
            s, lead, RoutingResult(outcome, trace), org, loads, {}, now, 0, "assign", principal.name
        )
        return lead_view(lead)
