"""Crash tests at a small scale: real server and worker processes on PostgreSQL, under
continuous intake with idempotency keys, pool claims and offer accepts, killed with
SIGKILL at random moments; and a run where the PostgreSQL server itself crashes. Nothing
accepted may be lost or doubled: no lead or offer with two winners, every due timer
fired once, every outbox message delivered to a real webhook receiver and SMTP server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadflow.testing import postgres as pg
from leadflow.testing.crash import CrashConfig, CrashRun

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _assert_nothing_lost(run: CrashRun) -> None:
    result = run.run()
    summary = result.summary()
    assert not result.problems, summary
    assert len(result.accepted) >= 20, summary  # the run really did something
    assert result.kills["serve"] >= 1 and result.kills["worker"] >= 1, summary  # kill -9
    assert result.claims, summary  # reps claimed from the pool during the chaos
    assert result.accepts, summary  # and accepted offers made to them
    assert result.offers.get("expired", 0) >= 1, summary  # offer timers fell due and fired
    outbox = result.outbox
    assert set(outbox["by_status"]) == {"sent"}, summary  # all delivered after the drain
    received = outbox["received_webhooks"] + outbox["received_emails"]
    assert received >= outbox["messages"] > 0, summary  # at least once each
    assert outbox["received_emails"] >= 1, summary
    assert "OK: no violation" in result.check_output
    print(summary)  # shown with -s: what the run did


def test_kill_9_servers_and_workers(pg_url: str, tmp_path: Path) -> None:
    url = pg.create_database(pg_url, f"lf_crash_{os.getpid()}")
    config = CrashConfig(servers=2, workers=1, clients=3, duration=12, kill_every=(1.5, 3.0))
    _assert_nothing_lost(CrashRun(url, tmp_path, config))


@pytest.fixture
def own_postgres() -> Iterator[pg.PostgresServer]:
    """A PostgreSQL server of this test's own, since the test crashes it."""
    if os.environ.get("LEADFLOW_TEST_PG_URL"):
        pytest.skip("an external PostgreSQL cannot be restarted by the test")
    server = pg.start(durable=True)
    if server is None:
        pytest.skip("PostgreSQL not installed")
    yield server
    server.stop()


def test_postgres_crash_mid_run(own_postgres: pg.PostgresServer, tmp_path: Path) -> None:
    url = pg.create_database(own_postgres.url, "lf_crash_pg")
    config = CrashConfig(servers=2, workers=1, clients=3, duration=12, kill_every=(2.0, 3.5),
                         restart_postgres_at=4.0, seed=2)
    run = CrashRun(url, tmp_path, config, postgres=own_postgres)
    _assert_nothing_lost(run)
    assert run.result.postgres_restarts == 1
