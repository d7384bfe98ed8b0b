"""Rotation rows: the durable cursor of each pool (round robin turns, weighted scores)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from leadflow.domain.rulebook import Assign, Rulebook
from leadflow.store.models import RotationRow


def pool_keys(book: Rulebook) -> list[str]:
    """Every rotation a rulebook's assign actions may turn, sorted."""
    actions = [r.action for r in book.rules] + [book.fallback]
    return sorted({a.pool_key() for a in actions if isinstance(a, Assign)})


def ensure_rows(s: Session, keys: Iterable[str]) -> None:
    """Create the missing rotation rows (empty state); existing ones are left as they are."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(
        insert(RotationRow)
        .values([{"pool_key": k, "state": {}} for k in ordered])
        .on_conflict_do_nothing()
    )
