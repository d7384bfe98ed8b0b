"""Validate, store, activate and load rulebook versions. Earlier versions are kept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadflow.domain.routing import UNASSIGNED_QUEUE
from leadflow.domain.rulebook import Action, Enqueue, Offer, Rulebook
from leadflow.errors import NotFound, RulebookError
from leadflow.rules import OrgRefs, compile_rulebook, parse_document
from leadflow.services import rotations
from leadflow.services.context import RULEBOOK_VERSION, Services, read_meta, set_meta
from leadflow.store.models import RepRow, RulebookRow, TeamRow, TerritoryRow
from leadflow.store.pull_models import QueueRow

DEFAULT_RULEBOOK: dict[str, Any] = {
    "rules": [],
    "fallback": {"queue": {"name": "unassigned"}},
}
"""Before anyone writes a rulebook, every lead waits in `unassigned` for a manager."""


def org_refs(s: Session) -> OrgRefs:
    # Queues are not checked: a queue the rulebook names but nobody configured yet is
    # created as a triage queue when the rulebook is saved (see `_create_missing_queues`).
    return OrgRefs(
        teams=frozenset(s.scalars(select(TeamRow.name))),
        rep_emails=frozenset(e.lower() for e in s.scalars(select(RepRow.email))),
        territories=frozenset(s.scalars(select(TerritoryRow.name))),
        queues=None,
        extra={"offers": True},
    )


def queue_names(book: Rulebook) -> set[str]:
    """Every queue a rulebook may send a lead to, offer fallbacks included."""
    names: set[str] = set()

    def walk(action: Action | None) -> None:
        if isinstance(action, Enqueue):
            names.add(action.queue)
        elif isinstance(action, Offer):
            walk(action.then)

    for rule in book.rules:
        walk(rule.action)
    walk(book.fallback)
    return names


def missing_queues(s: Session, book: Rulebook) -> list[str]:
    known = set(s.scalars(select(QueueRow.name))) | {UNASSIGNED_QUEUE}
    return sorted(queue_names(book) - known)


def _create_missing_queues(svc: Services, s: Session, book: Rulebook) -> list[str]:
    """A lead must never wait where nobody can see it, and a typo must not open a pool to
    every rep: a queue named only by the rulebook starts as `triage` (managers only). The
    answer lists these queues so the admin can configure them (mode, reps, policies)."""
    from leadflow.pull_schemas import QueueIn
    from leadflow.services import queues  # imported here: queues imports this module

    created = missing_queues(s, book)
    for name in created:
        queues.save_in(svc, s, QueueIn(name=name, mode="triage"))
    return created


def validate(svc: Services, text: str | bytes) -> tuple[dict[str, Any], Rulebook]:
    """Parse and compile against the current organisation; raises RulebookError."""
    doc = parse_document(text)
    with svc.db.read() as s:
        compiled = compile_rulebook(doc, org_refs(s))
    return doc, compiled


def save(
    svc: Services, text: str | bytes, *, actor: str = "", activate: bool = True
) -> dict[str, Any]:
    doc = parse_document(text)
    source = text.decode() if isinstance(text, bytes) else text
    now = svc.clock.now()
    with svc.db.write() as s:
        book = compile_rulebook(doc, org_refs(s))  # never store, let alone activate, a broken one
        row = RulebookRow(document=doc, source=source, created_at=now, created_by=actor)
        s.add(row)
        s.flush()
        created = _create_missing_queues(svc, s, book)
        if activate:
            _activate(s, row, book, now)
        return {**version_view(row), "created_queues": created}


def activate(svc: Services, version: int) -> dict[str, Any]:
    with svc.db.write() as s:
        row = s.get(RulebookRow, version)
        if row is None:
            raise NotFound(f"rulebook version {version} not found")
        book = compile_rulebook(row.document, org_refs(s))  # the org may have changed since
        created = _create_missing_queues(svc, s, book)
        _activate(s, row, book, svc.clock.now())
        return {**version_view(row), "created_queues": created}


def _activate(s: Session, row: RulebookRow, book: Rulebook, now: Any) -> None:
    # Rotation rows exist before the first lead, so intake only reads and locks them.
    rotations.ensure_rows(s, rotations.pool_keys(book))
    s.execute(update(RulebookRow).where(RulebookRow.active.is_(True)).values(active=False))
    row.active = True
    row.activated_at = now
    set_meta(s, RULEBOOK_VERSION, row.version)


def version_view(row: RulebookRow, *, with_document: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "version": row.version,
        "active": row.active,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "activated_at": row.activated_at,
        "rules": len(row.document.get("rules") or []),
    }
    if with_document:
        view["document"] = row.document
        view["source"] = row.source
    return view


def get_active(svc: Services) -> dict[str, Any]:
    with svc.db.read() as s:
        version = read_meta(s).get(RULEBOOK_VERSION, 0)
        if not version:
            return {"version": 0, "active": True, "document": DEFAULT_RULEBOOK, "source": ""}
        row = s.get(RulebookRow, version)
        assert row is not None
        return version_view(row, with_document=True)


def get_version(svc: Services, version: int) -> dict[str, Any]:
    with svc.db.read() as s:
        row = s.get(RulebookRow, version)
        if row is None:
            raise NotFound(f"rulebook version {version} not found")
        return version_view(row, with_document=True)


def list_versions(svc: Services) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        rows = s.scalars(select(RulebookRow).order_by(RulebookRow.version.desc()))
        return [version_view(r) for r in rows]


def compiled(svc: Services, s: Session, version: int) -> Rulebook:
    """The compiled rulebook of `version`, compiled once per process."""
    cached = svc.rulebook_cache.get(version)
    if cached is not None:
        return cached
    if version == 0:
        book = compile_rulebook(DEFAULT_RULEBOOK, OrgRefs(check=False), 0)
    else:
        row = s.get(RulebookRow, version)
        if row is None:
            raise RulebookError(f"active rulebook version {version} is missing")
        # Already validated on save; references are not re-checked so routing never fails
        # because a team was renamed after activation (the pool is then just empty).
        book = compile_rulebook(row.document, OrgRefs(check=False), version)
    svc.rulebook_cache[version] = book
    return book
