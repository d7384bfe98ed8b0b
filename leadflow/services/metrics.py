"""Distribution, speed, conversion and fairness metrics, computed from leads and their
decisions (never from a second source of truth), for a period and optionally a team.

What counts as what (documented in docs/web.md):

- a lead is in the period when it was *created* in [since, until);
- with a team, only leads currently owned by a member count, and every member gets a
  row (a rep with no leads is part of the fairness maths);
- assignment latency = assigned_at - created_at; for push routing both happen in the
  intake transaction, so the routing decision's own duration is used instead;
- a first contact is the earliest `status` decision reaching `contacted`, `qualified` or
  `won` — what the lifecycle writes for the status API and for logged activities (the
  same test the SLA timers use); without such decisions the contact metrics say
  `available: false`;
- a routing error is a lead the rules did not place: fallback triggered, the
  `unassigned` queue, or rejected (the article's "erreurs et déclencheurs de repli");
- claims are decisions of kind `claim` (what a pull claim writes, with the claimer as
  `rep_id`); the pool is every lead queued in the period.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadflow.domain import alerts as alerting
from leadflow.domain.lifecycle import CONTACT_STATUSES
from leadflow.domain.metrics import (
    Spread,
    cherry_picking_index,
    histogram,
    mean,
    percentiles,
    rate,
    share_within,
)
from leadflow.domain.model import OPEN_STATUSES, LeadStatus
from leadflow.domain.routing import FALLBACK, UNASSIGNED_QUEUE
from leadflow.errors import ValidationError
from leadflow.services import metrics_pull
from leadflow.services.context import Services
from leadflow.store.models import DecisionRow, LeadRow, RepRow
from leadflow.store.web_models import AppSettingRow

PERIODS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
DEFAULT_PERIOD = "7d"
MAX_SPAN = timedelta(days=366)
MAX_LEADS = 200_000
"""A bigger period is refused rather than silently truncated."""
SCORE_EDGES = (0, 20, 40, 60, 80, 100)
CLAIM_KIND = "claim"
THRESHOLDS_KEY = "alert_thresholds"


@dataclass(frozen=True, slots=True)
class Scope:
    since: datetime
    until: datetime
    team: str | None = None
    period: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "team": self.team, "period": self.period}


def scope(
    now: datetime,
    *,
    period: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    team: str | None = None,
) -> Scope:
    """The [since, until) window: explicit bounds win over a named period (default 7d)."""
    if period is not None and period not in PERIODS:
        raise ValidationError(
            f"unknown period {period!r}; use one of {', '.join(PERIODS)} or since/until",
            field="period",
        )
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationError("give a timezone offset (e.g. 2026-01-31T00:00:00Z)", field=name)
    # Exclusive bound: one microsecond past now includes a lead received this instant.
    end = until or now + timedelta(microseconds=1)
    start = since or end - PERIODS[period or DEFAULT_PERIOD]
    if start >= end:
        raise ValidationError("`since` must be before `until`", field="since")
    if end - start > MAX_SPAN:
        raise ValidationError("a period may span at most 366 days", field="since")
    named = None if since or until else (period or DEFAULT_PERIOD)
    return Scope(start, end, team or None, named)


# ---------------------------------------------------------------- facts


@dataclass
class LeadFact:
    """One lead as the metrics see it, with what its decisions tell."""

    id: int
    created_at: datetime
    assigned_at: datetime | None
    status: str
    owner_rep_id: int | None
    value: float
    score: float | None
    source: str | None
    high_priority_hint: bool
    route_rule: str | None = None
    route_method: str | None = None
    route_outcome: str | None = None
    route_queue: str | None = None
    route_us: int = 0
    first_contact_at: datetime | None = None
    claims: list[int] = field(default_factory=list)

    @property
    def latency_seconds(self) -> float | None:
        if self.assigned_at is None:
            return None
        waited = (self.assigned_at - self.created_at).total_seconds()
        return waited if waited > 0 else self.route_us / 1_000_000

    @property
    def routing_error(self) -> bool:
        return (
            self.route_rule == FALLBACK
            or self.route_queue == UNASSIGNED_QUEUE
            or self.status == LeadStatus.REJECTED
        )


def _number(raw: Any) -> float:
    try:
        return float(raw) if raw is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _priority(data: dict[str, Any]) -> str:
    raw = data.get("priority") or (data.get("attributes") or {}).get("priority") or ""
    return str(raw).lower()


def _load_facts(s: Session, sc: Scope) -> list[LeadFact]:
    q = (
        select(LeadRow)
        .where(LeadRow.created_at >= sc.since, LeadRow.created_at < sc.until)
        .order_by(LeadRow.id)
        .limit(MAX_LEADS + 1)
    )
    rows = list(s.scalars(q))
    if len(rows) > MAX_LEADS:
        raise ValidationError(
            f"more than {MAX_LEADS} leads in this period; choose a shorter one", field="since"
        )
    facts = {
        r.id: LeadFact(
            id=r.id,
            created_at=r.created_at,
            assigned_at=r.assigned_at,
            status=r.status,
            owner_rep_id=r.owner_rep_id,
            value=_number(r.data.get("value")),
            score=r.score,
            source=r.data.get("source"),
            high_priority_hint=_priority(r.data) == "high",
        )
        for r in rows
    }
    if facts:
        _attach_decisions(s, facts, sc)
    return list(facts.values())


def _attach_decisions(s: Session, facts: dict[int, LeadFact], sc: Scope) -> None:
    in_period = select(LeadRow.id).where(
        LeadRow.created_at >= sc.since, LeadRow.created_at < sc.until
    )
    q = (
        select(
            DecisionRow.lead_id,
            DecisionRow.kind,
            DecisionRow.outcome,
            DecisionRow.rule,
            DecisionRow.method,
            DecisionRow.queue,
            DecisionRow.rep_id,
            DecisionRow.duration_us,
            DecisionRow.created_at,
        )
        .where(DecisionRow.lead_id.in_(in_period))
        .order_by(DecisionRow.id)
    )
    for lead_id, kind, outcome, rule, method, queue, rep_id, us, at in s.execute(q):
        fact = facts.get(lead_id)
        if fact is None:
            continue
        if kind == "route" and fact.route_outcome is None:
            fact.route_rule, fact.route_method = rule, method
            fact.route_outcome, fact.route_queue, fact.route_us = outcome, queue, us
        elif kind == CLAIM_KIND and rep_id is not None:
            fact.claims.append(rep_id)
        elif kind == "status" and fact.first_contact_at is None and outcome in CONTACT_STATUSES:
            fact.first_contact_at = at


# ---------------------------------------------------------------- report


def _reps(s: Session, team: str | None) -> list[RepRow]:
    rows = list(s.scalars(select(RepRow).order_by(RepRow.name, RepRow.id)))
    if team:
        return [r for r in rows if team in (r.teams or ())]
    return [r for r in rows if r.active]


def _distribution(facts: list[LeadFact], reps: list[RepRow]) -> dict[str, Any]:
    count: dict[int, int] = defaultdict(int)
    value: dict[int, float] = defaultdict(float)
    open_: dict[int, int] = defaultdict(int)
    for f in facts:
        if f.owner_rep_id is None:
            continue
        count[f.owner_rep_id] += 1
        value[f.owner_rep_id] += f.value
        open_[f.owner_rep_id] += f.status in OPEN_STATUSES
    rows: list[dict[str, Any]] = [
        {
            "rep_id": r.id,
            "name": r.name,
            "teams": r.teams,
            "leads": count[r.id],
            "value": value[r.id],
            "open": open_[r.id],
        }
        for r in reps
    ]
    return {
        "reps": rows,
        "count": asdict(Spread.of([row["leads"] for row in rows])),
        "value": asdict(Spread.of([row["value"] for row in rows])),
    }


def _latency(facts: list[LeadFact], now: datetime) -> dict[str, Any]:
    waits = [w for f in facts if (w := f.latency_seconds) is not None]
    contacts = [
        (f.first_contact_at - (f.assigned_at or f.created_at)).total_seconds()
        for f in facts
        if f.first_contact_at is not None
    ]
    return {
        "assignment": {
            "count": len(waits),
            "mean_seconds": mean(waits),
            **{f"{k}_seconds": v for k, v in percentiles(waits).items()},
            "within_10s": share_within(waits, 10),
        },
        "first_contact": {
            "available": bool(contacts),
            "count": len(contacts),
            "mean_seconds": mean(contacts),
            **{f"{k}_seconds": v for k, v in percentiles(contacts).items()},
            "within_5min": share_within(contacts, 300),
        },
    }


def _group(facts: Iterable[LeadFact], key: str) -> list[dict[str, Any]]:
    groups: dict[str, list[LeadFact]] = defaultdict(list)
    for f in facts:
        name = getattr(f, key)
        if name:
            groups[str(name)].append(f)
    out = []
    for name, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        won = sum(1 for f in members if f.status == LeadStatus.WON)
        lost = sum(1 for f in members if f.status == LeadStatus.LOST)
        out.append(
            {
                "key": name,
                "leads": len(members),
                "won": won,
                "lost": lost,
                "conversion": rate(won, len(members)),
            }
        )
    return out


def _conversion(facts: list[LeadFact]) -> dict[str, Any]:
    return {
        "by_method": _group(facts, "route_method"),
        "by_rule": _group(facts, "route_rule"),
        "by_source": _group(facts, "source"),
        "by_queue": _group(facts, "route_queue"),
    }


def _routing(facts: list[LeadFact]) -> dict[str, Any]:
    total = len(facts)
    fallback = sum(1 for f in facts if f.route_rule == FALLBACK)
    errors = sum(1 for f in facts if f.routing_error)
    outcomes: dict[str, int] = defaultdict(int)
    for f in facts:
        outcomes[f.route_outcome or "none"] += 1
    return {
        "leads": total,
        "outcomes": dict(sorted(outcomes.items())),
        "fallback": fallback,
        "fallback_rate": rate(fallback, total),
        "errors": errors,
        "error_rate": rate(errors, total),
    }


def _queues(s: Session, now: datetime) -> list[dict[str, Any]]:
    """Leads waiting in queues now (whatever the period): age = now - created_at."""
    rows = s.execute(
        select(LeadRow.queue, LeadRow.created_at)
        .where(LeadRow.status == LeadStatus.QUEUED)
        .limit(MAX_LEADS)
    )
    ages: dict[str, list[float]] = defaultdict(list)
    for queue, created in rows:
        ages[queue or UNASSIGNED_QUEUE].append((now - created).total_seconds())
    return [
        {
            "queue": q,
            "count": len(a),
            "oldest_seconds": max(a),
            **{f"{k}_seconds": v for k, v in percentiles(a, (50, 95)).items()},
        }
        for q, a in sorted(ages.items())
    ]


def _claims(facts: list[LeadFact], reps: list[RepRow]) -> dict[str, Any]:
    pool = [f.score for f in facts if f.route_outcome == "queued" and f.score is not None]
    claimed: dict[int, list[float]] = defaultdict(list)
    counts: dict[int, int] = defaultdict(int)
    for f in facts:
        for rep_id in f.claims:
            counts[rep_id] += 1
            if f.score is not None:
                claimed[rep_id].append(f.score)
    names = {r.id: r.name for r in reps}
    rows = [
        {
            "rep_id": rid,
            "name": names.get(rid, f"rep {rid}"),
            "claims": counts[rid],
            "mean_score": mean(claimed[rid]),
            "cherry_picking_index": cherry_picking_index(claimed[rid], pool),
            "score_histogram": histogram(claimed[rid], SCORE_EDGES),
        }
        for rid in sorted(counts, key=lambda r: -counts[r])
        if rid in names
    ]
    return {
        "pool_leads": len(pool),
        "pool_mean_score": mean(pool),
        "score_edges": list(SCORE_EDGES),
        "reps": rows,
    }


def _slow_high_priority(facts: list[LeadFact], limits: alerting.Thresholds, now: datetime) -> int:
    slow = 0
    for f in facts:
        hot = f.high_priority_hint or (
            f.score is not None and f.score >= limits.high_priority_score
        )
        if not hot or f.assigned_at is None:
            continue
        if f.first_contact_at is not None:
            waited = (f.first_contact_at - f.assigned_at).total_seconds()
        elif f.status == LeadStatus.ASSIGNED:
            waited = (now - f.assigned_at).total_seconds()
        else:
            continue  # closed without a recorded contact: nothing to chase any more
        slow += waited > limits.first_response_seconds
    return slow


def report(svc: Services, sc: Scope) -> dict[str, Any]:
    """Every dashboard metric for the scope, in one read transaction."""
    now = svc.clock.now()
    with svc.db.read() as s:
        reps = _reps(s, sc.team)
        facts = _load_facts(s, sc)
        queues = _queues(s, now)
        limits = _thresholds(s)
        members = {r.id for r in reps} if sc.team else None
        sla = metrics_pull.sla_breaches(s, sc.since, sc.until, members)
        claim_rates = metrics_pull.claim_rate_shortfalls(s, sc.since, sc.until, now, members)
    if members is not None:
        facts = [f for f in facts if f.owner_rep_id in members]
    latency = _latency(facts, now)
    routing = _routing(facts)
    observed = alerting.Observed(
        leads=routing["leads"],
        routing_errors=routing["errors"],
        latency_p95_seconds=latency["assignment"]["p95_seconds"],
        slow_high_priority=_slow_high_priority(facts, limits, now),
    )
    return {
        "scope": sc.as_dict(),
        "generated_at": now,
        "distribution": _distribution(facts, reps),
        "latency": latency,
        "conversion": _conversion(facts),
        "routing": routing,
        "queues": queues,
        "claims": _claims(facts, reps),
        "sla": sla,
        "claim_rates": claim_rates,
        "alerts": [asdict(a) for a in alerting.evaluate(observed, limits)],
        "thresholds": limits.as_dict(),
    }


# ---------------------------------------------------------------- thresholds


def _thresholds(s: Session) -> alerting.Thresholds:
    row = s.get(AppSettingRow, THRESHOLDS_KEY)
    if row is None:
        return alerting.Thresholds()
    try:
        return alerting.Thresholds().with_changes(row.value)
    except ValueError:
        return alerting.Thresholds()  # stored by an older version: fall back to defaults


def get_thresholds(svc: Services) -> dict[str, float]:
    with svc.db.read() as s:
        return _thresholds(s).as_dict()


def set_thresholds(svc: Services, changes: dict[str, Any], *, actor: str) -> dict[str, float]:
    """Change some thresholds; a bad one → 422 naming it, nothing stored."""
    with svc.db.write() as s:
        try:
            limits = _thresholds(s).with_changes(changes)
        except (ValueError, TypeError) as exc:
            name = str(exc).split(":", 1)[0]
            raise ValidationError(str(exc), field=name) from None
        row = s.get(AppSettingRow, THRESHOLDS_KEY)
        if row is None:
            row = AppSettingRow(key=THRESHOLDS_KEY, value={}, updated_at=svc.clock.now())
            s.add(row)
        row.value = limits.as_dict()
        row.updated_at = svc.clock.now()
        row.updated_by = actor
        return limits.as_dict()


# ---------------------------------------------------------------- CSV


CSV_SECTIONS = ("reps", "conversion", "queues", "summary")


def to_csv(data: dict[str, Any], section: str) -> str:
    """One table of the report as CSV (a spreadsheet opens it as is)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    if section == "reps":
        claims = {c["rep_id"]: c for c in data["claims"]["reps"]}
        w.writerow(["rep_id", "name", "leads", "value", "open", "claims", "cherry_picking_index"])
        for r in data["distribution"]["reps"]:
            c = claims.get(r["rep_id"], {})
            w.writerow(
                [
                    r["rep_id"],
                    r["name"],
                    r["leads"],
                    r["value"],
                    r["open"],
                    c.get("claims", 0),
                    c.get("cherry_picking_index", ""),
                ]
            )
    elif section == "conversion":
        w.writerow(["dimension", "key", "leads", "won", "lost", "conversion"])
        for dim, groups in data["conversion"].items():
            for g in groups:
                w.writerow(
                    [
                        dim.removeprefix("by_"),
                        g["key"],
                        g["leads"],
                        g["won"],
                        g["lost"],
                        g["conversion"],
                    ]
                )
    elif section == "queues":
        w.writerow(["queue", "count", "oldest_seconds", "p50_seconds", "p95_seconds"])
        for q in data["queues"]:
            w.writerow(
                [q["queue"], q["count"], q["oldest_seconds"], q["p50_seconds"], q["p95_seconds"]]
            )
    elif section == "summary":
        w.writerow(["metric", "value"])
        for key, value in summary_rows(data):
            w.writerow([key, "" if value is None else value])
    else:
        raise ValidationError(
            f"unknown section; use one of {', '.join(CSV_SECTIONS)}", field="section"
        )
    return buf.getvalue()


