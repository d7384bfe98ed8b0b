"""What one simulated run measured, and the statistics the report compares.

The recorder keeps one float per lead and metric (`array`), so a million leads cost a
few tens of megabytes; `summary` turns a run into plain numbers.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from leadflow.domain.model import Org
from leadflow.sim.leads import SimLead

FIVE_MINUTES = 300.0


class Recorder:
    def __init__(self, org: Org, sla_seconds: float = 3600.0) -> None:
        self.org = org
        self.sla = sla_seconds
        self.to_owner = array("d")
        self.to_contact = array("d")
        self.queue_ages = array("d")
        self.unclaimed = 0
        self.leads = 0
        self.never_owned = 0
        self.never_contacted = 0
        self.within_5 = 0
        self.sla_breaches = 0
        self.reassignments = 0
        self.conversions = 0.0
        self.revenue = 0.0
        self.outcomes: Counter[str] = Counter()
        self.rep_count: Counter[int] = Counter()
        self.rep_value: dict[int, float] = defaultdict(float)
        self.offers = 0
        self.offers_accepted = 0
        self.offer_asks = 0
        self.claim_refusals: Counter[str] = Counter()  # production wording -> times
        self.lease_returns = 0
        self.escalations = 0
        self.auto_assigned = 0
        self.end = 0.0

    def refused(self, reason: str) -> None:
        self.claim_refusals[reason] += 1

    def outcome(self, kind: str) -> None:
        self.outcomes[kind] += 1

    def offer(self, asked: int, accepted: bool) -> None:
        self.offers += 1
        self.offer_asks += asked
        self.offers_accepted += accepted

    def queue_age(self, seconds: float, *, claimed: bool) -> None:
        self.queue_ages.append(seconds)
        self.unclaimed += not claimed

    def lead(
        self,
        lead: SimLead,
        owner: int | None,
        owned_at: float | None,
        contact: float | None,
        p: float,
    ) -> None:
        self.leads += 1
        if owned_at is None:
            self.never_owned += 1
        else:
            self.to_owner.append(owned_at - lead.created)
        if owner is not None:
            self.rep_count[owner] += 1
            self.rep_value[owner] += lead.value
        if contact is None:
            self.never_contacted += 1
            self.sla_breaches += 1
            return
        wait = contact - lead.created
        self.to_contact.append(wait)
        self.within_5 += wait <= FIVE_MINUTES
        self.sla_breaches += wait > self.sla
        self.conversions += p
        self.revenue += p * lead.value

    def summary(self) -> dict[str, Any]:
        n = max(self.leads, 1)
        reps = sorted(self.org.reps)
        counts = [self.rep_count.get(r, 0) for r in reps]
        values = [self.rep_value.get(r, 0.0) for r in reps]
        return {
            "leads": self.leads,
            "outcomes": dict(sorted(self.outcomes.items())),
            "time_to_owner_min": percentiles(self.to_owner),
            "never_owned": self.never_owned,
            "time_to_contact_min": percentiles(self.to_contact),
            "contacted_within_5_min_pct": round(100 * self.within_5 / n, 2),
            "never_contacted": self.never_contacted,
            "never_contacted_pct": round(100 * self.never_contacted / n, 2),
            "queue_age_min": percentiles(self.queue_ages),
            "queued_never_claimed": self.unclaimed,
            "sla_breaches": self.sla_breaches,
            "sla_breaches_pct": round(100 * self.sla_breaches / n, 2),
            "reassignments": self.reassignments,
            "gini_count": round(gini(counts), 4),
            "gini_value": round(gini(values), 4),
            "per_rep": {
                self.org.reps[r].email: {"count": c, "value": v}
                for r, c, v in zip(reps, counts, values, strict=True)
            },
            "offers": {
                "made": self.offers,
                "accepted": self.offers_accepted,
                "mean_reps_asked": round(self.offer_asks / self.offers, 2) if self.offers else 0,
            },
            "pull": {
                "claim_refusals": _by_policy(self.claim_refusals),
                "lease_returns": self.lease_returns,
                "escalations": self.escalations,
                "auto_assigned": self.auto_assigned,
            },
            "expected_conversions": round(self.conversions, 2),
            "expected_revenue": round(self.revenue, 2),
        }


def _by_policy(reasons: Counter[str]) -> dict[str, int]:
    """Refusals per policy: the text before the first colon ("hoarding cap", ...)."""
    out: Counter[str] = Counter()
    for reason, n in reasons.items():
        out[reason.split(":", 1)[0]] += n
    return dict(sorted(out.items()))


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p90/p99 in minutes (nearest rank); None when there is nothing to measure."""
    if not values:
        return {"p50": None, "p90": None, "p99": None}
    ordered = sorted(values)
    n = len(ordered)

    def rank(q: float) -> float:
        return round(ordered[min(n - 1, max(0, math.ceil(q * n) - 1))] / 60.0, 2)

    return {"p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99)}


def gini(values: Sequence[float]) -> float:
    """0 = perfectly even split, towards 1 = one rep gets everything."""
    xs = sorted(values)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * weighted) / (n * total) - (n + 1) / n


# Two-sided 95 % Student t quantiles by degrees of freedom (beyond 30: normal).
_T95 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    15: 2.131,
    20: 2.086,
    30: 2.042,
}


def confidence(values: Sequence[float]) -> dict[str, float | None]:
    """Mean and 95 % confidence interval over seeded runs (None bounds with one run)."""
    n = len(values)
    mean = sum(values) / n if n else 0.0
    if n < 2:
        return {"mean": round(mean, 2), "low": None, "high": None}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    df = n - 1
    t = next((q for d, q in sorted(_T95.items()) if d >= df), 1.96)
    half = t * sd / math.sqrt(n)
    return {"mean": round(mean, 2), "low": round(mean - half, 2), "high": round(mean + half, 2)}
