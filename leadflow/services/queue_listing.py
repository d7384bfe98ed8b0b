"""What a viewer sees of a queue: the mode caps it, the rep's tier refines it.

A blind queue answers with ages and a count only, and refuses filters and searches
(a search over hidden fields would leak them through the count). Filters and search
only touch the fields the viewer can see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadflow.domain.model import LeadStatus
from leadflow.domain.pull import (
    Queue,
    Tier,
    View,
    age_seconds,
    in_rep_view,
    may_open_details,
    preview,
    rep_view,
    skip_refusal,
)
from leadflow.errors import Conflict, NotFound, ValidationError
from leadflow.services.auth import Principal
from leadflow.services.claims import (
    HELD,
    claim_view,
    puller,
    queue_order,
    unavailable,
    waiting_in,
)
from leadflow.services.context import Services
from leadflow.services.queues import load_queue
from leadflow.services.routing import lead_view
from leadflow.store.models import LeadRow
from leadflow.store.pull_models import ClaimRow, QueueViewRow

SCAN_LIMIT = 10_000
SORTS = {"age", "-age", "score", "-score"}


@dataclass(frozen=True, slots=True)
class Filters:
    q: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    industry: str | None = None
    source: str | None = None
    sort: str | None = None

    def given(self) -> list[str]:
        return [
            k
            for k in ("q", "min_score", "max_score", "industry", "source", "sort")
            if getattr(self, k) is not None
        ]


def _viewer(s: Session, name: str, principal: Principal) -> tuple[Queue, Tier | None, View]:
    """Staff see everything (they triage and supervise); reps what mode and tier allow."""
    if principal.is_staff:
        return load_queue(s, name), None, View.FULL
    queue, tier, _ = puller(s, name, principal)
    return queue, tier, rep_view(queue, tier)


def list_queue(
    svc: Services,
    name: str,
    principal: Principal,
    filters: Filters,
    *,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    now = svc.clock.now()
    with svc.db.read() as s:
        queue, tier, view = _viewer(s, name, principal)
        _check_filters(queue, view, filters)
        rows = list(s.scalars(waiting_in(name).order_by(*queue_order(queue)).limit(SCAN_LIMIT)))
    visible = [r for r in rows if tier is None or in_rep_view(queue, tier, r.data)]
    visible = [r for r in visible if _matches(r, queue, view, filters)]
    visible = _sorted(visible, filters.sort)
    page = visible[offset : offset + limit]
    return {
        "queue": queue.name,
        "mode": str(queue.mode),
        "view": str(view),
        "count": len(visible),
        "oldest_age_seconds": max((age_seconds(r.created_at, now) for r in visible), default=0),
        "items": [_item(r, queue, view, now) for r in page],
    }


def _check_filters(queue: Queue, view: View, filters: Filters) -> None:
    given = filters.given()
    if view is View.AGE_ONLY and given:
        raise ValidationError(
            f"queue {queue.name!r} is blind: it cannot be filtered, sorted or searched",
            field=given[0],
        )
    if filters.sort is not None and filters.sort not in SORTS:
        raise ValidationError(f"sort must be one of {sorted(SORTS)}", field="sort")
    if view is View.FULL:
        return
    needs = {
        "min_score": "score",
        "max_score": "score",
        "industry": "company.industry",
        "source": "source",
    }
    if filters.sort in ("score", "-score"):
        needs["sort"] = "score"
    for key, field in needs.items():
        if getattr(filters, key) is not None and field not in queue.preview_fields:
            raise ValidationError(
                f"{key}: {field} is not among queue {queue.name!r}'s preview fields", field=key
            )


def _visible_data(row: LeadRow, queue: Queue, view: View) -> dict[str, Any]:
    if view is View.FULL:
        return dict(row.data)
    return preview(row.data, queue.preview_fields)


def _matches(row: LeadRow, queue: Queue, view: View, f: Filters) -> bool:
    if view is View.AGE_ONLY:
        return True
    score = row.score
    if f.min_score is not None and (score is None or score < f.min_score):
        return False
    if f.max_score is not None and (score is None or score > f.max_score):
        return False
    company = row.data.get("company") or {}
    if f.industry is not None and str(company.get("industry", "")).lower() != f.industry.lower():
        return False
    if f.source is not None and str(row.data.get("source", "")).lower() != f.source.lower():
        return False
    if f.q:
        text = " ".join(_strings(_visible_data(row, queue, view))).casefold()
        return f.q.casefold() in text
    return True


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [] if value is None else [str(value)]


def _sorted(rows: list[LeadRow], sort: str | None) -> list[LeadRow]:
    if sort in (None, "age"):
        return rows if sort is None else sorted(rows, key=lambda r: (r.created_at, r.id))
    if sort == "-age":
        return sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)
    missing = float("-inf")
    high_first = sort == "-score"
    return sorted(
        rows,
        key=lambda r: (r.score if r.score is not None else missing, -r.id),
        reverse=high_first,
    )


def _item(row: LeadRow, queue: Queue, view: View, now: datetime) -> dict[str, Any]:
    age = age_seconds(row.created_at, now)
    if view is View.AGE_ONLY:
        return {"id": row.id, "age_seconds": age}
    if view is View.FULL:
        return {**lead_view(row), "age_seconds": age}
    return {"id": row.id, "age_seconds": age, **preview(row.data, queue.preview_fields)}


# ---------------------------------------------------------------- one lead's details


def lead_details(svc: Services, name: str, lead_id: int, principal: Principal) -> dict[str, Any]:
    """Full details of one queued lead before claiming (cherry-pick; top reps in pools).
    Counted against the skip limit; opening the same lead again is free."""
    now = svc.clock.now()
    with svc.db.write() as s:
        queue, tier, _ = _viewer(s, name, principal)
        lead = s.get(LeadRow, lead_id)
        waiting = lead is not None and lead.status == LeadStatus.QUEUED and lead.queue == name
        if tier is None:  # staff
            if not waiting or lead is None:
                raise NotFound(f"lead {lead_id} is not waiting in queue {name!r}")
            return {**lead_view(lead), "age_seconds": age_seconds(lead.created_at, now)}
        if not may_open_details(queue, tier):
            raise Conflict(
                f"queue {name!r} ({queue.mode}) shows no lead details before a claim",
                field="mode",
            )
        if not waiting or lead is None or not in_rep_view(queue, tier, lead.data):
            raise NotFound(unavailable(lead_id))
        assert principal.rep_id is not None
        _count_view(s, queue, principal.rep_id, lead_id, now)
        return {**lead_view(lead), "age_seconds": age_seconds(lead.created_at, now)}


def _count_view(s: Session, queue: Queue, rep_id: int, lead_id: int, now: datetime) -> None:
    limit = queue.policy.skip_limit
    if limit is None:
        return
    last_claim = s.scalar(
        select(func.max(ClaimRow.claimed_at)).where(
            ClaimRow.rep_id == rep_id, ClaimRow.queue == queue.name
        )
    )
    seen = select(QueueViewRow.lead_id).where(
        QueueViewRow.rep_id == rep_id, QueueViewRow.queue == queue.name
    )
    if last_claim is not None:
        seen = seen.where(QueueViewRow.viewed_at > last_claim)
    viewed = set(s.scalars(seen))
    refusal = skip_refusal(limit, len(viewed), lead_id in viewed)
    if refusal:
        raise Conflict(refusal, field="skip_limit")
    if lead_id not in viewed:
        s.add(QueueViewRow(rep_id=rep_id, queue=queue.name, lead_id=lead_id, viewed_at=now))


def my_claims(svc: Services, rep_id: int) -> list[dict[str, Any]]:
    """A rep's live claims with their lease ends (what the hoarding cap counts)."""
    with svc.db.read() as s:
        rows = s.scalars(
            select(ClaimRow)
            .where(ClaimRow.rep_id == rep_id, ClaimRow.state == HELD)
            .order_by(ClaimRow.lease_until)
        )
        return [claim_view(r) for r in rows]