def summary_rows(data: dict[str, Any]) -> list[tuple[str, Any]]:
    d, lat, r = data["distribution"], data["latency"], data["routing"]
    rows: list[tuple[str, Any]] = [
        ("since", data["scope"]["since"].isoformat()),
        ("until", data["scope"]["until"].isoformat()),
        ("team", data["scope"]["team"] or ""),
        ("leads", r["leads"]),
        ("leads_per_rep_std_dev", d["count"]["std_dev"]),
        ("leads_per_rep_gini", d["count"]["gini"]),
        ("value_per_rep_std_dev", d["value"]["std_dev"]),
        ("value_per_rep_gini", d["value"]["gini"]),
    ]
    for q in ("p50", "p95", "p99"):
        rows.append((f"assignment_latency_{q}_seconds", lat["assignment"][f"{q}_seconds"]))
    rows.append(("assigned_within_10s", lat["assignment"]["within_10s"]))
    if lat["first_contact"]["available"]:
        rows.append(("first_contact_p50_seconds", lat["first_contact"]["p50_seconds"]))
        rows.append(("contacted_within_5min", lat["first_contact"]["within_5min"]))
    rows += [("fallback_rate", r["fallback_rate"]), ("error_rate", r["error_rate"])]
    return rows


def status_counts(svc: Services, owner_rep_id: int) -> dict[str, int]:
    """How many of a rep's leads are in each status (the chips on "my leads")."""
    with svc.db.read() as s:
        rows = s.execute(
            select(LeadRow.status, func.count())
            .where(LeadRow.owner_rep_id == owner_rep_id)
            .group_by(LeadRow.status)
        )
        return {status: n for status, n in rows}
