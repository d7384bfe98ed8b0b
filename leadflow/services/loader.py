"""Load an organisation from a YAML document; safe to run again (upserts by name/e-mail).

The whole document is validated before anything is written, references included (a rep's
teams and territories, a team's manager, an account's owner), so a typo on the last line
changes nothing. Errors name the line and the field.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic import ValidationError as PydanticError
from sqlalchemy import select

from leadflow import yamltext
from leadflow.domain.pull import Tier
from leadflow.errors import ValidationError
from leadflow.pull_schemas import QueueIn
from leadflow.rules import OrgRefs, compile_rulebook
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
    # Rep behaviour for `leadflow simulate` (docs/simulator.md); loading ignores it.
    simulation: dict[str, Any] | None = None
    _source: str = PrivateAttr(default="")

    def error(self, path: tuple[str | int, ...], message: str) -> ValidationError:
        """A ValidationError naming the field and, when the source is known, its line."""
        field = ".".join(str(p) for p in path)
        line = yamltext.line_of(self._source, path) if self._source else None
        where = f"line {line}: " if line else ""
        return ValidationError(f"{where}{field}: {message}", field=field)


def parse(text: str) -> OrgDocument:
    try:
        raw = yamltext.load(text) or {}
    except yamltext.YAMLError as exc:
        line = yamltext.error_line(exc)
        where = f" (line {line})" if line else ""
        raise ValidationError(f"not valid YAML{where}: {exc}") from None
    if not isinstance(raw, dict):
        raise ValidationError("an org file is a mapping: teams, territories, reps, accounts")
    try:
        doc = OrgDocument.model_validate(raw)
    except PydanticError as exc:
        err = exc.errors()[0]
        shell = OrgDocument()
        shell._source = text
        raise shell.error(tuple(err["loc"]), err["msg"]) from None
    doc._source = text
    return doc


def check_references(
    doc: OrgDocument, teams: set[str], territories: set[str], reps: set[str]
) -> None:
    """Refuse, before any write, names the document uses but neither defines nor finds."""
    teams = teams | {t.name for t in doc.teams}
    territories = territories | {t.name for t in doc.territories}
    reps = reps | {r.email for r in doc.reps}

    def known(value: str | None, names: set[str], path: tuple[str | int, ...], what: str) -> None:
        if value is not None and value not in names:
            raise doc.error(path, f"unknown {what} {value!r}; define it in this file first")

    for i, team in enumerate(doc.teams):
        known(team.manager, reps, ("teams", i, "manager"), "rep (manager)")
    for i, territory in enumerate(doc.territories):
        known(territory.team, teams, ("territories", i, "team"), "team")
    for i, rep in enumerate(doc.reps):
        for j, name in enumerate(rep.teams):
            known(name, teams, ("reps", i, "teams", j), "team")
        for j, name in enumerate(rep.territories):
            known(name, territories, ("reps", i, "territories", j), "territory")
    seen: set[str] = set()
    for i, account in enumerate(doc.accounts):
        known(account.owner, reps, ("accounts", i, "owner"), "rep (owner)")
        known(account.team, teams, ("accounts", i, "team"), "team")
        clash = seen & set(account.domains)
        if clash:
            raise doc.error(
                ("accounts", i, "domains"), f"domain {sorted(clash)[0]} is listed by two accounts"
            )
        seen |= set(account.domains)
    if doc.rulebook is not None:
        # Checked before the first write: each write below is its own transaction, so a
        # bad reference found halfway would leave the organisation half-loaded.
        lowered = frozenset(e.lower() for e in reps)
        compile_rulebook(doc.rulebook, OrgRefs(frozenset(teams), lowered, frozenset(territories)))


def load(svc: Services, doc: OrgDocument) -> dict[str, int]:
    stats = {"teams": 0, "territories": 0, "reps": 0, "accounts": 0, "updated": 0}
    with svc.db.read() as s:
        teams = set(s.scalars(select(TeamRow.name)))
        territories = set(s.scalars(select(TerritoryRow.name)))
        reps = {e: i for e, i in s.execute(select(RepRow.email, RepRow.id))}
        domains = set(s.scalars(select(AccountDomainRow.domain)))
    check_references(doc, teams, territories, set(reps))
    for team in doc.teams:
        if team.name not in teams:
            org.create_team(svc, TeamIn(name=team.name))
            stats["teams"] += 1
    for territory in doc.territories:
        if territory.name not in territories:
            org.create_territory(svc, territory)
            stats["territories"] += 1
        elif org.replace_territory(svc, territory):  # edited in the file: the file wins
            stats["updated"] += 1
    for rep in doc.reps:
        if rep.email in reps:
            org.update_rep(svc, reps[rep.email], RepPatch(**rep.model_dump()))
            stats["updated"] += 1
        else:
            reps[rep.email] = org.create_rep(svc, rep)["id"]
            stats["reps"] += 1
    for team in doc.teams:
        if team.manager:
            org.set_team_manager(svc, team.name, reps[team.manager])
    for account in doc.accounts:
        if set(account.domains) & domains:
            continue
        owner = reps[account.owner] if account.owner else None
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
