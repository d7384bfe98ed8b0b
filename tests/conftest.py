"""Shared fixtures. Integration tests run once on SQLite and once on a real PostgreSQL.

PostgreSQL: `LEADFLOW_TEST_PG_URL` if set, else a throwaway server started here (if the
binaries exist). With `LEADFLOW_REQUIRE_PG=1` (CI) a missing server fails the run
instead of skipping the PostgreSQL half.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from leadflow.services.context import Services
from leadflow.store.db import Database
from leadflow.testing import FrozenClock
from leadflow.testing import postgres as pg

_counter = itertools.count()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = os.environ.get("LEADFLOW_TEST_PG_URL")
    server = None
    if not url:
        try:
            server = pg.start()
        except Exception as exc:
            if os.environ.get("LEADFLOW_REQUIRE_PG"):
                raise
            pytest.skip(f"PostgreSQL could not start: {exc}")
        if server is None:
            if os.environ.get("LEADFLOW_REQUIRE_PG"):
                pytest.fail("PostgreSQL is required (LEADFLOW_REQUIRE_PG) but not installed")
            pytest.skip("PostgreSQL not installed")
        url = server.url
    yield url
    if server is not None:
        server.stop()


def _admin_url(url: str, dbname: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def pg_template(pg_url: str) -> str:
    """A migrated template database; each test copies it (much faster than migrating)."""
    admin = create_engine(_admin_url(pg_url, "postgres"), isolation_level="AUTOCOMMIT")
    name = f"lf_template_{os.getpid()}"
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        c.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    db = Database(_admin_url(pg_url, name))
    db.upgrade()
    db.dispose()
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


def fresh_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "leadflow.db"
        shutil.copy(template, path)
        return Database(f"sqlite:///{path}")
    url = request.getfixturevalue("pg_url")
    template_name = request.getfixturevalue("pg_template")
    name = f"lf_test_{os.getpid()}_{next(_counter)}"
    admin = create_engine(_admin_url(url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"CREATE DATABASE {name} TEMPLATE {template_name}"))
    admin.dispose()
    db = Database(_admin_url(url, name))
    request.addfinalizer(lambda: _drop(db, url, name))
    return db


def _drop(db: Database, url: str, name: str) -> None:
    db.dispose()
    admin = create_engine(_admin_url(url, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    db = fresh_database(request.param, request, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def svc(database: Database, clock: FrozenClock) -> Services:
    return Services(database, clock)
