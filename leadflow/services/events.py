"""Outbound lead events from every routing decision, in the decision's transaction.

Runs as an `after_decision` hook (see hooks.py): `lead.created` for a new lead, then
`lead.assigned` (the owner is told too) or `lead.queued`. Offers publish their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from leadflow.domain.model import Org
from leadflow.domain.routing import RoutingResult
from leadflow.services.notifications import is_hot, notify_rep, publish
from leadflow.store.models import DecisionRow, LeadRow


def lead_summary(lead: LeadRow) -> dict[str, Any]:
    """What receivers get about a lead: enough to find it, nothing more."""
    data = lead.data or {}
    return {
        "id": lead.id,
        "external_id": lead.external_id,
        "status": lead.status,
        "owner_rep_id": lead.owner_rep_id,
        "queue": lead.queue,
        "score": lead.score,
        "email": lead.email,
        "company": data.get("company") or {},
        "created_at": lead.created_at.isoformat() if lead.created_at else None,
    }


def after_decision(
    s: Session,
    lead: LeadRow,
    decision: DecisionRow,
    result: RoutingResult,
    org: Org,
    now: datetime,
) -> None:
    summary = lead_summary(lead)
    if decision.kind == "route":
        publish(s, "lead.created", {"lead": summary}, now)
    base = {"lead": summary, "decision_id": decision.id, "rule": decision.rule}
    if decision.outcome == "assigned" and decision.rep_id is not None:
        data = {**base, "rep_id": decision.rep_id, "method": decision.method}
        publish(s, "lead.assigned", data, now)
        notify_rep(s, decision.rep_id, "lead.assigned", data, now, hot=is_hot(lead.score))
    elif decision.outcome == "queued":
        publish(s, "lead.queued", {**base, "queue": decision.queue}, now)
