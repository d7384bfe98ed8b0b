"""Processes starting together on a fresh database migrate it once, without racing."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from leadflow.store.db import Database
from leadflow.testing.postgres import create_database


def _fresh_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    url = request.getfixturevalue("pg_url")
    return create_database(url, f"lf_fresh_{os.getpid()}")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_concurrent_upgrades_on_a_fresh_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _fresh_url(request, backend, tmp_path)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def migrate() -> None:
        db = Database(url)
        try:
            start.wait()
            db.upgrade()
        except BaseException as exc:
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    db = Database(url)
    with db.read() as s:
        versions = sorted(s.scalars(text("SELECT version_num FROM alembic_version")))
    db.dispose()
    assert "0006" in versions
