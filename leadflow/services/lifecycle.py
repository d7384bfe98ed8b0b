"""Move a lead through its lifecycle: status changes by people, each one a decision.

Routing statuses (assigned, queued, offered) are set by routing only; this module
handles contacted → qualified → won | lost | disqualified, and recycled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadflow.domain import lifecycle
from leadflow.domain.model import LeadStatus
from leadflow.errors import Conflict, NotFound, ValidationError
from leadflow.services.context import Services
from leadflow.services.decisions import record
from leadflow.services.routing import lead_view, release_open
from leadflow.store.models import LeadRow


def lock_lead(s: Session, lead_id: int) -> LeadRow:
    """The lead, row-locked until the transaction ends (PostgreSQL), or NotFound."""
    lead = s.scalar(select(LeadRow).where(LeadRow.id == lead_id).with_for_update())
    if lead is None:
        raise NotFound(f"lead {lead_id} not found")
    return lead


def change_status(
    svc: Services,
    lead_id: int,
    status: str,
    reason: str = "",
    *,
    actor: str = "api",
    rep_id: int | None = None,
) -> dict[str, Any]:
    """Apply one person-made transition; `rep_id` set = the caller must own the lead."""
    now = svc.clock.now()
    with svc.db.write() as s:
        lead = lock_lead(s, lead_id)
        if rep_id is not None and lead.owner_rep_id != rep_id:
            raise NotFound(f"lead {lead_id} not found")  # same answer as for a missing id
        transition(s, lead, status, reason, now, actor=actor)
        return lead_view(lead)


def transition(
    s: Session, lead: LeadRow, status: str, reason: str, now: datetime, *, actor: str
) -> None:
    """Check, apply and record a transition in the caller's transaction."""
    verdict = lifecycle.check(lead.status, status, reason)
    if not verdict.allowed:
        # Unknown status or missing reason: bad input (422); a legal status at the wrong time: 409.
        error = ValidationError if verdict.bad_input else Conflict
        raise error(verdict.reason, field=verdict.field)
    before = lead.status
    owner = lead.owner_rep_id
    lead.status = status
    if lifecycle.releases_capacity(before, status) and owner is not None:
        release_open(s, owner)
    if status == LeadStatus.RECYCLED:
        # Returned to marketing: nobody owns it any more.
        lead.owner_rep_id = None
        lead.queue = None
    why = f"{before} → {status}" + (f": {reason.strip()}" if reason.strip() else "")
    trace = {"from": before, "to": status, "reason": reason.strip(), "owner_rep_id": owner}
    record(s, lead, "status", why, now, actor=actor, trace=trace, rep_id=owner)
    for listener in _status_listeners():
        listener(s, lead, before, now)


def _status_listeners() -> list[Any]:
    # SLA timers listen for first contact and closing, pull leases for first contact;
    # imported lazily (no import cycle).
    from leadflow.services import activities, sla

    return [sla.on_status_change, activities.on_status_change]


# ---------------------------------------------------------------- field changes


def merge_fields(data: dict[str, Any], patch: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Patch a lead document (company and attributes merge key by key); changed paths."""
    out = dict(data)
    changed: list[str] = []
    for key, value in patch.items():
        if key in ("company", "attributes") and isinstance(value, dict):
            inner = dict(out.get(key) or {})
            for k, v in value.items():
                if inner.get(k) != v:
                    changed.append(f"{key}.{k}")
                    if v is None:
                        inner.pop(k, None)
                    else:
                        inner[k] = v
            out[key] = inner
        elif out.get(key) != value:
            changed.append(key)
            if value is None:
                out.pop(key, None)
            else:
                out[key] = value
    return out, changed


def patch_lead(
    svc: Services,
    lead_id: int,
    patch: dict[str, Any],
    *,
    actor: str = "api",
    rep_id: int | None = None,
) -> dict[str, Any]:
    """Change a lead's fields; re-score, and re-route when the rulebook asks for it.
    A rep's edit (`rep_id` set) never re-routes: a rep cannot shed a lead by editing it."""
    from leadflow.services import reassign, scoring

    now = svc.clock.now()
    with svc.db.write() as s:
        lead = lock_lead(s, lead_id)
        if rep_id is not None and lead.owner_rep_id != rep_id:
            raise NotFound(f"lead {lead_id} not found")
        if lifecycle.is_closed(lead.status) and lead.status != LeadStatus.RECYCLED:
            raise Conflict(f"the lead is {lead.status}; recycle it before editing", field="status")
        data, changed = merge_fields(lead.data, patch)
        if not changed:
            return lead_view(lead)
        notes: list[dict[str, Any]] = []
        if "score" in changed:
            data.pop("scoring", None)  # a score set by hand is kept, not recomputed
        scoring.rescore(s, data, notes)
        lead.data = data
        lead.email, lead.phone, lead.score = data.get("email"), data.get("phone"), data.get("score")
        trace = {"changed": changed, "notes": notes}
        record(
            s,
            lead,
            "update",
            f"fields changed: {', '.join(changed)}",
            now,
            actor=actor,
            trace=trace,
        )
        if rep_id is None:
            reassign.reroute_if_asked(svc, s, lead, changed, now, actor=actor)
        return lead_view(lead)


# ---------------------------------------------------------------- routing hooks


def before_routing(s: Session, doc: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """Dedup, then enrich, then score — the order of the design: a duplicate is merged
    before any work is spent on it, and the score sees the enriched fields."""
    from leadflow.services import dedup, enrichment, lifecycle_config

    spec, document = lifecycle_config.active(s)
    found = dedup.find_duplicate(s, doc, spec.dedup, enrichment.free_mail_domains(document), now)
    if found is not None:
        lead, key = found
        return dedup.merge(s, lead, key, doc, now)
    preview_routing(s, doc, now)
    return None


def preview_routing(s: Session, doc: dict[str, Any], now: datetime) -> None:
    """Enrichment and scoring only (reads, no writes): also what a dry run shows."""
    from leadflow.services import enrichment, lifecycle_config, scoring

    spec, document = lifecycle_config.active(s)
    notes: list[dict[str, Any]] = doc.setdefault("_trace", [])
    if spec.enrichment.enabled:
        enrichment.enrich(s, doc, spec.enrichment, enrichment.free_mail_domains(document), notes)
    if spec.scoring.enabled:
        scoring.score_lead(s, doc, spec.scoring, notes)


def after_decision(
    s: Session, lead: LeadRow, decision: Any, result: Any, org: Any, now: datetime
) -> None:
    """A new lead claims its identity keys; an assignment starts its SLA timer."""
    from leadflow.services import dedup, enrichment, lifecycle_config, sla

    spec, document = lifecycle_config.active(s)
    if decision.kind == "route":
        dedup.claim_keys(s, lead, spec.dedup, enrichment.free_mail_domains(document), now)
    sla.on_decision(s, lead, decision, org, spec.sla, now)
