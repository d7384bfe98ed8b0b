"""Enforce the append-only decision log inside the database itself, so that no path
(API, console, script) can rewrite history. The SQL lives beside this file."""

from __future__ import annotations

from pathlib import Path

from leadflow.store.db import Database

SQL_DIR = Path(__file__).parent / "sql"


def sql_for(dialect: str) -> str:
    path = SQL_DIR / f"decisions_append_only.{dialect}.sql"
    if not path.exists():
        raise ValueError(f"no append-only SQL for the {dialect} dialect")
    return path.read_text()


def enforce_append_only(db: Database) -> None:
    """Install the triggers (idempotent)."""
    sql = sql_for(db.engine.dialect.name)
    # The driver's own connection: several statements at once, and no `%` placeholders
    # (the PL/pgSQL message uses `%`).
    raw = db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        if db.is_sqlite:
            conn.executescript(sql)  # type: ignore[union-attr]
        else:
            conn.execute(sql)  # type: ignore[union-attr]
            conn.commit()  # type: ignore[union-attr]
    finally:
        raw.close()
