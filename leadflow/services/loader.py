"""Load an organisation from a YAML document; safe to run again (upserts by name/e-mail).

The whole document is validated before anything is written, so a typo on the last line
changes nothing.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError
from sqlalchemy import select

from leadflow.domain.pull import Tier
from leadflow.errors import ValidationError
from leadflow.pull_schemas import QueueIn
from leadflow.schemas import AccountIn, Email, RepIn, RepPatch, TeamIn, TerritoryIn
from leadflow.services import org, queues, rulebooks
from leadflow.services.context import Services
from leadflow.store.models import AccountDomainRow, RepRow, TeamRow, TerritoryRow


class TeamSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    manager: Email | None = None


class AccountSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    domains: list[str] = Field(min_length=1, max_length=100)
    owner: Email | None = None
    strategic: bool = False
    team: str | None = None


class OrgDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")
    teams: list[TeamSpec] = Field(default_factory=list, max_length=10_000)
    territories: list[TerritoryIn] = Field(default_factory=list, max_length=10_000)
    reps: list[RepIn] = Field(default_factory=list, max_length=100_000)
    accounts: list[AccountSpec] = Field(default_factory=list, max_length=1_000_000)
    queues: list[QueueIn] = Field(default_factory=list, max_length=1000)
    tiers: dict[Email, Tier] = Field(default_factory=dict, max_length=100_000)
    rulebook: dict[str, Any] | None = None


def parse(text: str) -> OrgDocument:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ValidationError(f"not valid YAML{where}: {exc}") from None
    try:
        return OrgDocument.model_validate(raw)
    except PydanticError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        raise ValidationError(f"{path}: {err['msg']}", field=path) from None


def load(svc: Services, doc: OrgDocument) -> dict[str, int]:
    stats = {"teams": 0, "territories": 0, "reps": 0, "accounts": 0, "updated": 0}
    with svc.db.read() as s:
        teams = set(s.scalars(select(TeamRow.name)))
        territories = set(s.scalars(select(TerritoryRow.name)))
        reps = {e: i for e, i in s.execute(select(RepRow.email, RepRow.id))}
        domains = set(s.scalars(select(AccountDomainRow.domain)))
    for team in doc.teams:
        if team.name not in teams:
            org.create_team(svc, TeamIn(name=team.name))
            stats["teams"] += 1
    for territory in doc.territories:
        if territory.name not in territories:
            org.create_territory(svc, territory)
            stats["territories"] += 1
    for rep in doc.reps:
        if rep.email in reps:
            org.update_rep(svc, reps[rep.email], RepPatch(**rep.model_dump()))
            stats["updated"] += 1
        else:
            reps[rep.email] = org.create_rep(svc, rep)["id"]
            stats["reps"] += 1
    for team in doc.teams:
        if team.manager:
            if team.manager not in reps:
                raise ValidationError(
                    f"team {team.name!r}: manager {team.manager} is not among the reps",
                    field="teams.manager",
                )
            org.set_team_manager(svc, team.name, reps[team.manager])
    for account in doc.accounts:
        if set(account.domains) & domains:
            continue
        owner = reps.get(account.owner) if account.owner else None
        if account.owner and owner is None:
            raise ValidationError(
                f"account {account.name!r}: owner {account.owner} is not a rep",
                field="accounts.owner",
            )
        org.create_account(
            svc,
            AccountIn(
                name=account.name,
                domains=account.domains,
                owner_rep_id=owner,
                strategic=account.strategic,
                team=account.team,
            ),
        )
        stats["accounts"] += 1
    queues.load_section(svc, doc.queues, doc.tiers, reps)
    stats["queues"] = len(doc.queues)
    if doc.rulebook is not None:
        rulebooks.save(svc, yaml.safe_dump(doc.rulebook), actor="leadflow load")
    return stats
