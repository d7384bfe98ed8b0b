"""Claim, claim-next, release and manual assignment of queued leads.

Concurrency: taking a lead is one conditional UPDATE (`status = queued AND queue = q`),
so of two racing claimers exactly one changes a row. Lock order is the same as intake:
the rep's load row first, then the lead. Every change is a decision (routing.apply_result).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from leadflow.domain.eligibility import Requirements, skip_reason
from leadflow.domain.model import OPEN_STATUSES, LeadStatus, Org
from leadflow.domain.pull import (
    Mode,
    Queue,
    Tier,
    claim_by_id_refusal,
    diversity_refusal,
    hoarding_refusal,
    in_rep_view,
    pull_refusal,
)
from leadflow.domain.routing import Outcome, RoutingResult
from leadflow.errors import Conflict, Forbidden, NotFound
from leadflow.services.auth import Principal
from leadflow.services.context import ORG_REVISION, Services, read_meta
from leadflow.services.invariants import Violation
from leadflow.services.org import load_org
from leadflow.services.queues import is_member, load_queue, tier_of
from leadflow.services.routing import (
    apply_result,
    current_load,
    lead_view,
    lock_loads,
)
from leadflow.store.models import LeadRow, RepLoadRow, RepRow
from leadflow.store.pull_models import ClaimRow, PullTimerRow

HELD = "held"
CANDIDATE_BATCH = 100


def current_org(svc: Services, s: Session, now: datetime) -> Org:
    return load_org(svc, s, read_meta(s).get(ORG_REVISION, 0), now)


def unavailable(lead_id: int) -> str:
    # The same words whatever the reason: nothing about who holds it or what it is.
    return f"lead {lead_id} is not available to claim"


# ---------------------------------------------------------------- who is pulling


def puller(s: Session, queue_name: str, principal: Principal) -> tuple[Queue, Tier, RepRow]:
    """The queue and the rep pulling from it; refuses reps who may not pull there."""
    queue = load_queue(s, queue_name)
    if principal.rep_id is None:
        raise Forbidden("pulling leads needs a rep's token (this token belongs to no rep)")
    rep = s.get(RepRow, principal.rep_id)
    if rep is None:
        raise Forbidden("this token's rep no longer exists")
    tier = tier_of(s, rep.id)
    refusal = pull_refusal(queue, tier, is_member(queue, rep))
    if refusal:
        raise Forbidden(refusal, field="queue")
    return queue, tier, rep


def held_count(s: Session, rep_id: int) -> int:
    q = select(func.count()).where(ClaimRow.rep_id == rep_id, ClaimRow.state == HELD)
    return s.scalar(q) or 0


def recent_scores(s: Session, rep_id: int, queue: str, n: int) -> list[float | None]:
    q = (
        select(ClaimRow.score)
        .where(ClaimRow.rep_id == rep_id, ClaimRow.queue == queue)
        .order_by(ClaimRow.claimed_at.desc(), ClaimRow.id.desc())
        .limit(n)
    )
    return list(s.scalars(q))


# ---------------------------------------------------------------- the one conditional write


def take(s: Session, lead_id: int, queue: str, rep_id: int, now: datetime) -> bool:
    """Give a queued lead to `rep_id` if it is still waiting in `queue`: True if we won."""
    result = s.execute(
        update(LeadRow)
        .where(
            LeadRow.id == lead_id,
            LeadRow.status == LeadStatus.QUEUED,
            LeadRow.queue == queue,
        )
        .values(status=LeadStatus.ASSIGNED, owner_rep_id=rep_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def waiting_in(queue: str) -> Select[LeadRow]:
    return select(LeadRow).where(LeadRow.queue == queue, LeadRow.status == LeadStatus.QUEUED)


def lock_waiting(s: Session, lead_id: int, queue: str, *, skip_locked: bool) -> LeadRow | None:
    """Lock a lead still waiting in `queue` (or None). With `skip_locked` a lead another
    transaction is taking is skipped instead of waited for (PostgreSQL)."""
    q = waiting_in(queue).where(LeadRow.id == lead_id).with_for_update(skip_locked=skip_locked)
    return s.scalar(q)


# ---------------------------------------------------------------- claims


def claim(svc: Services, lead_id: int, principal: Principal) -> dict[str, Any]:
    if principal.rep_id is None:
        # Before any lookup: a staff token gets the same 403 for every id, like claim-next.
        raise Forbidden("pulling leads needs a rep's token (this token belongs to no rep)")
    now = svc.clock.now()
    with svc.db.write() as s:
        lead = s.get(LeadRow, lead_id)
        queue_name = _queue_of(s, lead)
        if lead is None or queue_name is None:
            raise NotFound(f"lead {lead_id} not found")
        try:
            queue, tier, rep = puller(s, queue_name, principal)
        except Forbidden:
            # Probing ids must not reveal which queue a lead waits in.
            raise NotFound(f"lead {lead_id} not found") from None
        refusal = claim_by_id_refusal(queue)
        if refusal:
            raise Conflict(refusal, field="mode")
        if not in_rep_view(queue, tier, lead.data):
            raise Conflict(unavailable(lead_id), field="lead")
        loads, org = _checked_loads(svc, s, queue, rep, now)
        _check_diversity(s, queue, rep.id, lead.score)
        if not take(s, lead.id, queue.name, rep.id, now):
            raise Conflict(_taken_message(s, queue, lead_id), field="lead")
        return _record_claim(s, lead, queue, rep, loads, org, now, principal.name)


def claim_next(svc: Services, queue_name: str, principal: Principal) -> dict[str, Any]:
    now = svc.clock.now()
    with svc.db.write() as s:
        queue, tier, rep = puller(s, queue_name, principal)
        loads, org = _checked_loads(svc, s, queue, rep, now)
        if queue.policy.diversity is None and not _filtered(queue, tier):
            lead = _lock_next(s, queue)
            if lead is not None and take(s, lead.id, queue.name, rep.id, now):
                return _record_claim(s, lead, queue, rep, loads, org, now, principal.name)
            raise Conflict(_empty(queue), field="queue")
        recent = _recent_for(s, queue, rep.id)
        offset, skipped_for_mix = 0, 0
        while True:
            batch = _candidates(s, queue, offset)
            if not batch:
                break
            for lead_id, score, data in batch:
                if not in_rep_view(queue, tier, data):
                    continue
                if diversity_refusal(queue.policy.diversity, recent, score):
                    skipped_for_mix += 1
                    continue
                lead = lock_waiting(s, lead_id, queue.name, skip_locked=True)
                if lead is not None and take(s, lead.id, queue.name, rep.id, now):
                    return _record_claim(s, lead, queue, rep, loads, org, now, principal.name)
            offset += len(batch)
        why = " that fits the diversity policy" if skipped_for_mix else ""
        raise Conflict(_empty(queue) + why, field="queue")


def _empty(queue: Queue) -> str:
    return f"queue {queue.name!r} has no lead you can claim right now"


def _filtered(queue: Queue, tier: Tier) -> bool:
    return tier is Tier.AVERAGE and queue.average_filter is not None


def _lock_next(s: Session, queue: Queue) -> LeadRow | None:
    """The first waiting lead nobody else is taking: one `FOR UPDATE SKIP LOCKED`."""
    q = waiting_in(queue.name).order_by(*queue_order(queue)).limit(1)
    return s.scalar(q.with_for_update(skip_locked=True))


def _candidates(s: Session, queue: Queue, offset: int) -> list[tuple[int, float | None, Any]]:
    q = (
        select(LeadRow.id, LeadRow.score, LeadRow.data)
        .where(LeadRow.queue == queue.name, LeadRow.status == LeadStatus.QUEUED)
        .order_by(*queue_order(queue))
        .offset(offset)
        .limit(CANDIDATE_BATCH)
    )
    return [(r[0], r[1], r[2]) for r in s.execute(q)]


def queue_order(queue: Queue) -> list[Any]:
    arrival = [LeadRow.created_at, LeadRow.id]
    if queue.by_priority:
        return [LeadRow.score.desc().nulls_last(), *arrival]
    return arrival


def _queue_of(s: Session, lead: LeadRow | None) -> str | None:
    """The queue a lead waits in, or was last claimed from (so a late claimer gets 409)."""
    if lead is None:
        return None
    if lead.status == LeadStatus.QUEUED:
        return lead.queue
    return s.scalar(
        select(ClaimRow.queue)
        .where(ClaimRow.lead_id == lead.id)
        .order_by(ClaimRow.id.desc())
        .limit(1)
    )


def _checked_loads(
    svc: Services, s: Session, queue: Queue, rep: RepRow, now: datetime
) -> tuple[dict[int, RepLoadRow], Org]:
    """Lock the rep's load row (serialises one rep's claims) and apply rep-level limits."""
    loads = lock_loads(s, frozenset({rep.id}))
    org = current_org(svc, s, now)
    domain_rep = org.reps.get(rep.id)
    if domain_rep is not None and rep.id in loads:
        reason = skip_reason(domain_rep, current_load(loads[rep.id], org, now), Requirements(), now)
        if reason is not None:
            raise Conflict(f"you cannot take leads right now: {reason}", field="rep")
    refusal = hoarding_refusal(queue.policy, held_count(s, rep.id))
    if refusal:
        raise Conflict(refusal, field="hoarding_cap")
    return loads, org


def _recent_for(s: Session, queue: Queue, rep_id: int) -> list[float | None]:
    div = queue.policy.diversity
    return recent_scores(s, rep_id, queue.name, div.window) if div else []


def _check_diversity(s: Session, queue: Queue, rep_id: int, score: float | None) -> None:
    refusal = diversity_refusal(queue.policy.diversity, _recent_for(s, queue, rep_id), score)
    if refusal:
        raise Conflict(refusal, field="diversity")


def _taken_message(s: Session, queue: Queue, lead_id: int) -> str:
    if queue.mode is Mode.BLIND:
        return unavailable(lead_id)
    row = s.execute(
        select(RepRow.name, ClaimRow.claimed_at)
        .join(ClaimRow, ClaimRow.rep_id == RepRow.id)
        .where(ClaimRow.lead_id == lead_id, ClaimRow.state == HELD)
    ).first()
    if row is None:
        return unavailable(lead_id)
    return f"lead {lead_id} was claimed by {row[0]} at {row[1].isoformat()}"


def _record_claim(
    s: Session,
    lead: LeadRow,
    queue: Queue,
    rep: RepRow,
    loads: dict[int, RepLoadRow],
    org: Org,
    now: datetime,
    actor: str,
) -> dict[str, Any]:
    until = queue.lease_until(now)
    held_before = held_count(s, rep.id)
    row = ClaimRow(
        lead_id=lead.id,
        rep_id=rep.id,
        queue=queue.name,
        score=lead.score,
        state=HELD,
        claimed_at=now,
        lease_until=until,
    )
    s.add(row)
    s.flush()
    s.add(
        PullTimerRow(kind="lease", lead_id=lead.id, queue=queue.name, claim_id=row.id, due_at=until)
    )
    reason = f"claimed from queue {queue.name!r} ({queue.mode}); lease until {until.isoformat()}"
    outcome = Outcome(
        "assigned", lead.rule or queue.name, rep.id, queue.name, "claim", None, reason
    )
    trace = {
        "queue": queue.name,
        "mode": str(queue.mode),
        "claim_id": row.id,
        "lease_until": until.isoformat(),
        # What the claim was checked against, so the record explains why it was allowed.
        "held_before": held_before,
        "hoarding_cap": queue.policy.hoarding_cap,
        "diversity": queue.policy.diversity is not None,
    }
    apply_result(s, lead, RoutingResult(outcome, trace), org, loads, {}, now, 0, "claim", actor)
    return {**lead_view(lead), "claim": claim_view(row)}


def claim_view(row: ClaimRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "lead_id": row.lead_id,
        "queue": row.queue,
        "rep_id": row.rep_id,
        "state": row.state,
        "claimed_at": row.claimed_at,
        "lease_until": row.lease_until,
        "ended_at": row.ended_at,
    }


# ---------------------------------------------------------------- `leadflow check`


def check_invariants(s: Session, now: datetime) -> Iterator[Violation]:
    """Pull: every held lease is the owner's (one lease per lead, held by its owner)."""
    held = select(ClaimRow.id, ClaimRow.lead_id, ClaimRow.rep_id, LeadRow.owner_rep_id,
                  LeadRow.status).join(LeadRow, LeadRow.id == ClaimRow.lead_id).where(
                      ClaimRow.state == HELD).order_by(ClaimRow.lead_id, ClaimRow.id)  # fmt: skip
    leases: dict[int, list[int]] = {}
    for claim_id, lead_id, rep_id, owner, status in s.execute(held):
        leases.setdefault(lead_id, []).append(claim_id)
        # (A manager may hand a claimed lead to someone else: the lease then ends with its
        # timer. A lease on a lead nobody owns, or that is closed, is never right.)
        if owner is None or status not in OPEN_STATUSES:
            yield Violation("lease without owner", f"claims {claim_id}",
                            f"held by rep {rep_id} but lead {lead_id} is {status}, owned by "
                            f"{'nobody' if owner is None else f'rep {owner}'}")  # fmt: skip
    for lead_id, ids in leases.items():
        if len(ids) > 1:
            yield Violation("lead in two leases", f"lead {lead_id}",
                            f"held claims {', '.join(map(str, ids))}")  # fmt: skip
