"""Outbound lead events from every routing decision, in the decision's transaction.

Runs as an `after_decision` hook (see hooks.py): `lead.created` for a new lead, then
`lead.assigned` (the owner is told too) or `lead.queued`; pull decisions add
`lead.claimed`, `lead.released` and `lead.returned` (lease ended; the rep is told).
Offers publish their own.
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
    _pull_event(s, lead, decision, base, now)


PULL_EVENTS = {"claim": "lead.claimed", "release": "lead.released", "return": "lead.returned"}
"""Pull decision kinds (services/claims.py, handback.py, pull_timers.py) → event names."""


def _pull_event(
    s: Session, lead: LeadRow, decision: DecisionRow, base: dict[str, Any], now: datetime
) -> None:
    event = PULL_EVENTS.get(decision.kind)
    if event is None:
        return
    trace = decision.trace or {}
    # A claim names the claimer; a release or a lease return the rep it came back from.
    rep_id = decision.rep_id if decision.kind == "claim" else trace.get("returned_from_rep")
    data = {**base, "rep_id": rep_id, "queue": decision.queue or trace.get("queue")}
    if decision.kind == "claim":
        data["lease_until"] = trace.get("lease_until")
    publish(s, event, data, now)
    if decision.kind == "return" and rep_id is not None:
        notify_rep(s, rep_id, event, data, now, hot=False)  # "your lease ran out"
