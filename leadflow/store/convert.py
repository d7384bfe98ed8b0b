"""Rows → domain values."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from leadflow.domain.model import (
    WEEKDAYS,
    Absence,
    Account,
    Capacity,
    Rep,
    RepStatus,
    Team,
    Territory,
    WeeklyHours,
)
from leadflow.rules.compile import parse_hours
from leadflow.store.models import AbsenceRow, AccountRow, RepRow, TeamRow, TerritoryRow


def weekly_hours(raw: dict[str, list[str]] | None) -> WeeklyHours | None:
    if raw is None:
        return None
    return WeeklyHours(
        {WEEKDAYS.index(day): tuple(parse_hours(r) for r in ranges) for day, ranges in raw.items()}
    )


def rep(row: RepRow, absences: Iterable[AbsenceRow] = ()) -> Rep:
    return Rep(
        id=row.id,
        name=row.name,
        email=row.email,
        teams=frozenset(row.teams or ()),
        territories=frozenset(row.territories or ()),
        skills=frozenset(s.lower() for s in row.skills or ()),
        languages=frozenset(row.languages or ()),
        timezone=row.timezone,
        working_hours=weekly_hours(row.working_hours),
        capacity=Capacity(row.max_open, row.max_per_day, row.max_per_week),
        weight=row.weight,
        status=RepStatus(row.status),
        active=row.active,
        absences=tuple(Absence(a.start, a.end) for a in absences),
    )


def team(row: TeamRow) -> Team:
    return Team(row.name, row.manager_rep_id)


def territory(row: TerritoryRow) -> Territory:
    m = row.match or {}
    return Territory(
        name=row.name,
        team=row.team,
        countries=frozenset(c.upper() for c in m.get("countries", ())),
        states=frozenset(s.upper() for s in m.get("states", ())),
        regions=frozenset(s.upper() for s in m.get("regions", ())),
        postcode_prefixes=tuple(p.upper().replace(" ", "") for p in m.get("postcode_prefixes", ())),
        industries=frozenset(s.casefold() for s in m.get("industries", ())),
        size_min=m.get("size_min"),
        size_max=m.get("size_max"),
        priority=row.priority,
    )


def account(row: AccountRow) -> Account:
    return Account(
        row.id, row.name, frozenset(row.domains or ()), row.owner_rep_id, row.strategic, row.team
    )


def active_absences(rows: Iterable[AbsenceRow], now: datetime) -> list[AbsenceRow]:
    return [a for a in rows if a.end > now]
