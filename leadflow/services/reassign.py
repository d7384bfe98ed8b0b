"""Move a lead elsewhere by the rules: an SLA breach, a field change, a rep leaving, or a
manager's hand. Every move is one routing decision; the rulebook picks the new owner
(previous owners excluded where asked), eligibility is the routing's own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadflow.domain import lifecycle
from leadflow.domain.eligibility import Requirements, skip_reason
from leadflow.domain.model import OPEN_STATUSES, LeadStatus
from leadflow.domain.routing import Outcome, RoutingResult
from leadflow.errors import Conflict, NotFound, ValidationError
from leadflow.services import lifecycle_config
from leadflow.services.context import ORG_REVISION, Services, read_meta
from leadflow.services.org import load_org
from leadflow.services.routing import (
    _load,
    _lock_loads,
    apply_result,
    decide,
    release_open,
)
from leadflow.store.models import DecisionRow, LeadRow, RepRow

MAX_BATCH = 10_000


def previous_owners(s: Session, lead_id: int) -> frozenset[int]:
    """Every rep the lead was ever assigned to (from its decisions: one source of truth)."""
    rows = s.scalars(
        select(DecisionRow.rep_id).where(
            DecisionRow.lead_id == lead_id,
            DecisionRow.outcome == LeadStatus.ASSIGNED,
            DecisionRow.rep_id.is_not(None),
        )
    )
    return frozenset(r for r in rows if r is not None)


def move(
    svc: Services,
    s: Session,
    lead: LeadRow,
    now: datetime,
    *,
    kind: str,
    actor: str,
    exclude: frozenset[int] = frozenset(),
    note: dict[str, Any] | None = None,
) -> DecisionRow:
    """Route an existing lead again, in the caller's transaction."""
    before_owner, before_status = lead.owner_rep_id, lead.status
    result, _, org, load_rows, rotations, elapsed = decide(
        svc, s, dict(lead.data), now, lock=True, exclude=exclude
    )
    if note:
        result.trace.update(note)
    if exclude:
        result.trace["excluded_reps"] = sorted(exclude)
    decision = apply_result(s, lead, result, org, load_rows, rotations, now, elapsed, kind, actor)
    _settle(s, lead, before_owner, before_status)
    return decision


def _settle(s: Session, lead: LeadRow, before_owner: int | None, before_status: str) -> None:
    # The previous owner no longer carries the lead (counted again if they got it back).
    if before_owner is not None and lifecycle.is_open(before_status):
        release_open(s, before_owner)
    # Progress survives a change of hands: a contacted lead stays contacted.
    if lead.status == LeadStatus.ASSIGNED and before_status in (
        LeadStatus.CONTACTED,
        LeadStatus.QUALIFIED,
    ):
        lead.status = before_status


def reroute_if_asked(
    svc: Services, s: Session, lead: LeadRow, changed: list[str], now: datetime, *, actor: str
) -> None:
    """Re-evaluate the rules when a changed field is one `lifecycle.reroute.on_change` lists
    (a prefix counts: `company` covers `company.country`)."""
    spec = lifecycle_config.spec(s).reroute
    hits = [c for c in changed if any(c == f or c.startswith(f + ".") for f in spec.on_change)]
    if hits and lead.status in spec.statuses:
        move(svc, s, lead, now, kind="reroute", actor=actor, note={"reroute": {"changed": hits}})


def route_again(svc: Services, lead_id: int, reason: str, *, actor: str) -> dict[str, Any]:
    """Run the rules again for one lead: a recycled lead re-enters routing, a queued one is
    re-evaluated (the rulebook or the organisation changed). Won/lost leads are final
    for routing: recycle them first."""
    from leadflow.services.lifecycle import lock_lead
    from leadflow.services.routing import lead_view

    now = svc.clock.now()
    with svc.db.write() as s:
        lead = lock_lead(s, lead_id)
        verdict = lifecycle.check(lead.status, LeadStatus.QUEUED, by_routing=True)
        if not verdict.allowed:
            raise Conflict(verdict.reason + "; recycle it first", field="status")
        move(svc, s, lead, now, kind="reroute", actor=actor, note={"reroute": {"reason": reason}})
        return lead_view(lead)


