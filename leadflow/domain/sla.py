"""SLA maths: when a first-contact deadline falls (optionally counting only the rep's
working hours), who the manager is, and what a breach does."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from leadflow.domain.model import Org, Rep, WeeklyHours

MAX_DAYS = 366
"""Working hours that never come (an empty week) fall back to calendar time."""


def due_at(
    start: datetime,
    seconds: float,
    hours: WeeklyHours | None = None,
    timezone: str | None = None,
) -> datetime:
    """`start + seconds`, counting only working time when `hours` is given."""
    if hours is None or not any(hours.days.values()):
        return start + timedelta(seconds=seconds)
    tz = ZoneInfo(timezone or "UTC")
    local = start.astimezone(tz)
    left = timedelta(seconds=seconds)
    day = local.date()
    for _ in range(MAX_DAYS):
        for begin, end in _segments(hours, day, tz):
            begin = max(begin, local)
            if end <= begin:
                continue
            if end - begin >= left:
                return (begin + left).astimezone(start.tzinfo)
            left -= end - begin
        day += timedelta(days=1)
    return start + timedelta(seconds=seconds)


def _segments(hours: WeeklyHours, day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The working intervals of one local day, as aware datetimes (overnight → next day)."""
    out = []
    for r in sorted(hours.days.get(day.weekday(), ()), key=lambda r: r.start):
        end_day = day if r.end > r.start else day + timedelta(days=1)
        out.append((datetime.combine(day, r.start, tz), datetime.combine(end_day, r.end, tz)))
    return out


def manager_of(rep: Rep | None, org: Org) -> Rep | None:
    """The manager of the rep's first managed team (by name), never the rep themself."""
    if rep is None:
        return None
    for name in sorted(rep.teams):
        team = org.teams.get(name)
        if team is not None and team.manager_rep_id not in (None, rep.id):
            manager = org.reps.get(team.manager_rep_id) if team.manager_rep_id else None
            if manager is not None:
                return manager
    return None


def breach_action(on_breach: str, reassignments: int, max_reassignments: int) -> str:
    """`reassign` while the lead has moved fewer than `max_reassignments` times, then
    `escalate`: a lead nobody calls must reach a human who can act."""
    if on_breach == "reassign" and reassignments < max_reassignments:
        return "reassign"
    return "escalate"


def goes_away(consecutive_misses: int, threshold: int | None) -> bool:
    return threshold is not None and consecutive_misses >= threshold
