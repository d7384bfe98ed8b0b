"""Enrichment before routing: firmographics by domain, phone → country and timezone,
country → language, free-mail detection. Each step leaves a note in the trace.

Also the firmographic CSV import (all-or-nothing, or skip bad rows with a reject file).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from leadflow.domain import enrichment as facts
from leadflow.domain.matching import FREE_MAIL_DOMAINS, lead_domains, parent_domains
from leadflow.errors import ValidationError
from leadflow.rules.lifecycle import EnrichmentSpec
from leadflow.schemas import COUNTRIES
from leadflow.services.context import Services
from leadflow.services.imports import ImportFailed, LineError
from leadflow.store import direct
from leadflow.store.dialect import insert_for
from leadflow.store.lifecycle_models import FirmographicRow

Notes = list[dict[str, Any]]


def free_mail_domains(document: dict[str, Any]) -> frozenset[str]:
    extra = document.get("free_mail_domains") or []
    return FREE_MAIL_DOMAINS | frozenset(str(d).lower() for d in extra)


def enrich(
    s: Session, doc: dict[str, Any], spec: EnrichmentSpec, free_mail: frozenset[str], notes: Notes
) -> None:
    """Fill gaps in `doc` in place; what was inferred goes under `doc["enrichment"]`."""
    info: dict[str, Any] = doc.setdefault("enrichment", {})
    email = doc.get("email")
    domain = email.rsplit("@", 1)[1] if isinstance(email, str) and "@" in email else None
    info["free_mail"] = bool(domain and domain in free_mail)
    company: dict[str, Any] = doc.setdefault("company", {})
    if spec.firmographics:
        _firmographics(s, doc, company, free_mail, notes)
    _phone(doc, company, spec, info, notes)
    country = company.get("country")
    if spec.timezone and not info.get("timezone") and facts.timezone_for(country):
        info["timezone"] = facts.timezone_for(country)
        notes.append({"step": "enrich", "timezone": info["timezone"], "from": "country"})
    if spec.language_from_country and not doc.get("language"):
        language = facts.language_for(country, spec.languages)
        if language:
            doc["language"] = language
            notes.append({"step": "enrich", "language": language, "from": f"country {country}"})


_BY_DOMAIN = select(FirmographicRow.__table__).where(
    FirmographicRow.domain.in_(bindparam("domains", expanding=True))
)  # built once: it runs for every lead


def _firmographics(
    s: Session,
    doc: dict[str, Any],
    company: dict[str, Any],
    free_mail: frozenset[str],
    notes: Notes,
) -> None:
    domains = lead_domains(doc, free_mail)
    candidates = [p for d in domains for p in parent_domains(d)]
    if not candidates:
        return
    rows = {r.domain: r for r in direct.rows(s, _BY_DOMAIN, {"domains": candidates})}
    best = next((rows[c] for c in candidates if c in rows), None)  # most specific first
    if best is None:
        notes.append({"step": "enrich", "firmographics": "no record", "domains": candidates})
        return
    record = {f: getattr(best, f) for f in facts.COMPANY_FIELDS}
    filled = facts.fill_company(company, record)
    company.setdefault("domain", best.domain)
    notes.append({"step": "enrich", "firmographics": best.domain, "filled": filled})


def _phone(
    doc: dict[str, Any],
    company: dict[str, Any],
    spec: EnrichmentSpec,
    info: dict[str, Any],
    notes: Notes,
) -> None:
    raw = doc.get("phone")
    if not raw:
        return
    phone = facts.phone_facts(str(raw), company.get("country"))
    if not phone.valid:
        if spec.require_valid_phone:
            raise ValidationError(
                f"{raw!r} is not a valid phone number; write it with its country code (+33…)",
                field="phone",
            )
        # Kept as given and flagged, so a rep can still read it; not a dedup key.
        doc.pop("phone")
        info["phone_raw"] = raw
        info["phone_flag"] = "unparseable"
        notes.append({"step": "enrich", "phone": "unparseable, kept as given"})
        return
    doc["phone"] = phone.e164
    info["phone_country"] = phone.country
    if spec.phone_country and not company.get("country") and phone.country:
        company["country"] = phone.country
        notes.append({"step": "enrich", "country": phone.country, "from": "phone"})
    if spec.timezone and phone.timezone:
        info["timezone"] = phone.timezone
        notes.append({"step": "enrich", "timezone": phone.timezone, "from": "phone"})


# ---------------------------------------------------------------- firmographic import

COLUMNS = ("domain", "name", "size", "industry", "country", "state")
MAX_ROWS = 1_000_000


def parse_firmographics(
    data: bytes,
) -> tuple[list[tuple[int, dict[str, Any]]], list[LineError], list[tuple[int, dict[str, str]]]]:
    """(good rows, errors, bad raw rows) — every error carries its line number."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return [], [LineError(0, "file", f"not UTF-8 text ({exc.reason})")], []
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    if "domain" not in header:
        return [], [LineError(1, "domain", "the header needs a `domain` column")], []
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        allowed = ", ".join(COLUMNS)
        return [], [LineError(1, c, f"unknown column; allowed: {allowed}") for c in unknown], []
    good: list[tuple[int, dict[str, Any]]] = []
    errors: list[LineError] = []
    bad: list[tuple[int, dict[str, str]]] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        if len(good) + len(bad) >= MAX_ROWS:
            errors.append(LineError(line, "file", f"more than {MAX_ROWS} rows"))
            break
        row_errors, row = _check_row(line, raw, seen)
        if row_errors:
            errors.extend(row_errors)
            bad.append((line, {k: v for k, v in raw.items() if k is not None}))
        else:
            good.append((line, row))
    return good, errors, bad


