"""Pull distribution rules as pure values and functions: queue modes, rep tiers, what a
rep may see, and the anti-gaming policies checked when a rep claims a lead.

Every refusal is a sentence that tells the rep what to do instead. Nothing here reads
the clock or the database: the service passes counts, scores and `now` in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from leadflow.domain.conditions import Condition
from leadflow.domain.model import Org
from leadflow.domain.rulebook import Assign, Method


class Mode(StrEnum):
    FIFO = "fifo"  # claim the next lead only, in order
    POOL = "pool"  # browse previews, claim any
    CHERRY_PICK = "cherry_pick"  # full details before claim
    BLIND = "blind"  # only age and count before claim
    TRIAGE = "triage"  # managers see and assign by hand


class Tier(StrEnum):
    TOP = "top"
    AVERAGE = "average"
    NEW = "new"
    STRUGGLING = "struggling"


PULLING_TIERS = frozenset({Tier.TOP, Tier.AVERAGE})


class View(StrEnum):
    """How much of a queued lead a viewer sees before claiming it."""

    AGE_ONLY = "age_only"
    PREVIEW = "preview"
    FULL = "full"


DEFAULT_PREVIEW = ("company.name", "company.industry", "company.size", "source", "score")
DEFAULT_LEASE = timedelta(minutes=15)
DEFAULT_HOARDING_CAP = 10


@dataclass(frozen=True, slots=True)
class Diversity:
    """Keep low-score leads moving: a share of recent claims (or one low per `ratio`
    highs) must score below `score_below`."""

    score_below: float = 50.0
    min_low_percent: int | None = 30
    ratio: int | None = None
    window: int = 10


@dataclass(frozen=True, slots=True)
class Step:
    """An age step: after `after` in the queue, auto-assign or move to another queue."""

    after: timedelta
    action: str  # "auto_assign" | "queue"
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    hoarding_cap: int | None = DEFAULT_HOARDING_CAP
    diversity: Diversity | None = None
    skip_limit: int | None = None
    min_claims_per_day: int | None = None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    mode: Mode
    by_priority: bool = False  # order: score first, then arrival
    preview_fields: tuple[str, ...] = DEFAULT_PREVIEW
    lease: timedelta = DEFAULT_LEASE
    team: str | None = None
    reps: frozenset[str] = frozenset()  # e-mails; with no team and no reps anyone may pull
    average_filter: Condition | None = None
    policy: Policy = Policy()

    def lease_until(self, now: datetime) -> datetime:
        return now + self.lease


# ---------------------------------------------------------------- who sees what


def pull_refusal(queue: Queue, tier: Tier, member: bool) -> str | None:
    """Why this rep may not pull from this queue at all, or None."""
    if queue.mode is Mode.TRIAGE:
        return f"queue {queue.name!r} is a triage queue: only managers see and assign its leads"
    if not member:
        who = f"team {queue.team!r}" if queue.team else "its list of reps"
        return f"you are not among the reps of queue {queue.name!r} ({who})"
    if tier not in PULLING_TIERS:
        return (
            f"reps in tier {tier.value!r} do not pull leads; "
            "they receive leads by automatic assignment instead"
        )
    return None


def rep_view(queue: Queue, tier: Tier) -> View:
    """What a rep allowed to pull sees in the listing (the mode caps, the tier refines)."""
    if queue.mode is Mode.BLIND:
        return View.AGE_ONLY
    if queue.mode is Mode.CHERRY_PICK:
        # With a skip limit, details cost a counted view, so the listing shows previews.
        return View.PREVIEW if queue.policy.skip_limit else View.FULL
    return View.FULL if tier is Tier.TOP else View.PREVIEW


def may_open_details(queue: Queue, tier: Tier) -> bool:
    """May a rep open one lead's full details before claiming it?"""
    if queue.mode is Mode.CHERRY_PICK:
        return True
    return queue.mode in (Mode.POOL, Mode.FIFO) and tier is Tier.TOP


