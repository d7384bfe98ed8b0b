"""SLA timers: first contact within a deadline, or the lead moves on (see lifecycle.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from leadflow.domain.model import LeadStatus
from leadflow.store.lifecycle_models import SlaTimerRow
from leadflow.store.models import LeadRow

CONTACT_STATUSES = frozenset({LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.WON})


def on_status_change(s: Session, lead: LeadRow, before: str, now: datetime) -> None:
    """Contact met the SLA; any other way out of the owner's hands cancels it."""
    state = "met" if lead.status in CONTACT_STATUSES else "cancelled"
    s.execute(
        update(SlaTimerRow)
        .where(SlaTimerRow.lead_id == lead.id, SlaTimerRow.state == "pending")
        .values(state=state, resolved_at=now)
    )


def on_decision(
    s: Session, lead: LeadRow, decision: Any, org: Any, spec: Any, now: datetime
) -> None:
    """Start the SLA timer of an assignment (filled in by the SLA step)."""
