"""Readiness, request ids, Prometheus metrics — on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import Column, Integer, MetaData, String, Table, text
from sqlalchemy import insert as sa_insert

from leadflow.observability import metrics
from leadflow.services.context import Services
from leadflow.store.db import Database
from leadflow.store.types import UTCDateTime
from tests.ops.conftest import ADMIN_TOKEN, TestClient, World, bearer


def sample(page: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text page (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in page.splitlines():
        m = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if m and m.group(1) == name:
            got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
            if got == want:
                return float(m.group(3))
    return 0.0


class TestReadiness:
    def test_ready_when_schema_at_head(self, client: TestClient) -> None:
        r = client.get("/api/v1/ready")
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "ready"
        assert body["migrations"]["current"] == body["migrations"]["expected"]

    def test_not_ready_when_schema_behind(self, client: TestClient, svc: Services) -> None:
        """A process started against an un-migrated database must not get traffic."""
        with svc.db.write() as s:
            s.execute(text("UPDATE alembic_version SET version_num = 'old'"))
        r = client.get("/api/v1/ready")
        assert r.status_code == 503
        assert r.json()["migrations"]["current"] == ["old"]
        assert client.get("/api/v1/health").status_code == 200  # alive, just not ready

    def test_not_ready_when_database_unreachable(self, settings) -> None:  # type: ignore[no-untyped-def]
        from leadflow.api.app import create_app
        from leadflow.testing.processes import free_port

        dead = Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
        with TestClient(create_app(settings, Services(dead))) as c:
            r = c.get("/api/v1/ready")
            assert r.status_code == 503
            assert r.json()["database"] == "unreachable"
            # any request needing the database: 503 + Retry-After (safe to retry), not 500
            r = c.get("/api/v1/leads", headers=bearer(ADMIN_TOKEN))
            assert r.status_code == 503 and r.headers["retry-after"] == "1"
            assert "retry" in r.json()["detail"]["message"]
            assert c.get("/api/v1/health").status_code == 503


class TestRequestId:
    def test_generated_and_echoed(self, client: TestClient) -> None:
        first = client.get("/api/v1/health").headers["x-request-id"]
        second = client.get("/api/v1/health").headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
        r = client.get("/api/v1/health", headers={"X-Request-ID": "lb-abc.123"})
        assert r.headers["x-request-id"] == "lb-abc.123"

    def test_hostile_incoming_id_replaced(self, client: TestClient) -> None:
        """A client cannot inject text into our logs through the request id."""
        r = client.get("/api/v1/health", headers={"X-Request-ID": "x\" injected=1 " + "a" * 80})
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


class TestMetrics:
    def test_decisions_latency_and_queue_depth(self, client: TestClient, world: World) -> None:
        before = client.get("/metrics").text
        admin = bearer(world.tokens["admin"])
        for n in range(3):
            r = client.post("/api/v1/leads", headers=admin,
                            json={"email": f"m{n}@x.example", "company": {"country": "FR"}})
            assert r.status_code == 201
        r = client.post("/api/v1/leads", headers=admin, json={"company": {"country": "US"}})
        assert r.json()["status"] == "queued"
        page = client.get("/metrics")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/plain")
        after = page.text

        def delta(name: str, **labels: str) -> float:
            return sample(after, name, **labels) - sample(before, name, **labels)

        assert delta("leadflow_decisions_total", kind="route", outcome="assigned") == 3
        assert delta("leadflow_decisions_total", kind="route", outcome="queued") == 1
        assert delta("leadflow_routing_duration_seconds_count", kind="route") == 4
        assert delta("leadflow_http_request_duration_seconds_count",
                     method="POST", route="/api/v1/leads", status="201") == 4
        # world has one queued lead already, we added one: read from the table, not memory
        assert sample(after, "leadflow_queue_depth", queue="unassigned") == 2
        assert sample(after, "leadflow_leads", status="assigned") == 5

    def test_route_label_is_the_template(self, client: TestClient, world: World) -> None:
        client.get(f"/api/v1/leads/{world.lead_a['id']}", headers=bearer(world.tokens["admin"]))
        page = client.get("/metrics").text
        assert 'route="/api/v1/leads/{lead_id}"' in page
        assert f'route="/api/v1/leads/{world.lead_a["id"]}"' not in page

    def test_timer_and_outbox_gauges_from_conventional_tables(self, svc: Services) -> None:
        """Tables with a `due_at` column are timers; tables named *outbox* are outboxes."""
        md = MetaData()
        timers = Table("demo_timers", md, Column("id", Integer, primary_key=True),
                       Column("due_at", UTCDateTime()),
                       Column("fired_at", UTCDateTime(), nullable=True))
        outbox = Table("demo_outbox", md, Column("id", Integer, primary_key=True),
                       Column("status", String(16)))
        md.create_all(svc.db.engine)
        now = svc.clock.now()
        from datetime import timedelta

        with svc.db.write() as s:
            s.execute(sa_insert(timers), [
                {"due_at": now - timedelta(seconds=90), "fired_at": None},  # late by 90 s
                {"due_at": now - timedelta(seconds=10), "fired_at": None},
                {"due_at": now - timedelta(seconds=500), "fired_at": now},  # done: ignored
                {"due_at": now + timedelta(seconds=60), "fired_at": None},  # not due yet
            ])
            s.execute(sa_insert(outbox), [{"status": "pending"}, {"status": "sent"},
                                          {"status": "retry"}])
        state = metrics.DatabaseState(svc, metadata=md)
        values = {(m.name, tuple(s.labels.values())): s.value
                  for m in state.collect() for s in m.samples}
        assert values[("leadflow_timers_due", ("demo_timers",))] == 2
        assert values[("leadflow_timer_lateness_seconds", ("demo_timers",))] == 90
        assert values[("leadflow_outbox_backlog", ("demo_outbox",))] == 2

    def test_metrics_token_when_configured(self, svc: Services) -> None:
        from pydantic import SecretStr

        from leadflow.api.app import create_app
        from leadflow.config import Settings

        settings = Settings(database_url="sqlite://", metrics_token=SecretStr("scrape-me-please"))
        with TestClient(create_app(settings, svc)) as c:
            assert c.get("/metrics").status_code == 401
            assert c.get("/metrics", headers=bearer("wrong")).status_code == 401
            assert c.get("/metrics", headers=bearer("scrape-me-please")).status_code == 200
