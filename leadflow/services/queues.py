"""Configure queues (mode, preview, lease, policies) and reps' performance tiers."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadflow.domain.model import LeadStatus
from leadflow.domain.pull import PULLING_TIERS, Diversity, Policy, Queue, Step, Tier, next_day_start
from leadflow.domain.routing import UNASSIGNED_QUEUE
from leadflow.errors import Conflict, NotFound, RulebookError, ValidationError
from leadflow.pull_schemas import QueueIn
from leadflow.rules import compile_rulebook
from leadflow.rules.conditions import parse_condition
from leadflow.services import txcache
from leadflow.services.context import RULEBOOK_VERSION, Services, read_meta
from leadflow.services.rulebooks import org_refs
from leadflow.store.models import LeadRow, RepRow, RulebookRow, TeamRow
from leadflow.store.pull_models import ClaimRow, PullAlertRow, PullTimerRow, QueueRow, RepTierRow

# ---------------------------------------------------------------- domain values


def to_domain(row: QueueRow) -> Queue:
    spec = spec_of(row)
    p = spec.policies
    steps = [Step(timedelta(minutes=s.after_minutes), s.action, s.queue) for s in p.escalation]
    if p.auto_assign is not None:
        steps.append(Step(timedelta(minutes=p.auto_assign.after_minutes), "auto_assign"))
    diversity = None
    if p.diversity is not None:
        d = p.diversity
        diversity = Diversity(d.score_below, d.min_low_percent, d.ratio, d.window)
    policy = Policy(
        p.hoarding_cap,
        diversity,
        p.skip_limit,
        p.min_claims_per_day,
        tuple(sorted(steps, key=lambda s: s.after)),
    )
    return Queue(
        name=spec.name,
        mode=spec.mode,
        by_priority=spec.order == "priority",
        preview_fields=tuple(spec.preview_fields),
        lease=timedelta(minutes=spec.lease_minutes),
        team=spec.team,
        reps=frozenset(spec.reps),
        average_filter=parse_condition(spec.average_filter) if spec.average_filter else None,
        policy=policy,
    )


def spec_of(row: QueueRow) -> QueueIn:
    return QueueIn.model_validate({**row.config, "name": row.name, "mode": row.mode})


def load_queue(s: Session, name: str) -> Queue:
    row = s.get(QueueRow, name)
    if row is None:
        raise NotFound(f"queue {name!r} not found")
    return to_domain(row)


def is_member(queue: Queue, rep: RepRow) -> bool:
    if queue.team:
        return queue.team in rep.teams
    if queue.reps:
        return rep.email.lower() in queue.reps
    return True


def tier_of(s: Session, rep_id: int) -> Tier:
    row = s.get(RepTierRow, rep_id)
    return Tier(row.tier) if row else Tier.AVERAGE


# ---------------------------------------------------------------- views


def queue_view(row: QueueRow, waiting: int = 0) -> dict[str, Any]:
    spec = spec_of(row)
    return {**spec.model_dump(mode="json"), "waiting": waiting, "updated_at": row.updated_at}


def list_queues(svc: Services) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        waiting = dict(
            s.execute(
                select(LeadRow.queue, func.count())
                .where(LeadRow.status == LeadStatus.QUEUED)
                .group_by(LeadRow.queue)
            ).all()
        )
        rows = s.scalars(select(QueueRow).order_by(QueueRow.name))
        return [queue_view(r, waiting.get(r.name, 0)) for r in rows]


def get_queue(svc: Services, name: str) -> dict[str, Any]:
    with svc.db.read() as s:
        row = s.get(QueueRow, name)
        if row is None:
            raise NotFound(f"queue {name!r} not found")
        return queue_view(row, _waiting(s, name))


def _waiting(s: Session, name: str) -> int:
    q = select(func.count()).where(LeadRow.queue == name, LeadRow.status == LeadStatus.QUEUED)
    return s.scalar(q) or 0


# ---------------------------------------------------------------- changes


def create_queue(svc: Services, data: QueueIn) -> dict[str, Any]:
    with svc.db.write() as s:
        if s.get(QueueRow, data.name) is not None:
            raise Conflict(f"queue {data.name!r} already exists; PUT it to change it", field="name")
        return _save(svc, s, data, None)


def put_queue(svc: Services, name: str, data: QueueIn) -> tuple[dict[str, Any], bool]:
    """Create or replace; returns (view, created?)."""
    if data.name != name:
        raise ValidationError("the body's name must match the URL", field="name")
    with svc.db.write() as s:
        row = s.get(QueueRow, name)
        return _save(svc, s, data, row), row is None


def save_in(svc: Services, s: Session, data: QueueIn) -> dict[str, Any]:
    """Create a queue inside the caller's transaction (a rulebook naming a new queue)."""
    return _save(svc, s, data, None)


