"""Dedup at intake: a submission whose e-mail, phone or company domain (as configured)
belongs to a lead still in play is merged into it as a touch; the owner keeps it.

Concurrency: each identity key is a row (`lead_dedup_keys`). Intake inserts its keys
before deciding; a concurrent intake of the same person blocks on that insert (the
primary key) until the first commits, then reads the key's lead and merges. On SQLite,
writers are serialised anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadflow.domain.enrichment import identity_keys
from leadflow.rules.lifecycle import DedupSpec
from leadflow.services.decisions import record
from leadflow.store.dialect import insert_for
from leadflow.store.lifecycle_models import DedupKeyRow, TouchRow
from leadflow.store.models import LeadRow


def keys_of(doc: dict[str, Any], spec: DedupSpec, free_mail: frozenset[str]) -> list[str]:
    if not spec.enabled:
        return []
    return identity_keys(doc, spec.keys, strip_plus=spec.strip_plus_addressing, free_mail=free_mail)


def find_duplicate(
    s: Session, doc: dict[str, Any], spec: DedupSpec, free_mail: frozenset[str], now: datetime
) -> tuple[LeadRow, str] | None:
    """Lock this submission's keys; the open lead already holding one of them, if any."""
    keys = keys_of(doc, spec, free_mail)
    if not keys:
        return None
    insert = insert_for(s)
    s.execute(
        insert(DedupKeyRow)
        .values([{"key": k, "lead_id": None, "updated_at": now} for k in keys])
        .on_conflict_do_nothing()
    )
    rows = s.scalars(
        select(DedupKeyRow)
        .where(DedupKeyRow.key.in_(keys))
        .order_by(DedupKeyRow.key)
        .with_for_update()
    ).all()
    for row in rows:
        if row.lead_id is None:
            continue
        lead = s.get(LeadRow, row.lead_id)
        if lead is not None and lead.status in spec.merge_into:
            return lead, row.key
    return None


def merge(
    s: Session, lead: LeadRow, key: str, doc: dict[str, Any], now: datetime, actor: str = "intake"
) -> dict[str, Any]:
    """Attach the submission to `lead` as a touch and say so in a decision."""
    submission = {k: v for k, v in doc.items() if not k.startswith("_")}
    touch = TouchRow(lead_id=lead.id, matched_on=key, data=submission, created_at=now)
    s.add(touch)
    s.flush()
    kind, _, value = key.partition(":")
    reason = f"duplicate of open lead {lead.id} (same {kind}); merged as a touch, owner kept"
    trace = {"dedup": {"matched_on": kind, "key": value, "touch_id": touch.id}}
    record(s, lead, "merge", reason, now, actor=actor, trace=trace)
    return {"merged_into": lead.id, "reason": reason}


def claim_keys(
    s: Session, lead: LeadRow, spec: DedupSpec, free_mail: frozenset[str], now: datetime
) -> None:
    """Point this lead's keys at it (most were locked already by `find_duplicate`)."""
    keys = keys_of(lead.data, spec, free_mail)
    if not keys:
        return
    insert = insert_for(s)
    stmt = insert(DedupKeyRow).values(
        [{"key": k, "lead_id": lead.id, "updated_at": now} for k in keys]
    )
    s.execute(
        stmt.on_conflict_do_update(
            index_elements=["key"], set_={"lead_id": lead.id, "updated_at": now}
        )
    )


def touches(s: Session, lead_id: int) -> list[dict[str, Any]]:
    rows = s.scalars(select(TouchRow).where(TouchRow.lead_id == lead_id).order_by(TouchRow.id))
    return [
        {"id": t.id, "matched_on": t.matched_on, "data": t.data, "created_at": t.created_at}
        for t in rows
    ]
