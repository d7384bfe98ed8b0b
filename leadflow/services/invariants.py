"""The invariant checker behind `leadflow check`: scan the database for states that must
never exist, whatever crashed or raced.

- a lead with an owner but not in an owned status, or an owned status with no owner;
- two owners: the lead's owner is not the rep its latest assigning decision names;
- a rep's stored open-lead counter differs from their actual open leads;
- a capacity cap exceeded (open, per day, per week);
- a lead with no decision, routed twice, or whose `decision_id` is not one of its own;
- timers: pending rows of a timer table pointing at no lead, or due and still not fired
  after a grace period (the worker is down or stuck; pending offers are timers too);
- outbox: a message still `pending` a grace period after its next attempt was due
  (nobody is delivering it: it would be lost in effect).

Features add their own checks: a services module that defines
`check_invariants(s, now) -> Iterable[Violation]` is run too (claims, offers, outbox…).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import MetaData, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from leadflow.domain.model import OPEN_STATUSES, LeadStatus
from leadflow.services.context import Services
from leadflow.store.models import DecisionRow, LeadRow, RepLoadRow, RepRow

#: Statuses a lead may have while it has an owner (open ones, and the closed outcomes).
OWNED_STATUSES = frozenset(OPEN_STATUSES | {LeadStatus.WON, LeadStatus.LOST})
#: Statuses in which a lead has no owner by definition.
UNOWNED_STATUSES = frozenset({LeadStatus.NEW, LeadStatus.QUEUED, LeadStatus.OFFERED})


@dataclass(frozen=True)
class Violation:
    check: str
    subject: str  # "lead 12", "rep 3", "lead_timers 7"
    detail: str


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    scanned: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.violations

    def by_check(self) -> dict[str, list[Violation]]:
        grouped: dict[str, list[Violation]] = {}
        for v in self.violations:
            grouped.setdefault(v.check, []).append(v)
        return grouped

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "scanned": self.scanned,
            "violations": [vars(v) for v in self.violations],
        }


Check = Callable[[Session, datetime], Iterable[Violation]]


def check_database(
    svc: Services,
    *,
    timer_grace: timedelta = timedelta(minutes=5),
    metadata: MetaData | None = None,
) -> Report:
    """Run every check in one read transaction (a consistent snapshot on PostgreSQL)."""
    now = svc.clock.now()
    report = Report()
    with svc.db.read() as s:
        report.scanned = {
            "leads": s.scalar(select(func.count()).select_from(LeadRow)) or 0,
            "decisions": s.scalar(select(func.count()).select_from(DecisionRow)) or 0,
            "reps": s.scalar(select(func.count()).select_from(RepRow)) or 0,
        }
        checks: list[Check] = [
            owner_matches_status,
            single_owner,
            open_counters,
            caps,
            decisions_present,
            lambda s, now: timers(s, now, timer_grace, metadata),
            lambda s, now: outbox_overdue(s, now, timer_grace, metadata),
            *feature_checks(),
        ]
        for run in checks:
            report.violations.extend(run(s, now))
    return report


def owner_matches_status(s: Session, now: datetime) -> Iterator[Violation]:
    q = select(LeadRow.id, LeadRow.status, LeadRow.owner_rep_id).where(
        or_(
            and_(LeadRow.owner_rep_id.is_not(None), LeadRow.status.in_(UNOWNED_STATUSES)),
            and_(LeadRow.owner_rep_id.is_(None), LeadRow.status.in_(OWNED_STATUSES)),
        )
    )
    for lead_id, status, owner in s.execute(q):
        if owner is None:
            yield Violation("owner/status", f"lead {lead_id}", f"status {status!r} but no owner")
        else:
            yield Violation(
                "owner/status", f"lead {lead_id}", f"owned by rep {owner} but status {status!r}"
            )


def single_owner(s: Session, now: datetime) -> Iterator[Violation]:
    """The owner on the lead row must be the rep of its latest assigning decision."""
    latest = (
        select(DecisionRow.lead_id, func.max(DecisionRow.id).label("id"))
        .where(DecisionRow.outcome == "assigned")
        .group_by(DecisionRow.lead_id)
        .subquery()
    )
    d = aliased(DecisionRow)
    q = (
        select(LeadRow.id, LeadRow.owner_rep_id, d.id, d.rep_id)
        .join(latest, latest.c.lead_id == LeadRow.id)
        .join(d, d.id == latest.c.id)
        .where(LeadRow.owner_rep_id.is_not(None), LeadRow.owner_rep_id != d.rep_id)
    )
    for lead_id, owner, decision_id, rep_id in s.execute(q):
        yield Violation(
            "two owners",
            f"lead {lead_id}",
            f"owned by rep {owner} but decision {decision_id} gave it to rep {rep_id}",
        )


def _actual_open(s: Session) -> dict[int, int]:
    q = (
        select(LeadRow.owner_rep_id, func.count())
        .where(LeadRow.owner_rep_id.is_not(None), LeadRow.status.in_(OPEN_STATUSES))
        .group_by(LeadRow.owner_rep_id)
    )
    return {rep_id: n for rep_id, n in s.execute(q)}


def open_counters(s: Session, now: datetime) -> Iterator[Violation]:
    actual = _actual_open(s)
    stored = {r: n for r, n in s.execute(select(RepLoadRow.rep_id, RepLoadRow.open_count))}
    for rep_id in sorted(set(actual) | set(stored)):
        have, want = stored.get(rep_id, 0), actual.get(rep_id, 0)
        if have != want:
            yield Violation(
                "open counter",
                f"rep {rep_id}",
                f"counter says {have} open lead(s), the leads table says {want}",
            )


def caps(s: Session, now: datetime) -> Iterator[Violation]:
    actual = _actual_open(s)
    q = select(RepRow, RepLoadRow).outerjoin(RepLoadRow, RepLoadRow.rep_id == RepRow.id)
    for rep, load in s.execute(q):
        subject = f"rep {rep.id}"
        if rep.max_open is not None and actual.get(rep.id, 0) > rep.max_open:
            yield Violation(
                "cap exceeded", subject, f"{actual[rep.id]} open lead(s) > max_open {rep.max_open}"
            )
        if load is None:
            continue
        if rep.max_per_day is not None and load.day_count > rep.max_per_day:
            yield Violation(
                "cap exceeded",
                subject,
                f"{load.day_count} lead(s) on {load.day_key} > max_per_day {rep.max_per_day}",
            )
        if rep.max_per_week is not None and load.week_count > rep.max_per_week:
            yield Violation(
                "cap exceeded",
                subject,
                f"{load.week_count} lead(s) in {load.week_key} > max_per_week {rep.max_per_week}",
            )


def decisions_present(s: Session, now: datetime) -> Iterator[Violation]:
    counts = (
        select(
            DecisionRow.lead_id,
            func.count().label("n"),
            func.sum(case((DecisionRow.kind == "route", 1), else_=0)).label("routes"),
        )
        .group_by(DecisionRow.lead_id)
        .subquery()
    )
    own = aliased(DecisionRow)
    q = (
        select(LeadRow.id, LeadRow.status, counts.c.n, counts.c.routes, own.lead_id)
        .outerjoin(counts, counts.c.lead_id == LeadRow.id)
        .outerjoin(own, own.id == LeadRow.last_decision_id)
        .where(
            or_(
                counts.c.n.is_(None),
                counts.c.routes > 1,
                LeadRow.status == LeadStatus.NEW,
                own.lead_id.is_(None),
                own.lead_id != LeadRow.id,
            )
        )
    )
    for lead_id, status, n, routes, decision_lead in s.execute(q):
        subject = f"lead {lead_id}"
        if not n:
            yield Violation("no outcome", subject, f"status {status!r} and no decision at all")
            continue
        if routes and routes > 1:
            yield Violation("routed twice", subject, f"{routes} route decisions (expected 1)")
        if status == LeadStatus.NEW:
            yield Violation("no outcome", subject, "still 'new': routing never completed")
        if decision_lead != lead_id:
            yield Violation(
                "no outcome", subject, "its decision_id is missing or belongs to another lead"
            )


def timers(
    s: Session, now: datetime, grace: timedelta, metadata: MetaData | None = None
) -> Iterator[Violation]:
    from leadflow.observability.metrics import timer_tables

    for timed in timer_tables(metadata):
        table = timed.table
        pk = next(iter(table.primary_key.columns))
        pending = timed.pending if timed.pending is not None else pk.is_not(None)
        if "lead_id" in table.c:
            q = (
                select(pk, table.c.lead_id)
                .outerjoin(LeadRow, LeadRow.id == table.c.lead_id)
                .where(pending, table.c.lead_id.is_not(None), LeadRow.id.is_(None))
            )
            for row_id, lead_id in s.execute(q):
                yield Violation(
                    "orphan timer", f"{table.name} {row_id}", f"points at missing lead {lead_id}"
                )
        overdue = select(pk, timed.due).where(pending, timed.due < now - grace)
        for row_id, due in s.execute(overdue):
            yield Violation(
                "timer not fired",
                f"{table.name} {row_id}",
                f"due at {due.isoformat()} and still pending after {grace}",
            )


def outbox_overdue(
    s: Session, now: datetime, grace: timedelta, metadata: MetaData | None = None
) -> Iterator[Violation]:
    """A `pending` message whose next attempt was due longer than `grace` ago: no worker
    is delivering (a retry waits for its `next_attempt_at`, a claimed one for its lease,
    so neither is flagged early)."""
    from leadflow.observability.metrics import outbox_tables

    for table in outbox_tables(metadata):
        if not {"status", "next_attempt_at", "attempts"} <= set(table.c.keys()):
            continue
        pk = next(iter(table.primary_key.columns))
        q = select(pk, table.c.next_attempt_at, table.c.attempts).where(
            table.c.status == "pending", table.c.next_attempt_at < now - grace
        )
        for row_id, due, attempts in s.execute(q.order_by(pk)):
            yield Violation(
                "outbox stuck",
                f"{table.name} {row_id}",
                f"pending since {due.isoformat()} ({attempts} attempt(s)), over {grace} late",
            )


def feature_checks() -> list[Check]:
    import leadflow.services

    found: list[Check] = []
    for info in sorted(pkgutil.iter_modules(leadflow.services.__path__), key=lambda i: i.name):
        if info.name in {"hooks", "timers", "invariants"}:
            continue
        module = importlib.import_module(f"leadflow.services.{info.name}")
        fn = getattr(module, "check_invariants", None)
        if callable(fn):
            found.append(fn)
    return found
