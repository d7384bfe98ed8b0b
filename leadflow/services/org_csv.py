"""Reps, teams, territories and accounts from CSV (or from one web form = one row).

Every row is validated first, with its line number; only a file without errors is
loaded (through `loader.load`, which upserts by e-mail / name / domain), so a typo on
the last line changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from leadflow.schemas import RepIn, TerritoryIn
from leadflow.services import loader, org
from leadflow.services.context import Services
from leadflow.services.imports import LineError

KINDS = ("reps", "teams", "territories", "accounts")
MAX_ROWS = 50_000
LIST_SEPARATOR = ";"
LIST_FIELDS = {
    "reps": {"teams", "territories", "skills", "languages"},
    "teams": set(),
    "territories": {"countries", "states", "regions", "postcode_prefixes", "industries"},
    "accounts": {"domains"},
}
CAPACITY = ("max_open", "max_per_day", "max_per_week")
COLUMNS = {
    "reps": [
        "name",
        "email",
        "teams",
        "territories",
        "skills",
        "languages",
        "timezone",
        *CAPACITY,
        "weight",
        "status",
        "active",
    ],
    "teams": ["name", "manager"],
    "territories": [
        "name",
        "team",
        "countries",
        "states",
        "regions",
        "postcode_prefixes",
        "industries",
        "size_min",
        "size_max",
        "priority",
    ],
    "accounts": ["name", "domains", "owner", "strategic", "team"],
}
MODELS: dict[str, type[BaseModel]] = {
    "reps": RepIn,
    "teams": loader.TeamSpec,
    "territories": TerritoryIn,
    "accounts": loader.AccountSpec,
}


class OrgImportError(Exception):
    def __init__(self, errors: list[LineError]) -> None:
        super().__init__(f"{len(errors)} problem(s); nothing imported")
        self.errors = errors


def _row(kind: str, raw: dict[str, str]) -> dict[str, Any]:
    """CSV strings → the shapes the models take: lists split on ';', blanks dropped."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        value = (value or "").strip()
        if not value:
            continue
        if key in LIST_FIELDS[kind]:
            out[key] = [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()]
        elif kind == "reps" and key in CAPACITY:
            out.setdefault("capacity", {})[key] = value
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Parsed:
    doc: loader.OrgDocument
    lines: list[int]
    """The CSV line of each item, in order (for reference errors)."""


def validate_rows(kind: str, rows: Iterable[tuple[int, dict[str, str]]]) -> Parsed:
    """Each row through its model; all errors, with line numbers, or the document."""
    if kind not in KINDS:
        raise OrgImportError([LineError(0, "kind", f"unknown kind; use one of {KINDS}")])
    model = MODELS[kind]
    items: list[Any] = []
    lines: list[int] = []
    errors: list[LineError] = []
    for line, raw in rows:
        try:
            items.append(model.model_validate(_row(kind, raw)))
            lines.append(line)
        except PydanticError as exc:
            for e in exc.errors()[:5]:
                where = ".".join(str(p) for p in e["loc"]) or "row"
                errors.append(LineError(line, where, e["msg"]))
    if errors:
        raise OrgImportError(errors)
    return Parsed(loader.OrgDocument.model_validate({kind: items}), lines)


def parse_csv(kind: str, data: bytes) -> Parsed:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OrgImportError([LineError(0, "file", f"not UTF-8 text ({exc.reason})")]) from None
    reader = csv.DictReader(io.StringIO(text))
    unknown = [c for c in reader.fieldnames or [] if c not in COLUMNS.get(kind, [])]
    if unknown:
        raise OrgImportError(
            [LineError(1, c, f"unknown column; known: {', '.join(COLUMNS[kind])}") for c in unknown]
        )
    rows = []
    for raw in reader:
        if reader.line_num > MAX_ROWS + 1:
            raise OrgImportError([LineError(reader.line_num, "file", f"more than {MAX_ROWS} rows")])
        rows.append((reader.line_num, raw))
    if not rows:
        raise OrgImportError([LineError(1, "file", "no data rows under the header")])
    return validate_rows(kind, rows)


def _missing_refs(svc: Services, parsed: Parsed) -> list[LineError]:
    """References to teams, territories and reps that do not exist (checked before any
    write, so a bad reference on the last line imports nothing)."""
    doc = parsed.doc
    teams = {t["name"] for t in org.list_teams(svc)} | {t.name for t in doc.teams}
    territories = {t["name"] for t in org.list_territories(svc)} | {t.name for t in doc.territories}
    emails = {r["email"] for r in org.list_reps(svc)} | {r.email for r in doc.reps}
    lines = parsed.lines
    errors = []
    items: list[tuple[str, list[tuple[str, str | None, set[str]]]]] = []
    for r in doc.reps:
        items.append(
            (
                "rep",
                [("teams", t, teams) for t in r.teams]
                + [("territories", t, territories) for t in r.territories],
            )
        )
    for team in doc.teams:
        items.append(("team", [("manager", team.manager, emails)]))
    for territory in doc.territories:
        items.append(("territory", [("team", territory.team, teams)]))
    for a in doc.accounts:
        items.append(("account", [("owner", a.owner, emails), ("team", a.team, teams)]))
    for i, (_, refs) in enumerate(items):
        line = lines[i] if i < len(lines) else 0
        for name, value, known in refs:
            if value is not None and value not in known:
                errors.append(LineError(line, name, f"{value!r} does not exist; create it first"))
    return errors


def import_rows(svc: Services, parsed: Parsed) -> dict[str, int]:
    errors = _missing_refs(svc, parsed)
    if errors:
        raise OrgImportError(errors)
    return loader.load(svc, parsed.doc)
