"""Dashboard metrics of the pull and lifecycle features: SLA breaches and minimum
claim-rate shortfalls, for a period and optionally a team (same scope as metrics.py).

- SLA: first-contact timers *due* in the period; `breached` ones were missed. The breach
  rate is over timers that were decided (met or breached), not cancelled or pending.
- Claim rates: for every queue with `min_claims_per_day`, each UTC day of the period
  (up to now) and every rep who pulls from it (same membership and tiers as the daily
  check), the claims made that day; a day below the minimum is a short day and the
  shortfall is what was missing. Only whole days count, from the day after the queue
  was created to yesterday.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadflow.domain.metrics import rate
from leadflow.services.pull_timers import claims_per_rep
from leadflow.services.queues import to_domain
from leadflow.store.lifecycle_models import SlaTimerRow
from leadflow.store.models import RepRow
from leadflow.store.pull_models import QueueRow

RECENT_BREACHES = 20
MAX_DAYS = 120
"""Claim-rate days looked at (the newest ones): bounds the queries of a long period."""


def sla_breaches(
    s: Session, since: datetime, until: datetime, members: set[int] | None
) -> dict[str, Any]:
    rows = list(
        s.scalars(
            select(SlaTimerRow)
            .where(SlaTimerRow.due_at >= since, SlaTimerRow.due_at < until)
            .order_by(SlaTimerRow.due_at.desc(), SlaTimerRow.id.desc())
        )
    )
    if members is not None:
        rows = [r for r in rows if r.rep_id in members]
    names = dict(s.execute(select(RepRow.id, RepRow.name)).all())
    per_rep: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        per_rep[r.rep_id][r.state] += 1
    breached = [r for r in rows if r.state == "breached"]
    met = sum(1 for r in rows if r.state == "met")
    return {
        "timers": len(rows),
        "met": met,
        "breached": len(breached),
        "pending": sum(1 for r in rows if r.state == "pending"),
        "breach_rate": rate(len(breached), len(breached) + met),
        "reps": sorted(
            (
                {
                    "rep_id": rid,
                    "name": names.get(rid, f"rep {rid}"),
                    "breached": c["breached"],
                    "met": c["met"],
                    "breach_rate": rate(c["breached"], c["breached"] + c["met"]),
                }
                for rid, c in per_rep.items()
            ),
            key=lambda x: (-x["breached"], x["name"]),
        ),
        "recent": [
            {
                "lead_id": r.lead_id,
                "rep_id": r.rep_id,
                "name": names.get(r.rep_id, f"rep {r.rep_id}"),
                "policy": r.policy,
                "due_at": r.due_at,
            }
            for r in breached[:RECENT_BREACHES]
        ],
    }


def _days(since: datetime, until: datetime, now: datetime) -> list[datetime]:
    end = min(until, now)
    day = since.replace(hour=0, minute=0, second=0, microsecond=0)
    days = []
    while day < end:
        days.append(day)
        day += timedelta(days=1)
    return days[-MAX_DAYS:]


def claim_rate_shortfalls(
    s: Session, since: datetime, until: datetime, now: datetime, members: set[int] | None
) -> dict[str, Any]:
    days = _days(since, until, now)
    queues = []
    for row in s.scalars(select(QueueRow).order_by(QueueRow.name)):
        queue = to_domain(row)
        minimum = queue.policy.min_claims_per_day
        if not minimum:
            continue
        reps: dict[int, dict[str, Any]] = {}
        for day in days:
            # Only whole days of the queue's life: today is not over (a rep short at 10:00
            # is not short yet), and the day it was created started without it.
            if day + timedelta(days=1) > now or day < row.created_at:
                continue
            for rid, name, n in claims_per_rep(s, queue, day, day + timedelta(days=1)):
                if members is not None and rid not in members:
                    continue
                r = reps.setdefault(
                    rid,
                    {"rep_id": rid, "name": name, "days": 0, "claims": 0, "short_days": 0,
                     "shortfall": 0},
                )  # fmt: skip
                r["days"] += 1
                r["claims"] += n
                if n < minimum:
                    r["short_days"] += 1
                    r["shortfall"] += minimum - n
        rows = sorted(reps.values(), key=lambda r: (-r["shortfall"], r["name"]))
        for r in rows:
            r["claims_per_day"] = r["claims"] / r["days"] if r["days"] else 0.0
        queues.append({"queue": queue.name, "min_claims_per_day": minimum, "reps": rows})
    return {
        "days": sum(1 for d in days if d + timedelta(days=1) <= now),
        "queues": queues,
        "short_reps": sorted({r["name"] for q in queues for r in q["reps"] if r["short_days"]}),
    }
