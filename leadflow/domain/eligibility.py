"""Skip logic: may this rep receive a lead right now? Applied by every method."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from leadflow.domain.model import Rep, RepLoad, RepStatus


class SkipReason(StrEnum):
    INACTIVE = "inactive"
    AWAY = "away"
    OFFLINE = "offline"
    OUT_OF_OFFICE = "out_of_office"
    OUTSIDE_HOURS = "outside_working_hours"
    AT_CAPACITY_OPEN = "at_capacity_open"
    AT_CAPACITY_DAY = "at_capacity_day"
    AT_CAPACITY_WEEK = "at_capacity_week"
    MISSING_SKILL = "missing_skill"
    MISSING_LANGUAGE = "missing_language"
    NOT_IN_TERRITORY = "not_in_territory"


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a rule asks of a rep beyond being available."""

    skills: frozenset[str] = frozenset()
    language: str | None = None
    territory: str | None = None


# Reading `RepStatus.AWAY` or `SkipReason.X` costs ~65 ns each on Python 3.11 (an enum
# class attribute), a quarter of a screen: skip_reason reads these module names instead.
_AWAY, _OFFLINE = RepStatus.AWAY, RepStatus.OFFLINE
_INACTIVE, _AWAY_R, _OFFLINE_R = SkipReason.INACTIVE, SkipReason.AWAY, SkipReason.OFFLINE
_OOO, _HOURS = SkipReason.OUT_OF_OFFICE, SkipReason.OUTSIDE_HOURS
_OPEN, _DAY, _WEEK = (
    SkipReason.AT_CAPACITY_OPEN,
    SkipReason.AT_CAPACITY_DAY,
    SkipReason.AT_CAPACITY_WEEK,
)
_SKILL, _LANGUAGE, _TERRITORY = (
    SkipReason.MISSING_SKILL,
    SkipReason.MISSING_LANGUAGE,
    SkipReason.NOT_IN_TERRITORY,
)


def skip_reason(rep: Rep, load: RepLoad, req: Requirements, now: datetime) -> SkipReason | None:
    """The first reason this rep cannot take the lead, or None if eligible."""
    if not rep.active:
        return _INACTIVE
    status = rep.status
    if status is _AWAY:
        return _AWAY_R
    if status is _OFFLINE:
        return _OFFLINE_R
    # Inlined loops and lookups, no helper calls: this runs for every rep of the pool on
    # every decision (and 25+ times per simulated lead).
    for a in rep.absences:
        if a.start <= now < a.end:  # Absence.covers, inlined
            return _OOO
    hours = rep.working_hours
    if hours is not None:
        weekday, t = _weekday_and_time(rep.timezone, now)
        if not hours.covers(weekday, t):
            return _HOURS
    cap = rep.capacity
    if cap.max_open is not None and load.open >= cap.max_open:
        return _OPEN
    if cap.max_per_day is not None and load.today >= cap.max_per_day:
        return _DAY
    if cap.max_per_week is not None and load.this_week >= cap.max_per_week:
        return _WEEK
    if not req.skills <= rep.skills:
        return _SKILL
    if req.language is not None and req.language not in rep.languages:
        return _LANGUAGE
    if req.territory is not None and req.territory not in rep.territories:
        return _TERRITORY
    return None


def local_time(rep_timezone: str | None, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(rep_timezone or "UTC"))


@lru_cache(maxsize=512)
def _weekday_and_time(rep_timezone: str | None, now: datetime) -> tuple[int, time]:
    # One decision screens a whole team with the same `now`, mostly in one timezone:
    # convert once per timezone and decision instead of once per rep.
    local = local_time(rep_timezone, now)
    return local.weekday(), local.time()