def _check_row(
    line: int, raw: dict[str | None, Any], seen: dict[str, int]
) -> tuple[list[LineError], dict[str, Any]]:
    from leadflow.domain.matching import normalise_domain

    if None in raw:
        return [LineError(line, "row", "more cells than columns in the header")], {}
    errors: list[LineError] = []
    domain = normalise_domain(raw.get("domain") or "")
    if "." not in domain or " " in domain or len(domain) > 253:
        errors.append(
            LineError(line, "domain", f"{raw.get('domain')!r} is not a domain like acme.com")
        )
    elif domain in seen:
        errors.append(LineError(line, "domain", f"{domain} already given on line {seen[domain]}"))
    seen.setdefault(domain, line)
    row: dict[str, Any] = {"domain": domain}
    for field in ("name", "industry", "state"):
        value = (raw.get(field) or "").strip()
        limit = {"name": 300, "industry": 100, "state": 10}[field]
        if len(value) > limit:
            errors.append(LineError(line, field, f"longer than {limit} characters"))
        row[field] = value or None
    size = (raw.get("size") or "").strip()
    if size and not (size.isdigit() and int(size) <= 10_000_000):
        errors.append(LineError(line, "size", f"{size!r} is not a whole number of employees"))
    row["size"] = int(size) if size.isdigit() else None
    country = (raw.get("country") or "").strip().upper()
    if country and country not in COUNTRIES:
        errors.append(LineError(line, "country", f"{country!r} is not an ISO two-letter code"))
    row["country"] = country or None
    return errors, row


def import_firmographics(
    svc: Services, data: bytes, *, skip_bad_rows: bool = False
) -> dict[str, Any]:
    """Upsert by domain in one transaction. Any bad row → nothing imported, unless
    `skip_bad_rows` (then the bad rows come back, to write to a reject file)."""
    good, errors, bad = parse_firmographics(data)
    fatal = [e for e in errors if e.field in ("file",) or e.line <= 1]
    if errors and (not skip_bad_rows or fatal):
        raise ImportFailed(errors)
    now = svc.clock.now()
    with svc.db.write() as s:
        _upsert(s, [row for _, row in good], now)
    return {"imported": len(good), "rejected": len(bad), "errors": errors, "bad_rows": bad}


def _upsert(s: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    insert = insert_for(s)
    for start in range(0, len(rows), 500):
        chunk = [{**r, "updated_at": now} for r in rows[start : start + 500]]
        if not chunk:
            continue
        stmt = insert(FirmographicRow).values(chunk)
        stmt = stmt.on_conflict_do_update(
            index_elements=["domain"],
            set_={c: stmt.excluded[c] for c in (*COLUMNS[1:], "updated_at")},
        )
        s.execute(stmt)


def reject_file(bad: list[tuple[int, dict[str, str]]], errors: list[LineError]) -> str:
    """The rejected rows as CSV, with their line number and what was wrong."""
    by_line: dict[int, list[str]] = {}
    for e in errors:
        by_line.setdefault(e.line, []).append(f"{e.field}: {e.message}")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["line", *COLUMNS, "error"])
    writer.writeheader()
    for line, raw in bad:
        writer.writerow({"line": line, **raw, "error": "; ".join(by_line.get(line, []))})
    return out.getvalue()