def _save(svc: Services, s: Session, data: QueueIn, row: QueueRow | None) -> dict[str, Any]:
    _check_refs(s, data)
    now = svc.clock.now()
    config = data.model_dump(mode="json", exclude={"name", "mode"})
    if row is None:
        row = QueueRow(name=data.name, created_at=now)
        s.add(row)
    row.mode = data.mode.value
    row.config = config
    row.updated_at = now
    s.flush()
    txcache.forget(s, f"queue:{data.name}")  # pull_timers reads it once per transaction
    if data.policies.min_claims_per_day:
        arm_daily_check(s, data.name, now)
    return queue_view(row, _waiting(s, data.name))


def _check_refs(s: Session, data: QueueIn) -> None:
    if data.team and s.scalar(select(TeamRow.id).where(TeamRow.name == data.team)) is None:
        raise ValidationError(f"unknown team {data.team!r}; create it first", field="team")
    if data.reps:
        known = set(s.scalars(select(RepRow.email).where(RepRow.email.in_(data.reps))))
        for email in data.reps:
            if email not in known:
                raise ValidationError(f"unknown rep {email!r}", field="reps")
    for i, step in enumerate(data.policies.escalation):
        if step.queue == data.name:
            raise ValidationError(
                "an escalation step cannot move a lead to its own queue",
                field=f"policies.escalation.{i}.queue",
            )
        if step.queue and s.get(QueueRow, step.queue) is None:
            raise ValidationError(
                f"unknown queue {step.queue!r}; create it first",
                field=f"policies.escalation.{i}.queue",
            )


def arm_daily_check(s: Session, queue: str, now: datetime) -> None:
    """One pending daily minimum-claims check per queue."""
    pending = s.scalar(
        select(PullTimerRow.id).where(
            PullTimerRow.kind == "daily",
            PullTimerRow.queue == queue,
            PullTimerRow.done_at.is_(None),
        )
    )
    if pending is None:
        s.add(PullTimerRow(kind="daily", queue=queue, due_at=next_day_start(now)))


def delete_queue(svc: Services, name: str) -> None:
    with svc.db.write() as s:
        row = s.get(QueueRow, name)
        if row is None:
            raise NotFound(f"queue {name!r} not found")
        if name == UNASSIGNED_QUEUE:
            raise Conflict("the built-in `unassigned` queue cannot be deleted", field="name")
        waiting = _waiting(s, name)
        if waiting:
            raise Conflict(
                f"queue {name!r} still holds {waiting} leads; assign or move them first",
                field="name",
            )
        _refuse_if_referenced(s, name)
        s.delete(row)


def _refuse_if_referenced(s: Session, name: str) -> None:
    for other in s.scalars(select(QueueRow).where(QueueRow.name != name)):
        if any(step.queue == name for step in spec_of(other).policies.escalation):
            raise Conflict(
                f"queue {other.name!r} escalates to {name!r}; change it first", field="name"
            )
    version = read_meta(s).get(RULEBOOK_VERSION, 0)
    book = s.get(RulebookRow, version) if version else None
    if book is None:
        return
    refs = org_refs(s)
    refs = replace(refs, queues=(refs.queues or frozenset()) - {name})
    try:
        compile_rulebook(book.document, refs)
    except RulebookError as exc:
        raise Conflict(
            f"the active rulebook sends leads to queue {name!r} ({exc.message}); "
            "change the rulebook first",
            field="name",
        ) from None


