"""Load an organisation from a YAML document; safe to run again (upserts by name/e-mail).

The whole document is validated before anything is written, so a typo on the last line
changes nothing.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic import ValidationError as PydanticError
from sqlalchemy import select

from leadflow.errors import ValidationError
from leadflow.rules import OrgRefs, compile_rulebook
from leadflow.schemas import AccountIn, Email, RepIn, RepPatch, TeamIn, TerritoryIn
from leadflow.services import org, rulebooks
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
    rulebook: dict[str, Any] | None = None
    _source: str = PrivateAttr(default="")  # the YAML text, to point errors at their line


def parse(text: str) -> OrgDocument:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ValidationError(f"not valid YAML{where}: {exc}") from None
    try:
        doc = OrgDocument.model_validate(raw)
    except PydanticError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        raise ValidationError(f"{_at(text, path)}{path}: {err['msg']}", field=path) from None
    doc._source = text
    return doc


def _at(text: str, path: str) -> str:
    """`line N: ` for the YAML node at a dotted path (`reps.3.email`), or "" if unknown."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return ""
    if node is None:
        return ""
    line = node.start_mark.line
    for part in path.split("."):
        if isinstance(node, yaml.MappingNode):
            # The key's line: right for unknown keys too, whose value may span lines.
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line, pair[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line
        else:
            break
    return f"line {line + 1}: "


def load(svc: Services, doc: OrgDocument) -> dict[str, int]:
    stats = {"teams": 0, "territories": 0, "reps": 0, "accounts": 0, "updated": 0}
    with svc.db.read() as s:
        teams = set(s.scalars(select(TeamRow.name)))
        territories = set(s.scalars(select(TerritoryRow.name)))
        reps = {e: i for e, i in s.execute(select(RepRow.email, RepRow.id))}
        domains = set(s.scalars(select(AccountDomainRow.domain)))
    _check_references(doc, teams, territories, set(reps))
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
            org.set_team_manager(svc, team.name, reps[team.manager])
    for account in doc.accounts:
        if set(account.domains) & domains:
            continue
        owner = reps.get(account.owner) if account.owner else None
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
    if doc.rulebook is not None:
        rulebooks.save(svc, yaml.safe_dump(doc.rulebook), actor="leadflow load")
    return stats


def _check_references(
    doc: OrgDocument, teams: set[str], territories: set[str], rep_emails: set[str]
) -> None:
    """Every name the document refers to exists, in the database or in the document.

    Checked before the first write: each write below is its own transaction, so a bad
    reference found halfway would leave the organisation half-loaded.
    """
    teams = teams | {t.name for t in doc.teams}
    territories = territories | {t.name for t in doc.territories}
    rep_emails = rep_emails | {r.email for r in doc.reps}

    def need(known: set[str], name: str | None, what: str, field: str) -> None:
        if name is not None and name not in known:
            where = _at(doc._source, field) if doc._source else ""
            raise ValidationError(f"{where}{what} {name!r} is not defined", field=field)

    for i, team in enumerate(doc.teams):
        need(rep_emails, team.manager, f"team {team.name!r}: manager", f"teams.{i}.manager")
    for i, territory in enumerate(doc.territories):
        need(teams, territory.team, "team", f"territories.{i}.team")
    for i, rep in enumerate(doc.reps):
        for name in rep.teams:
            need(teams, name, "team", f"reps.{i}.teams")
        for name in rep.territories:
            need(territories, name, "territory", f"reps.{i}.territories")
    seen: set[str] = set()
    for i, account in enumerate(doc.accounts):
        need(rep_emails, account.owner, f"account {account.name!r}: owner", f"accounts.{i}.owner")
        need(teams, account.team, "team", f"accounts.{i}.team")
        clash = seen & set(account.domains)
        if clash:
            raise ValidationError(
                f"domain {sorted(clash)[0]} is listed by two accounts",
                field=f"accounts.{i}.domains",
            )
        seen |= set(account.domains)
    if doc.rulebook is not None:
        lowered = frozenset(e.lower() for e in rep_emails)
        refs = OrgRefs(frozenset(teams), lowered, frozenset(territories))
        compile_rulebook(doc.rulebook, refs)
