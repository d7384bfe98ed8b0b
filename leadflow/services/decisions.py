"""Record a lifecycle step (status change, merge, SLA breach…) as a decision row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from leadflow.store.models import DecisionRow, LeadRow


def record(
    s: Session,
    lead: LeadRow,
    kind: str,
    reason: str,
    now: datetime,
    *,
    actor: str = "system",
    trace: dict[str, Any] | None = None,
    rep_id: int | None = None,
) -> DecisionRow:
    """A decision that does not route: the lead's status after it is the outcome."""
    row = DecisionRow(
        lead_id=lead.id,
        kind=kind,
        outcome=lead.status,
        rule=lead.rule,
        method=None,
        rep_id=rep_id if rep_id is not None else lead.owner_rep_id,
        queue=lead.queue,
        reason=reason,
        rulebook_version=None,
        trace=trace or {},
        duration_us=0,
        actor=actor,
        created_at=now,
    )
    s.add(row)
    s.flush()
    lead.last_decision_id = row.id
    lead.updated_at = now
    return row