def in_rep_view(queue: Queue, tier: Tier, lead: Mapping[str, Any]) -> bool:
    """Average reps see the queue through its filter; top reps see it all."""
    if tier is Tier.AVERAGE and queue.average_filter is not None:
        return queue.average_filter.evaluate(lead)
    return True


def preview(lead: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """Only the configured fields, missing ones as None (never the whole lead)."""
    return {f: _pick(lead, f) for f in fields}


def _pick(lead: Mapping[str, Any], path: str) -> Any:
    current: Any = lead
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def age_seconds(created_at: datetime, now: datetime) -> int:
    return max(0, int((now - created_at).total_seconds()))


def claim_by_id_refusal(queue: Queue) -> str | None:
    if queue.mode is Mode.FIFO:
        return (
            f"queue {queue.name!r} is first-in first-out: take the next lead with "
            f"POST /api/v1/queues/{queue.name}/claim-next"
        )
    return None


# ---------------------------------------------------------------- policies at claim time


def hoarding_refusal(policy: Policy, held: int) -> str | None:
    """`held`: leads the rep has claimed and not yet contacted."""
    cap = policy.hoarding_cap
    if cap is not None and held >= cap:
        return (
            f"hoarding cap: you hold {held} claimed leads not yet contacted (limit {cap}); "
            "log a contact on one or release one before claiming more"
        )
    return None


def is_low(diversity: Diversity, score: float | None) -> bool:
    return score is None or score < diversity.score_below


def diversity_refusal(
    diversity: Diversity | None, recent: Sequence[float | None], score: float | None
) -> str | None:
    """Would claiming a lead of `score` break the mix? `recent`: the rep's latest claim
    scores in this queue, newest first."""
    if diversity is None or is_low(diversity, score):
        return None
    window = [*recent[: diversity.window - 1], score]
    lows = sum(1 for s in window if is_low(diversity, s))
    highs = len(window) - lows
    below = f"below {diversity.score_below:g}"
    if diversity.ratio is not None:
        if highs > diversity.ratio * (lows + 1):
            return (
                f"diversity policy: claim one lead scoring {below} for every "
                f"{diversity.ratio} above it; your next claim must score {below}"
            )
        return None
    pct = diversity.min_low_percent or 0
    needed = len(window) * pct // 100
    if lows < needed:
        return (
            f"diversity policy: at least {pct}% of your last {diversity.window} claims must "
            f"score {below}; your next claim must score {below}"
        )
    return None


def skip_refusal(limit: int | None, viewed_since_claim: int, already_viewed: bool) -> str | None:
    if limit is None or already_viewed or viewed_since_claim < limit:
        return None
    return (
        f"skip limit: you opened {viewed_since_claim} leads without claiming one "
        f"(limit {limit}); claim a lead before opening more"
    )


def due_steps(policy: Policy, created_at: datetime) -> list[tuple[int, datetime]]:
    """(step index, due time) of each age step; age counts from the lead's arrival."""
    return [(i, created_at + step.after) for i, step in enumerate(policy.steps)]


def auto_assign_action(queue: Queue, org: Org) -> Assign:
    """What an `auto_assign` step routes with: round robin among the queue's reps (its
    team, its list of reps, or every rep of the org for an open queue)."""
    if queue.team:
        return Assign(Method.ROUND_ROBIN, team=queue.team)
    emails = queue.reps or frozenset(r.email.lower() for r in org.reps.values())
    return Assign(Method.ROUND_ROBIN, reps=tuple(sorted(emails)))


def next_day_start(now: datetime) -> datetime:
    """Midnight after `now` (UTC), when yesterday's claims can be counted."""
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


def describe(span: timedelta) -> str:
    """'30 min', or '36 s' for spans under a minute (short test and demo timers)."""
    seconds = int(span.total_seconds())
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"
