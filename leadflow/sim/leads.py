"""The simulated lead and the history CSV that carries it (with outcomes when known).

A history row is a lead as the import CSV spells it (`company_country`, `score`, ...)
plus `created_at` and, when the history has them, the outcome columns `owner_email`,
`first_contact_at`, `converted` and `revenue`. Rows are kept compact (slots) and turned
into the nested document rules read only when routed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadflow.errors import ValidationError

LEAD_COLUMNS = (
    "external_id",
    "created_at",
    "email",
    "first_name",
    "last_name",
    "language",
    "source",
    "score",
    "value",
    "company_name",
    "company_domain",
    "company_size",
    "company_industry",
    "company_country",
)
OUTCOME_COLUMNS = ("owner_email", "first_contact_at", "converted", "revenue")
REQUIRED = ("created_at",)
MAX_ROWS = 5_000_000


@dataclass(slots=True)
class SimLead:
    external_id: str
    created: float  # epoch seconds, UTC
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    language: str = ""
    source: str = ""
    score: float | None = None
    value: float = 0.0
    company_name: str = ""
    company_domain: str = ""
    company_size: int | None = None
    company_industry: str = ""
    company_country: str = ""
    # Outcome, when the history knows it.
    owner_email: str = ""
    first_contact: float | None = None
    converted: bool | None = None
    revenue: float = 0.0

    def document(self) -> dict[str, Any]:
        """The lead as `leadflow.services.routing.lead_document` shapes it for rules."""
        company: dict[str, Any] = {}
        value: Any
        for key, value in (
            ("name", self.company_name),
            ("domain", self.company_domain),
            ("size", self.company_size),
            ("industry", self.company_industry),
            ("country", self.company_country),
        ):
            if value not in ("", None):
                company[key] = value
        doc: dict[str, Any] = {"external_id": self.external_id, "company": company}
        for key, value in (
            ("email", self.email),
            ("first_name", self.first_name),
            ("last_name", self.last_name),
            ("language", self.language),
            ("source", self.source),
            ("score", self.score),
            ("value", self.value or None),
        ):
            if value not in ("", None):
                doc[key] = value
        doc["attributes"] = {}
        return doc


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> float:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def write_csv(path: Path, leads: Iterable[SimLead]) -> int:
    n = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(LEAD_COLUMNS + OUTCOME_COLUMNS)
        for x in leads:
            w.writerow(
                [
                    x.external_id,
                    iso(x.created),
                    x.email,
                    x.first_name,
                    x.last_name,
                    x.language,
                    x.source,
                    "" if x.score is None else x.score,
                    x.value,
                    x.company_name,
                    x.company_domain,
                    "" if x.company_size is None else x.company_size,
                    x.company_industry,
                    x.company_country,
                    x.owner_email,
                    "" if x.first_contact is None else iso(x.first_contact),
                    "" if x.converted is None else int(x.converted),
                    x.revenue,
                ]
            )
            n += 1
    return n


def read_csv(path: Path) -> list[SimLead]:
    """Every row checked (errors name the line and column), then sorted by arrival."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not UTF-8 text ({exc.reason})", field="file") from None
    return sorted(parse_rows(text, str(path)), key=lambda x: x.created)


def parse_rows(text: str, name: str = "history") -> Iterator[SimLead]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise ValidationError(f"{name}: empty file", field="file")
    known = set(LEAD_COLUMNS + OUTCOME_COLUMNS)
    for col in header:
        if col not in known:
            raise ValidationError(
                f"{name}:1: unknown column {col!r}; allowed: {', '.join(sorted(known))}",
                field=col,
            )
    for col in REQUIRED:
        if col not in header:
            raise ValidationError(f"{name}:1: missing column {col!r}", field=col)
    index = {c: i for i, c in enumerate(header)}
    for n, row in enumerate(reader):
        line = reader.line_num
        if n >= MAX_ROWS:
            raise ValidationError(f"{name}:{line}: more than {MAX_ROWS} rows", field="file")
        if not row:
            continue
        if len(row) != len(header):
            raise ValidationError(
                f"{name}:{line}: {len(row)} cells for {len(header)} columns", field="row"
            )
        yield _lead(row, index, line, name, n)


_KINDS: dict[Any, str] = {
    float: "a number",
    int: "an integer",
    parse_time: "an ISO 8601 date-time (2026-03-02T09:30:00Z)",
}


def _lead(row: list[str], index: dict[str, int], line: int, name: str, n: int) -> SimLead:
    def get(col: str) -> str:
        i = index.get(col)
        return row[i].strip() if i is not None else ""

    def convert(col: str, kind: Any, low: float | None = None, high: float | None = None) -> Any:
        text = get(col)
        if text == "":
            return None
        try:
            value = kind(text)
        except ValueError:
            raise ValidationError(
                f"{name}:{line}: {col}: {text!r} is not {_KINDS.get(kind, 'valid')}",
                field=col,
            ) from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValidationError(
                f"{name}:{line}: {col}: {value} is outside [{low}, {high}]", field=col
            )
        return value

    created = convert("created_at", parse_time)
    if created is None:
        raise ValidationError(f"{name}:{line}: created_at: required", field="created_at")
    converted = convert("converted", int, 0, 1)
    return SimLead(
        external_id=get("external_id") or f"line-{line}",
        created=created,
        email=get("email").lower(),
        first_name=get("first_name"),
        last_name=get("last_name"),
        language=get("language").lower(),
        source=get("source"),
        score=convert("score", float, 0, 100),
        value=convert("value", float, 0, 1e12) or 0.0,
        company_name=get("company_name"),
        company_domain=get("company_domain").lower(),
        company_size=convert("company_size", int, 0),
        company_industry=get("company_industry"),
        company_country=get("company_country").upper(),
        owner_email=get("owner_email").lower(),
        first_contact=convert("first_contact_at", parse_time),
        converted=None if converted is None else bool(converted),
        revenue=convert("revenue", float, 0) or 0.0,
    )
