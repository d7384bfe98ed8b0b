"""The one place that picks the dialect's INSERT (for ON CONFLICT upserts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_for(s: Session) -> Any:
    """`insert` with `on_conflict_do_nothing/do_update` for this session's database."""
    return pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
