"""A read-only look before a timer runner takes the write lock.

Every timer runner wakes several times a second in each server and worker. On SQLite a
write transaction (BEGIN IMMEDIATE) takes the database's one writer lock, which intake's
group commit then has to wait for; a read transaction takes nothing (WAL). Runners
therefore ask first, read-only, whether anything is due at all.
"""

from __future__ import annotations

from sqlalchemy import Select

from leadflow.services.context import Services


def nothing_due(svc: Services, query: Select[tuple[object]]) -> bool:
    """True when `query` (the runner's selection of due rows) finds no row."""
    with svc.db.read() as s:
        return s.execute(query.limit(1)).first() is None
