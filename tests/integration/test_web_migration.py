"""Migration 0005 creates exactly the tables web_models.py declares (both backends)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from leadflow.store.db import Database
from leadflow.store.models import Base
from leadflow.store.registry import import_all_models

WEB_TABLES = {"users", "web_sessions", "login_attempts", "app_settings"}


def _names(part: object) -> set[str]:
    """Table names an autogenerate diff element refers to (a name, a table, an index…)."""
    if isinstance(part, str):
        return {part}
    names = {getattr(part, "name", None), getattr(getattr(part, "table", None), "name", None)}
    return {n for n in names if isinstance(n, str)}


def _touches_web_table(diff: object) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    parts = [p for item in items for p in (item if isinstance(item, tuple) else (item,))]
    return any(_names(p) & WEB_TABLES for p in parts)


def test_migration_matches_models(database: Database) -> None:
    """No difference between the migrated schema and the models, for the web tables."""
    import_all_models()
    with database.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if _touches_web_table(d)] == []
    assert set(Base.metadata.tables) >= WEB_TABLES