# ---------------------------------------------------------------- manual reassignment


def reassign_to(
    svc: Services, lead_id: int, rep_id: int, reason: str, *, actor: str, force: bool = False
) -> dict[str, Any]:
    """A manager hands the lead to a rep. An ineligible rep (away, at capacity…) is refused
    with the reason unless `force`; the decision records the reason either way."""
    from leadflow.services.lifecycle import lock_lead
    from leadflow.services.routing import lead_view

    if not reason.strip():
        raise ValidationError("say why the lead is reassigned", field="reason")
    now = svc.clock.now()
    with svc.db.write() as s:
        lead = lock_lead(s, lead_id)
        if lifecycle.is_closed(lead.status):
            raise Conflict(f"the lead is {lead.status}; recycle it first", field="status")
        if s.get(RepRow, rep_id) is None:
            raise NotFound(f"rep {rep_id} not found")
        org = load_org(svc, s, read_meta(s).get(ORG_REVISION, 0), now)
        load_rows = _lock_loads(s, frozenset({rep_id}), True)
        rep = org.reps[rep_id]
        skip = skip_reason(rep, _load(load_rows[rep_id], org, now), Requirements(), now)
        if skip is not None and not force:
            raise Conflict(f"{rep.name} cannot take leads now ({skip}); pass force to override",
                           field="rep_id")  # fmt: skip
        outcome = Outcome("assigned", "manual", rep_id=rep_id, method="manual", reason=reason)
        trace = {
            "manual": {
                "by": actor,
                "reason": reason,
                "forced_past": skip,
                "from": lead.owner_rep_id,
            }
        }
        before_owner, before_status = lead.owner_rep_id, lead.status
        apply_result(s, lead, RoutingResult(outcome, trace), org, load_rows, {}, now, 0,
                     "manual_reassign", actor)  # fmt: skip
        _settle(s, lead, before_owner, before_status)
        return lead_view(lead)


# ---------------------------------------------------------------- redistribution


class _Preview(Exception):
    """Raised to roll back a dry run after computing it exactly."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__("dry run")
        self.report = report


def redistribute(
    svc: Services, rep_id: int, *, reason: str = "", dry_run: bool = False, actor: str = "api"
) -> dict[str, Any]:
    """Every open lead of a leaving rep goes back through the rules (that rep excluded),
    as one transaction. A dry run computes the very same batch and rolls it back."""
    now = svc.clock.now()
    try:
        with svc.db.write() as s:
            if s.get(RepRow, rep_id) is None:
                raise NotFound(f"rep {rep_id} not found")
            leads = s.scalars(
                select(LeadRow)
                .where(LeadRow.owner_rep_id == rep_id, LeadRow.status.in_(sorted(OPEN_STATUSES)))
                .order_by(LeadRow.id)
                .limit(MAX_BATCH)
                .with_for_update()
            ).all()
            items = []
            for lead in leads:
                note = {"redistribute": {"from": rep_id, "reason": reason}}
                d = move(svc, s, lead, now, kind="redistribute", actor=actor,
                         exclude=frozenset({rep_id}), note=note)  # fmt: skip
                items.append({"lead_id": lead.id, "outcome": d.outcome, "rep_id": d.rep_id,
                              "queue": d.queue, "rule": d.rule, "status": lead.status})  # fmt: skip
            report = _report(rep_id, items, dry_run)
            if dry_run:
                raise _Preview(report)
            return report
    except _Preview as preview:
        return preview.report


def _report(rep_id: int, items: list[dict[str, Any]], dry_run: bool) -> dict[str, Any]:
    per_rep: dict[str, int] = {}
    for item in items:
        if item["rep_id"] is not None:
            per_rep[str(item["rep_id"])] = per_rep.get(str(item["rep_id"]), 0) + 1
    return {
        "rep_id": rep_id,
        "dry_run": dry_run,
        "total": len(items),
        "assigned": sum(1 for i in items if i["outcome"] == LeadStatus.ASSIGNED),
        "queued": sum(1 for i in items if i["outcome"] == LeadStatus.QUEUED),
        "offered": sum(1 for i in items if i["outcome"] == LeadStatus.OFFERED),
        "per_rep": per_rep,
        "items": items,
    }
