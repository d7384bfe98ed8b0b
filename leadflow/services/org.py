"""Manage the organisation: reps, absences, teams, territories, accounts."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from leadflow.domain.model import Org
from leadflow.errors import Conflict, NotFound, ValidationError
from leadflow.schemas import AbsenceIn, AccountIn, RepIn, RepPatch, TeamIn, TerritoryIn
from leadflow.services.context import ORG_REVISION, Services, bump, read_meta
from leadflow.store import convert
from leadflow.store.models import (
    AbsenceRow,
    AccountDomainRow,
    AccountRow,
    RepLoadRow,
    RepRow,
    TeamRow,
    TerritoryRow,
)

# ---------------------------------------------------------------- views


def rep_view(row: RepRow, absences: list[AbsenceRow] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "email": row.email,
        "teams": row.teams,
        "territories": row.territories,
        "skills": row.skills,
        "languages": row.languages,
        "timezone": row.timezone,
        "working_hours": row.working_hours,
        "capacity": {
            "max_open": row.max_open,
            "max_per_day": row.max_per_day,
            "max_per_week": row.max_per_week,
        },
        "weight": row.weight,
        "status": row.status,
        "active": row.active,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }
    if absences is not None:
        view["out_of_office"] = [
            {"id": a.id, "start": a.start, "end": a.end, "note": a.note} for a in absences
        ]
    return view


def team_view(row: TeamRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "manager_rep_id": row.manager_rep_id}


def territory_view(row: TerritoryRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "team": row.team, "priority": row.priority, **row.match}


def account_view(row: AccountRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "domains": row.domains,
        "owner_rep_id": row.owner_rep_id,
        "strategic": row.strategic,
        "team": row.team,
    }


# ---------------------------------------------------------------- reps


def _check_refs(session: Session, teams: list[str] | None, territories: list[str] | None) -> None:
    if teams:
        known = set(session.scalars(select(TeamRow.name).where(TeamRow.name.in_(teams))))
        for t in teams:
            if t not in known:
                raise ValidationError(
                    f"unknown team {t!r}; create it first (POST /api/v1/teams)", field="teams"
                )
    if territories:
        known = set(
            session.scalars(select(TerritoryRow.name).where(TerritoryRow.name.in_(territories)))
        )
        for t in territories:
            if t not in known:
                raise ValidationError(
                    f"unknown territory {t!r}; create it first (POST /api/v1/territories)",
                    field="territories",
                )


def create_rep(svc: Services, data: RepIn) -> dict[str, Any]:
    now = svc.clock.now()
    with svc.db.write() as s:
        if s.scalar(select(RepRow.id).where(RepRow.email == data.email)) is not None:
            raise Conflict(f"a rep with e-mail {data.email} already exists", field="email")
        _check_refs(s, data.teams, data.territories)
        row = RepRow(
            name=data.name,
            email=data.email,
            teams=sorted(set(data.teams)),
            territories=sorted(set(data.territories)),
            skills=sorted({x.lower() for x in data.skills}),
            languages=sorted(set(data.languages)),
            timezone=data.timezone,
            working_hours=data.working_hours,
            max_open=data.capacity.max_open,
            max_per_day=data.capacity.max_per_day,
            max_per_week=data.capacity.max_per_week,
            weight=data.weight,
            status=data.status,
            active=data.active,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()
        s.add(RepLoadRow(rep_id=row.id))
        bump(s, ORG_REVISION)
        return rep_view(row, [])


def update_rep(svc: Services, rep_id: int, patch: RepPatch) -> dict[str, Any]:
    changes = patch.model_dump(exclude_unset=True)
    with svc.db.write() as s:
        row = s.get(RepRow, rep_id)
        if row is None:
            raise NotFound(f"rep {rep_id} not found")
        if "email" in changes and changes["email"] != row.email:
            taken = s.scalar(select(RepRow.id).where(RepRow.email == changes["email"]))
            if taken is not None:
                raise Conflict(
                    f"a rep with e-mail {changes['email']} already exists", field="email"
                )
        _check_refs(s, changes.get("teams"), changes.get("territories"))
        capacity = changes.pop("capacity", None)
        if capacity is not None:
            for key in ("max_open", "max_per_day", "max_per_week"):
                if key in capacity:
                    setattr(row, key, capacity[key])
        for key, value in changes.items():
            if key in ("teams", "territories", "languages"):
                value = sorted(set(value or ()))
            elif key == "skills":
                value = sorted({x.lower() for x in value or ()})
            setattr(row, key, value)
        row.updated_at = svc.clock.now()
        bump(s, ORG_REVISION)
        return rep_view(row, _absences(s, row.id))


def _absences(s: Session, rep_id: int) -> list[AbsenceRow]:
    return list(
        s.scalars(select(AbsenceRow).where(AbsenceRow.rep_id == rep_id).order_by(AbsenceRow.start))
    )


def get_rep(svc: Services, rep_id: int) -> dict[str, Any]:
    with svc.db.read() as s:
        row = s.get(RepRow, rep_id)
        if row is None:
            raise NotFound(f"rep {rep_id} not found")
        return rep_view(row, _absences(s, rep_id))


def list_reps(
    svc: Services, *, team: str | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        q = select(RepRow).order_by(RepRow.id)
        if active is not None:
            q = q.where(RepRow.active == active)
        rows = list(s.scalars(q))
    if team:
        rows = [r for r in rows if team in (r.teams or ())]
    return [rep_view(r) for r in rows]


def add_absence(svc: Services, rep_id: int, data: AbsenceIn) -> dict[str, Any]:
    with svc.db.write() as s:
        if s.get(RepRow, rep_id) is None:
            raise NotFound(f"rep {rep_id} not found")
        row = AbsenceRow(rep_id=rep_id, start=data.start, end=data.end, note=data.note)
        s.add(row)
        s.flush()
        bump(s, ORG_REVISION)
        return {
            "id": row.id,
            "rep_id": rep_id,
            "start": row.start,
            "end": row.end,
            "note": row.note,
        }


def delete_absence(svc: Services, rep_id: int, absence_id: int) -> None:
    with svc.db.write() as s:
        result = s.execute(
            delete(AbsenceRow).where(AbsenceRow.id == absence_id, AbsenceRow.rep_id == rep_id)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"out-of-office period {absence_id} of rep {rep_id} not found")
        bump(s, ORG_REVISION)


# ---------------------------------------------------------------- teams, territories, accounts


def create_team(svc: Services, data: TeamIn) -> dict[str, Any]:
    with svc.db.write() as s:
        if s.scalar(select(TeamRow.id).where(TeamRow.name == data.name)) is not None:
            raise Conflict(f"team {data.name!r} already exists", field="name")
        if data.manager_rep_id is not None and s.get(RepRow, data.manager_rep_id) is None:
            raise ValidationError(f"rep {data.manager_rep_id} not found", field="manager_rep_id")
        row = TeamRow(name=data.name, manager_rep_id=data.manager_rep_id)
        s.add(row)
        s.flush()
        bump(s, ORG_REVISION)
        return team_view(row)


def set_team_manager(svc: Services, name: str, manager_rep_id: int | None) -> dict[str, Any]:
    with svc.db.write() as s:
        row = s.scalar(select(TeamRow).where(TeamRow.name == name))
        if row is None:
            raise NotFound(f"team {name!r} not found")
        if manager_rep_id is not None and s.get(RepRow, manager_rep_id) is None:
            raise ValidationError(f"rep {manager_rep_id} not found", field="manager_rep_id")
        row.manager_rep_id = manager_rep_id
        bump(s, ORG_REVISION)
        return team_view(row)


def list_teams(svc: Services) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        return [team_view(r) for r in s.scalars(select(TeamRow).order_by(TeamRow.name))]


def _territory_match(data: TerritoryIn) -> dict[str, Any]:
    return data.model_dump(exclude={"name", "team", "priority"}, exclude_defaults=True)


def create_territory(svc: Services, data: TerritoryIn) -> dict[str, Any]:
    with svc.db.write() as s:
        if s.scalar(select(TerritoryRow.id).where(TerritoryRow.name == data.name)) is not None:
            raise Conflict(f"territory {data.name!r} already exists", field="name")
        _check_refs(s, [data.team] if data.team else None, None)
        match = _territory_match(data)
        row = TerritoryRow(name=data.name, team=data.team, match=match, priority=data.priority)
        s.add(row)
        s.flush()
        bump(s, ORG_REVISION)
        return territory_view(row)


def replace_territory(svc: Services, data: TerritoryIn) -> bool:
    """Give the named territory exactly these criteria, team and priority; True if changed."""
    with svc.db.write() as s:
        row = s.scalar(select(TerritoryRow).where(TerritoryRow.name == data.name))
        if row is None:
            raise NotFound(f"territory {data.name!r} not found")
        _check_refs(s, [data.team] if data.team else None, None)
        wanted = (data.team, _territory_match(data), data.priority)
        if (row.team, row.match, row.priority) == wanted:
            return False
        row.team, row.match, row.priority = wanted
        bump(s, ORG_REVISION)
        return True


def list_territories(svc: Services) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        rows = s.scalars(select(TerritoryRow).order_by(TerritoryRow.priority, TerritoryRow.id))
        return [territory_view(r) for r in rows]


def create_account(svc: Services, data: AccountIn) -> dict[str, Any]:
    with svc.db.write() as s:
        if data.owner_rep_id is not None and s.get(RepRow, data.owner_rep_id) is None:
            raise ValidationError(f"rep {data.owner_rep_id} not found", field="owner_rep_id")
        _check_refs(s, [data.team] if data.team else None, None)
        domains = sorted(set(data.domains))
        taken = s.scalar(
            select(AccountDomainRow.domain).where(AccountDomainRow.domain.in_(domains))
        )
        if taken is not None:
            raise Conflict(f"domain {taken} already belongs to another account", field="domains")
        row = AccountRow(
            name=data.name,
            owner_rep_id=data.owner_rep_id,
            strategic=data.strategic,
            team=data.team,
            domains=domains,
        )
        s.add(row)
        s.flush()
        s.add_all(AccountDomainRow(domain=d, account_id=row.id) for d in domains)
        return account_view(row)


def list_accounts(svc: Services, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        rows = s.scalars(select(AccountRow).order_by(AccountRow.id).limit(limit).offset(offset))
        return [account_view(r) for r in rows]


# ---------------------------------------------------------------- snapshot


def load_org(svc: Services, s: Session, revision: int, now: datetime) -> Org:
    """The org snapshot for `revision`, from cache when no process changed it since."""
    cached = svc.org_cache
    if cached is not None and cached[0] == revision:
        # Absences that end are harmless to keep: `Absence.covers` checks the time.
        return cached[1]
    absences: dict[int, list[AbsenceRow]] = defaultdict(list)
    for a in s.scalars(select(AbsenceRow).where(AbsenceRow.end > now)):
        absences[a.rep_id].append(a)
    reps = {r.id: convert.rep(r, absences.get(r.id, ())) for r in s.scalars(select(RepRow))}
    teams = {t.name: convert.team(t) for t in s.scalars(select(TeamRow))}
    territories = tuple(convert.territory(t) for t in s.scalars(select(TerritoryRow)))
    org = Org(reps, teams, territories, revision)
    svc.org_cache = (revision, org)
    return org


def counts(svc: Services) -> dict[str, int]:
    with svc.db.read() as s:
        return {
            "reps": s.scalar(select(func.count()).select_from(RepRow)) or 0,
            "teams": s.scalar(select(func.count()).select_from(TeamRow)) or 0,
            "territories": s.scalar(select(func.count()).select_from(TerritoryRow)) or 0,
            "accounts": s.scalar(select(func.count()).select_from(AccountRow)) or 0,
            "revision": read_meta(s).get(ORG_REVISION, 0),
        }