# ---------------------------------------------------------------- tiers


def set_tier(svc: Services, rep_id: int, tier: Tier) -> dict[str, Any]:
    with svc.db.write() as s:
        if s.get(RepRow, rep_id) is None:
            raise NotFound(f"rep {rep_id} not found")
        row = s.get(RepTierRow, rep_id)
        if row is None:
            row = RepTierRow(rep_id=rep_id)
            s.add(row)
        row.tier = tier.value
        row.updated_at = svc.clock.now()
        return tier_view(rep_id, tier)


def get_tier(svc: Services, rep_id: int) -> dict[str, Any]:
    with svc.db.read() as s:
        if s.get(RepRow, rep_id) is None:
            raise NotFound(f"rep {rep_id} not found")
        return tier_view(rep_id, tier_of(s, rep_id))


def tier_view(rep_id: int, tier: Tier) -> dict[str, Any]:
    return {"rep_id": rep_id, "tier": tier.value, "pulls": tier in (Tier.TOP, Tier.AVERAGE)}


def load_section(
    svc: Services, specs: list[QueueIn], tiers: dict[str, Tier], reps: dict[str, int]
) -> None:
    """The `queues:` and `tiers:` of an org file; queues others escalate to go first."""
    for email in tiers:
        if email not in reps:
            raise ValidationError(f"tiers: {email} is not among the reps", field="tiers")
    targets = {step.queue for q in specs for step in q.policies.escalation}
    for spec in sorted(specs, key=lambda q: (q.name not in targets, bool(q.policies.escalation))):
        put_queue(svc, spec.name, spec)
    for email, tier in tiers.items():
        set_tier(svc, reps[email], tier)


def stats(svc: Services, name: str) -> dict[str, Any]:
    now = svc.clock.now()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with svc.db.read() as s:
        queue = load_queue(s, name)
        counts = claims_per_rep(s, queue, start, now + timedelta(microseconds=1))
        minimum = queue.policy.min_claims_per_day
        return {
            "queue": name,
            "day": start.date().isoformat(),
            "waiting": _waiting(s, name),
            "min_claims_per_day": minimum,
            "reps": [
                {
                    "rep_id": rid,
                    "name": rname,
                    "claims_today": n,
                    "below_minimum": bool(minimum and n < minimum),
                }
                for rid, rname, n in counts
            ],
        }


def list_alerts(svc: Services, limit: int) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        rows = s.scalars(select(PullAlertRow).order_by(PullAlertRow.id.desc()).limit(limit))
        return [
            {
                "id": r.id,
                "kind": r.kind,
                "queue": r.queue,
                "rep_id": r.rep_id,
                "lead_id": r.lead_id,
                "message": r.message,
                "created_at": r.created_at,
            }
            for r in rows
        ]


def claims_per_rep(
    s: Session, queue: Queue, start: datetime, end: datetime
) -> list[tuple[int, str, int]]:
    """(rep id, name, claims in [start, end)) for every rep who pulls from `queue`."""
    counted = dict(
        s.execute(
            select(ClaimRow.rep_id, func.count())
            .where(
                ClaimRow.queue == queue.name,
                ClaimRow.claimed_at >= start,
                ClaimRow.claimed_at < end,
            )
            .group_by(ClaimRow.rep_id)
        ).all()
    )
    out = []
    for rep in s.scalars(select(RepRow).where(RepRow.active.is_(True)).order_by(RepRow.id)):
        if is_member(queue, rep) and tier_of(s, rep.id) in PULLING_TIERS:
            out.append((rep.id, rep.name, int(counted.get(rep.id, 0))))
    return out
