"""The database handle: engine, transactions, migrations.

SQLite: WAL journal, `synchronous=FULL` (an accepted lead survives power loss), and
`BEGIN IMMEDIATE` for write transactions so concurrent writers queue up instead of
failing halfway. PostgreSQL: the same code; row locks (`FOR UPDATE`) order writers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from leadflow.store import jsoncodec

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x1EADF10  # any constant: the advisory lock id shared by processes


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = _make_engine(url, echo)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._releases: list[Callable[[], None]] = []
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(
            self.engine.execution_options(leadflow_readonly=True), expire_on_commit=False
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def upgrade(self) -> None:
        """Bring the schema to the latest migration (idempotent).

        Several processes (N servers, M workers) often start at once on a fresh
        database: they take turns through a lock, and the later ones find nothing to do.
        """
        from alembic import command

        with self._migration_lock():
            # "heads": features may add migration branches of their own off the same base.
            command.upgrade(alembic_config(self.url, self.engine), "heads")

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.engine.dialect.name == "postgresql":
            # A session-level advisory lock on a connection of its own, held while the
            # migration runs on another connection.
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY})
                    conn.commit()
            return
        path = self.url.split("///", 1)[-1] if self.is_sqlite else ""
        if not path or path == ":memory:":
            yield
            return
        import fcntl

        with open(f"{path}.migrate.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def on_dispose(self, release: Callable[[], None]) -> None:
        """Call `release` first when this database is disposed (a holder of a long-lived
        connection, such as the group commit's writer, gives it back)."""
        self._releases.append(release)

    def dispose(self) -> None:
        for release in self._releases:
            release()
        self.engine.dispose()


def alembic_config(url: str, engine: Engine | None = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["engine"] = engine
    return cfg


def _make_engine(url: str, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=jsoncodec.dumps,
        )
        _tune_sqlite(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        json_serializer=jsoncodec.dumps,
    )


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get("leadflow_readonly", False)
        sql = "BEGIN" if readonly else "BEGIN IMMEDIATE"
        # Straight on the driver (every transaction runs this; SQLAlchemy's execution
        # set-up costs more than the statement), its errors still raised as SQLAlchemy's.
        try:
            conn.connection.driver_connection.execute(sql)
        except sqlite3.Error as error:
            raise DBAPIError.instance(sql, (), error, sqlite3.Error) from error
