"""Processes starting together on a fresh database migrate it once, without racing."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
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
    assert versions == ["0007"]  # the merge migration: one head, every feature's applied


def test_sla_notifications_move_to_the_outbox(tmp_path: Path) -> None:
    """A database at the five feature heads keeps its SLA notifications through 0007."""
    from alembic import command

    from leadflow.store.db import alembic_config
    from leadflow.store.models import RepRow

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "0002")
    for head in ("0003", "0004", "0005", "0006"):
        command.upgrade(cfg, head)
    db = Database(url)
    with db.write() as s:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        s.add(RepRow(id=1, name="R", email="r@x.example", created_at=at, updated_at=at))
        s.flush()
        s.execute(text("INSERT INTO lifecycle_notifications (kind, rep_id, lead_id, message, "
                       "payload, created_at) VALUES ('sla_breach', 1, 7, 'too late', "
                       "'{\"policy\": \"std\"}', '2026-01-02')"))  # fmt: skip
    db.dispose()
    command.upgrade(cfg, "heads")
    db = Database(url)
    with db.read() as s:
        rows = s.execute(text("SELECT event, channel, rep_id, payload FROM outbox")).all()
        tables = set(s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'table'")))
    db.dispose()
    assert "lifecycle_notifications" not in tables
    [(event, channel, rep_id, payload)] = rows
    assert (event, channel, rep_id) == ("sla.breached", "inapp", 1)
    assert json.loads(payload) == {"message": "too late", "lead_id": 7, "policy": "std"}
