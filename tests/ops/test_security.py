"""Token expiry and revocation, rate limits, security headers, body size limits."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from leadflow.api.app import create_app
from leadflow.api.ratelimit import Rate, RateLimiter
from leadflow.cli.main import app as cli
from leadflow.config import Settings
from leadflow.errors import ValidationError
from leadflow.services import routing
from leadflow.services.context import Services
from leadflow.testing import FrozenClock
from tests.ops.conftest import ADMIN_TOKEN, TestClient, World, bearer

LEAD = {"email": "x@prospect.example", "company": {"country": "FR"}}


def lead_count(svc: Services) -> int:
    return len(routing.list_leads(svc, limit=500)["items"])


class TestTokens:
    def test_expired_token_refused(self, client: TestClient, world: World,
                                   clock: FrozenClock) -> None:
        admin = bearer(world.tokens["admin"])
        at = (clock.now() + timedelta(hours=1)).isoformat()
        r = client.post("/api/v1/tokens", headers=admin,
                        json={"role": "manager", "expires_at": at})
        assert r.status_code == 201 and r.json()["expires_at"] is not None
        token = r.json()["token"]
        assert client.get("/api/v1/teams", headers=bearer(token)).status_code == 200
        clock.advance(minutes=59, seconds=59)
        assert client.get("/api/v1/teams", headers=bearer(token)).status_code == 200
        clock.advance(seconds=1)
        r = client.get("/api/v1/teams", headers=bearer(token))
        assert r.status_code == 401
        assert "expired" in r.json()["detail"]["message"]

    def test_expiry_in_the_past_is_refused(self, client: TestClient, world: World,
                                           clock: FrozenClock) -> None:
        r = client.post("/api/v1/tokens", headers=bearer(world.tokens["admin"]),
                        json={"role": "manager", "expires_at": clock.now().isoformat()})
        assert r.status_code == 422
        assert r.json()["detail"]["errors"][0]["field"] == "expires_at"
        r = client.post("/api/v1/tokens", headers=bearer(world.tokens["admin"]),
                        json={"role": "manager", "expires_at": "2030-01-01T00:00:00"})
        assert r.status_code == 422  # no offset: ambiguous instant

    def test_delete_revokes(self, client: TestClient, world: World) -> None:
        admin = bearer(world.tokens["admin"])
        rep = bearer(world.tokens["rep"])
        rid = world.token_ids["rep"]
        assert client.get("/api/v1/leads", headers=rep).status_code == 200
        assert client.delete(f"/api/v1/tokens/{rid}", headers=rep).status_code == 403
        r = client.delete(f"/api/v1/tokens/{rid}", headers=admin)
        assert r.status_code == 200 and r.json()["revoked_at"] is not None
        assert client.get("/api/v1/leads", headers=rep).status_code == 401
        again = client.delete(f"/api/v1/tokens/{rid}", headers=admin)
        assert again.json()["revoked_at"] == r.json()["revoked_at"]  # idempotent
        assert client.delete("/api/v1/tokens/99999", headers=admin).status_code == 404
        listed = {t["id"]: t for t in client.get("/api/v1/tokens", headers=admin).json()}
        assert listed[rid]["revoked_at"] is not None
        assert all("token" not in t and "token_hash" not in t for t in listed.values())

    def test_cli_revoke_and_expiring_create(self, svc: Services, world: World,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
        from leadflow.services.auth import list_tokens

        monkeypatch.setenv("LEADFLOW_DATABASE_URL", svc.db.url)
        runner = CliRunner()
        r = runner.invoke(cli, ["token", "revoke", str(world.token_ids["manager"])])
        assert r.exit_code == 0, r.output
        assert "revoked" in r.output
        assert runner.invoke(cli, ["token", "revoke", "424242"]).exit_code == 1
        r = runner.invoke(cli, ["token", "create", "--role", "intake", "--expires-in-days", "7"])
        assert r.exit_code == 0 and r.output.startswith("lf_")
        tokens = {t["id"]: t for t in list_tokens(svc)}
        assert tokens[world.token_ids["manager"]]["revoked_at"] is not None
        newest = tokens[max(tokens)]
        assert newest["expires_at"] is not None and newest["role"] == "intake"


class TestRateLimits:
    def test_limiter_refills(self) -> None:
        now = [0.0]
        limiter = RateLimiter(Rate(2, 10), clock=lambda: now[0])
        assert limiter.hit("a") is None and limiter.hit("a") is None
        wait = limiter.hit("a")
        assert wait == pytest.approx(5.0)
        assert limiter.hit("b") is None  # another caller has its own bucket
        now[0] = 5.0
        assert limiter.hit("a") is None
        assert limiter.hit("a") is not None

    @pytest.mark.parametrize("text", ["ten/minute", "5/fortnight", "-1/s", "5"])
    def test_bad_rate_names_the_setting(self, text: str) -> None:
        with pytest.raises(ValidationError) as exc:
            Rate.parse(text, field="rate_limit_intake")
        assert exc.value.field == "rate_limit_intake"

    def test_intake_limited_per_token(self, svc: Services, world: World) -> None:
        settings = Settings(database_url="sqlite://", rate_limit_intake="3/minute")
        with TestClient(create_app(settings, svc)) as c:
            intake = bearer(world.tokens["intake"])
            before = lead_count(svc)
            for _ in range(3):
                assert c.post("/api/v1/leads", headers=intake, json=LEAD).status_code == 201
            r = c.post("/api/v1/leads", headers=intake, json=LEAD)
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) >= 1
            assert r.json()["detail"]["field"] == "rate_limit"
            assert lead_count(svc) == before + 3  # the refused one stored nothing
            # another caller still gets through; reads are not limited
            manager = bearer(world.tokens["manager"])
            assert c.post("/api/v1/leads", headers=manager, json=LEAD).status_code == 201
            assert c.get("/api/v1/leads", headers=manager).status_code == 200
            assert "leadflow_rate_limited_total{scope=\"intake\"}" in c.get("/metrics").text

    def test_login_limited_per_address(self, svc: Services, world: World) -> None:
        settings = Settings(database_url="sqlite://", rate_limit_login="2/minute")
        with TestClient(create_app(settings, svc)) as c:
            # The sign-in form carries a CSRF token (web pages): take it as a browser would.
            csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
            assert csrf is not None
            for _ in range(2):
                r = c.post("/login", data={"csrf": csrf[1], "token": "lf_guess"})
                assert r.status_code == 401
            # guessing with varying tokens does not reset the count: it is per address
            r = c.post("/login", data={"csrf": csrf[1], "token": world.tokens["admin"]})
            assert r.status_code == 429

    def test_zero_disables(self, svc: Services, world: World) -> None:
        settings = Settings(database_url="sqlite://", rate_limit_intake="0")
        with TestClient(create_app(settings, svc)) as c:
            for _ in range(20):
                r = c.post("/api/v1/leads", headers=bearer(world.tokens["intake"]), json=LEAD)
                assert r.status_code == 201


class TestHeadersAndBodies:
    def test_web_pages_get_strict_headers(self, client: TestClient) -> None:
        r = client.get("/login")
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"

    def test_api_answers_get_basic_headers(self, client: TestClient) -> None:
        r = client.get("/api/v1/health")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in r.headers

    def test_body_over_limit_refused_and_nothing_stored(self, svc: Services,
                                                        world: World) -> None:
        settings = Settings(database_url="sqlite://", max_body_bytes=2_000)
        admin = bearer(world.tokens["admin"])
        big = {**LEAD, "message": "x" * 5_000}
        with TestClient(create_app(settings, svc)) as c:
            before = lead_count(svc)
            r = c.post("/api/v1/leads", headers=admin, json=big)
            assert r.status_code == 413
            assert r.json()["detail"]["field"] == "body"

            def chunks():  # no Content-Length: the limit must hold while streaming
                yield b'{"email": "a@b.example", "message": "'
                for _ in range(10):
                    yield b"y" * 500
                yield b'"}'

            r = c.post("/api/v1/leads", headers={**admin, "Content-Type": "application/json"},
                       content=chunks())
            assert r.status_code == 413
            assert lead_count(svc) == before


def test_admin_env_token_works(client: TestClient) -> None:
    assert client.get("/api/v1/tokens", headers=bearer(ADMIN_TOKEN)).status_code == 200
    assert Settings(admin_token=SecretStr("x")).admin_token is not None


def test_integers_beyond_64_bits_are_4xx_not_5xx(client: TestClient, world: World) -> None:
    """Found by the schema fuzzer: huge ids overflowed the database driver (500)."""
    admin = bearer(world.tokens["admin"])
    huge = str(2**64)
    r = client.get(f"/api/v1/leads/{huge}", headers=admin)
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "lead_id"
    assert client.delete(f"/api/v1/tokens/-{huge}", headers=admin).status_code == 422
    r = client.get(f"/api/v1/accounts?offset={huge}", headers=admin)
    assert r.status_code == 422 and r.json()["detail"]["field"] == "offset"
    ok = client.get(f"/api/v1/leads/{2**63 - 1}", headers=admin)
    assert ok.status_code == 404 and "lead" in ok.json()["detail"]["message"]


def test_openapi_documents_the_real_error_shape(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/v1/leads"]["post"]["responses"]
    assert {"200", "201", "401", "403", "413", "422", "429"} <= set(op)
    assert op["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_generic_limiter_as_a_dependency() -> None:
    """The same limiter guards any endpoint (exports, future claim endpoints…)."""
    from fastapi import Depends, FastAPI

    from leadflow.api import errors
    from leadflow.api.ratelimit import limit

    app = FastAPI()
    errors.install(app)

    @app.get("/export", dependencies=[Depends(limit("export", Rate(2, 60)))])
    def export() -> dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as c:
        assert [c.get("/export", headers=bearer("a")).status_code for _ in range(3)] == [
            200, 200, 429,
        ]
        assert c.get("/export", headers=bearer("b")).status_code == 200  # per caller
        r = c.get("/export", headers=bearer("a"))
        assert r.json()["detail"]["field"] == "rate_limit"


def test_fuzzer_findings_in_bodies_and_headers(client: TestClient, world: World) -> None:
    """Found by the schema fuzzer: a 65-bit id in a body (500) and an empty
    Idempotency-Key, stored as "" and then colliding with the next empty one (500)."""
    admin = bearer(world.tokens["admin"])
    r = client.post("/api/v1/teams", headers=admin,
                    json={"name": "x", "manager_rep_id": -(2**90)})
    assert r.status_code == 422 and r.json()["detail"]["errors"][0]["field"] == "manager_rep_id"
    for _ in range(2):
        r = client.post("/api/v1/leads", headers={**admin, "Idempotency-Key": ""}, json=LEAD)
        assert r.status_code == 422
        assert r.json()["detail"]["errors"][0]["field"] == "idempotency-key"


def test_hsts_only_over_https(svc: Services, settings: Settings) -> None:
    with TestClient(create_app(settings, svc), base_url="https://leadflow.test") as c:
        assert "max-age=" in c.get("/login").headers["strict-transport-security"]
    with TestClient(create_app(settings, svc)) as c:
        assert "strict-transport-security" not in c.get("/login").headers
