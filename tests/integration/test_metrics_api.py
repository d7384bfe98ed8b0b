"""GET /api/v1/metrics/...: roles, filters, CSV, thresholds."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from leadflow.api.app import create_app
from leadflow.config import Settings
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import org, routing
from leadflow.services.auth import Role, create_token
from leadflow.services.context import Services
from leadflow.testing.server import running


@pytest.fixture
def client(svc: Services) -> Iterator[httpx.Client]:
    """A real uvicorn server over the test database."""
    app = create_app(Settings(database_url=svc.db.url), svc)
    with running(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield http


def _auth(svc: Services, role: Role, rep_id: int | None = None) -> dict[str, str]:
    token, _ = create_token(svc, role, rep_id=rep_id)
    return {"Authorization": f"Bearer {token}"}


class TestMetricsApi:
    def test_roles(self, svc: Services, client: httpx.Client) -> None:
        """No token 401, a rep 403, a manager 200 with every section."""
        org.create_team(svc, TeamIn(name="t"))
        rep = org.create_rep(svc, RepIn(name="A", email="a@x.example", teams=["t"]))
        assert client.get("/api/v1/metrics").status_code == 401
        assert (
            client.get("/api/v1/metrics", headers=_auth(svc, Role.REP, rep["id"])).status_code
            == 403
        )
        res = client.get("/api/v1/metrics?period=24h&team=t", headers=_auth(svc, Role.MANAGER))
        assert res.status_code == 200
        body = res.json()
        assert body["scope"]["team"] == "t" and body["scope"]["period"] == "24h"
        assert {
            "distribution",
            "latency",
            "conversion",
            "routing",
            "queues",
            "claims",
            "alerts",
            "thresholds",
        } <= body.keys()

    def test_sections_and_csv(self, svc: Services, client: httpx.Client) -> None:
        """Each section alone; the CSV export is a download with one line per rep."""
        org.create_team(svc, TeamIn(name="t"))
        org.create_rep(svc, RepIn(name="A", email="a@x.example", teams=["t"]))
        routing.intake(svc, LeadIn(company={"country": "FR"}))
        h = _auth(svc, Role.MANAGER)
        lat = client.get("/api/v1/metrics/latency", headers=h).json()
        assert set(lat) == {"scope", "latency"}
        assert lat["latency"]["assignment"]["count"] == 0
        assert client.get("/api/v1/metrics/routing", headers=h).json()["routing"]["leads"] == 1
        res = client.get("/api/v1/metrics/export.csv?section=reps", headers=h)
        assert res.headers["content-type"].startswith("text/csv")
        assert "attachment" in res.headers["content-disposition"]
        assert res.text.splitlines()[1].split(",")[:3] == ["1", "A", "0"]

    def test_bad_filters_are_422_with_field(self, svc: Services, client: httpx.Client) -> None:
        """Unknown period, reversed bounds, unknown CSV section: 422 naming the field."""
        h = _auth(svc, Role.MANAGER)
        res = client.get("/api/v1/metrics?period=forever", headers=h)
        assert res.status_code == 422 and res.json()["detail"]["errors"][0]["field"] == "period"
        res = client.get(
            "/api/v1/metrics?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", headers=h
        )
        assert res.status_code == 422
        res = client.get("/api/v1/metrics/export.csv?section=x", headers=h)
        assert res.status_code == 422

    def test_thresholds_roundtrip(self, svc: Services, client: httpx.Client) -> None:
        """PUT changes one threshold and keeps the others; a rep may not."""
        h = _auth(svc, Role.MANAGER)
        res = client.put("/api/v1/metrics/thresholds", json={"latency_p95_seconds": 30}, headers=h)
        assert res.status_code == 200
        body = client.get("/api/v1/metrics/thresholds", headers=h).json()
        assert body["latency_p95_seconds"] == 30 and body["error_rate"] == 0.05
        res = client.put("/api/v1/metrics/thresholds", json={"bogus": 1}, headers=h)
        assert res.status_code == 422
