"""The organisation and the lead, as frozen values.

Times are timezone-aware UTC datetimes passed in by the caller; nothing here reads
the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from typing import Any


class RepStatus(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


class LeadStatus(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    QUEUED = "queued"
    OFFERED = "offered"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    WON = "won"
    LOST = "lost"
    DISQUALIFIED = "disqualified"
    RECYCLED = "recycled"  # returned to marketing, with a reason
    REJECTED = "rejected"


#: Statuses in which a lead counts against its owner's open-lead capacity.
OPEN_STATUSES = frozenset({LeadStatus.ASSIGNED, LeadStatus.CONTACTED, LeadStatus.QUALIFIED})

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Capacity:
    """Caps on a rep's load; None means no cap."""

    max_open: int | None = None
    max_per_day: int | None = None
    max_per_week: int | None = None


@dataclass(frozen=True, slots=True)
class TimeRange:
    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        # An overnight shift such as 22:00-06:00.
        return t >= self.start or t < self.end


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Working hours per weekday (index 0 = Monday); a day absent means not working."""

    days: Mapping[int, tuple[TimeRange, ...]]

    def covers(self, weekday: int, t: time) -> bool:
        # A plain loop, not any(<generator>): this runs for every rep screened per lead.
        for r in self.days.get(weekday, ()):  # noqa: SIM110
            if r.contains(t):
                return True
        return False


@dataclass(frozen=True, slots=True)
class Absence:
    """An out-of-office period, [start, end)."""

    start: datetime
    end: datetime

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class Rep:
    id: int
    name: str
    email: str
    teams: frozenset[str] = frozenset()
    territories: frozenset[str] = frozenset()
    skills: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    timezone: str | None = None
    working_hours: WeeklyHours | None = None
    capacity: Capacity = Capacity()
    weight: int = 1
    status: RepStatus = RepStatus.AVAILABLE
    active: bool = True
    absences: tuple[Absence, ...] = ()


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    manager_rep_id: int | None = None


@dataclass(frozen=True, slots=True)
class Territory:
    """Match criteria; every criterion given must match (empty = any)."""

    name: str
    team: str | None = None
    countries: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    postcode_prefixes: tuple[str, ...] = ()
    industries: frozenset[str] = frozenset()
    size_min: int | None = None
    size_max: int | None = None
    priority: int = 100


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    domains: frozenset[str]
    owner_rep_id: int | None
    strategic: bool = False
    team: str | None = None


@dataclass(frozen=True, slots=True)
class RepLoad:
    """What a rep already carries; the caller loads it inside the routing transaction."""

    open: int = 0
    today: int = 0
    this_week: int = 0
    last_assigned_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Org:
    """A consistent snapshot of the organisation used for one routing decision."""

    reps: Mapping[int, Rep]
    teams: Mapping[str, Team] = field(default_factory=dict)
    territories: tuple[Territory, ...] = ()
    revision: int = 0
    # Indexes built once per snapshot: every decision asks for several teams' members, and
    # scanning and sorting all reps each time dominated the decision's cost.
    _members: Mapping[str, tuple[Rep, ...]] = field(init=False, repr=False, compare=False)
    _by_email: Mapping[str, Rep] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        members: dict[str, list[Rep]] = {}
        by_email: dict[str, Rep] = {}
        for rep in sorted(self.reps.values(), key=lambda r: r.id):
            for team in rep.teams:
                members.setdefault(team, []).append(rep)
            by_email.setdefault(rep.email.lower(), rep)
        object.__setattr__(self, "_members", {t: tuple(rs) for t, rs in members.items()})
        object.__setattr__(self, "_by_email", by_email)

    def rep_by_email(self, email: str) -> Rep | None:
        return self._by_email.get(email.lower())

    def team_members(self, team: str) -> list[Rep]:
        """The team's reps, by id."""
        return list(self._members.get(team, ()))


LeadData = Mapping[str, Any]
"""A normalised lead as a nested mapping (the shape conditions read with dotted paths)."""
