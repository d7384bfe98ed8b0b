"""The HTTP API in-process (TestClient): auth, roles, validation, limits, idempotency.

The HTTP layer does not depend on the database, so these run on SQLite only; the storage
behind each endpoint is covered on both backends by the service tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadflow.services import routing
from leadflow.services.auth import Role
from leadflow.services.context import Services
from leadflow.store.db import Database
from tests.conftest import fresh_database
from tests.integration.conftest import ROUND_ROBIN_FR, TestClient, bearer, french_team


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    db = fresh_database("sqlite", request, tmp_path)
    yield db
    db.dispose()


HUGE = 10**20
FR_LEAD = {"email": "jane@prospect.example", "company": {"country": "FR"}}


def detail(response: Any) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["detail"]
    return body


def error_fields(response: Any) -> list[str]:
    return [e["field"] for e in detail(response)["errors"]]


class TestAuth:
    def test_health_needs_no_token(self, api: TestClient) -> None:
        answer = api.get("/api/v1/health", headers={"Authorization": ""})
        assert answer.status_code == 200
        assert answer.json()["status"] == "ok"

    @pytest.mark.parametrize("header", ["", "Bearer", "Bearer lf_nope", "Basic abc", "Bearer x"])
    def test_missing_or_bad_token_is_401(self, api: TestClient, header: str) -> None:
        """No valid credentials: 401 with a WWW-Authenticate challenge, nothing done."""
        answer = api.post("/api/v1/leads", json=FR_LEAD, headers={"Authorization": header})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"

    def test_revoked_token_is_401(self, api: TestClient, svc: Services) -> None:
        created = api.post("/api/v1/tokens", json={"role": "manager"}).json()
        headers = {"Authorization": f"Bearer {created['token']}"}
        assert api.get("/api/v1/teams", headers=headers).status_code == 200
        api.post(f"/api/v1/tokens/{created['id']}/revoke")
        assert api.get("/api/v1/teams", headers=headers).status_code == 401

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/leads"),
            ("GET", "/api/v1/reps"),
            ("POST", "/api/v1/teams"),
            ("GET", "/api/v1/rulebook"),
            ("PUT", "/api/v1/rulebook"),
            ("POST", "/api/v1/route/dry-run"),
        ],
    )
    def test_intake_token_may_only_create_leads(
        self, api: TestClient, svc: Services, method: str, path: str
    ) -> None:
        """A web-form token gets 403 everywhere but POST /leads."""
        headers = bearer(svc, Role.INTAKE)
        answer = api.request(method, path, headers=headers, json={"name": "x"})
        assert answer.status_code == 403
        assert "intake" in detail(answer)["message"]

    def test_intake_token_creates_a_lead_and_learns_only_id_and_status(
        self, api: TestClient, svc: Services
    ) -> None:
        french_team(svc, 1)
        answer = api.post("/api/v1/leads", json=FR_LEAD, headers=bearer(svc, Role.INTAKE))
        assert answer.status_code == 201
        assert set(answer.json()) == {"id", "status"}

    def test_manager_may_not_change_the_rulebook_or_tokens(
        self, api: TestClient, svc: Services
    ) -> None:
        headers = bearer(svc, Role.MANAGER)
        assert api.put("/api/v1/rulebook", content="x", headers=headers).status_code == 403
        assert (
            api.post("/api/v1/tokens", json={"role": "admin"}, headers=headers).status_code == 403
        )
        assert api.get("/api/v1/rulebook", headers=headers).status_code == 200

    def test_rep_sees_only_own_leads(self, api: TestClient, svc: Services) -> None:
        """A rep lists and reads their own leads; another's lead is a 404, not a 403."""
        ids = french_team(svc, 2)
        first = api.post("/api/v1/leads", json=FR_LEAD).json()
        second = api.post("/api/v1/leads", json=FR_LEAD).json()
        headers = bearer(svc, Role.REP, rep_id=ids[0])
        listed = api.get("/api/v1/leads", headers=headers).json()["items"]
        assert [x["id"] for x in listed] == [first["id"]]
        assert api.get(f"/api/v1/leads/{first['id']}", headers=headers).status_code == 200
        assert api.get(f"/api/v1/leads/{second['id']}", headers=headers).status_code == 404
        other = api.get(f"/api/v1/leads?owner={ids[1]}", headers=headers)
        assert other.status_code == 403
        path = f"/api/v1/leads/{second['id']}/decisions"
        assert api.get(path, headers=headers).status_code == 404

    def test_rep_may_only_change_own_status(self, api: TestClient, svc: Services) -> None:
        ids = french_team(svc, 2)
        headers = bearer(svc, Role.REP, rep_id=ids[0])
        mine = f"/api/v1/reps/{ids[0]}"
        assert api.patch(mine, json={"status": "away"}, headers=headers).status_code == 200
        assert api.patch(mine, json={"weight": 9}, headers=headers).status_code == 403
        theirs = f"/api/v1/reps/{ids[1]}"
        assert api.patch(theirs, json={"status": "away"}, headers=headers).status_code == 403
        assert api.post("/api/v1/leads", json=FR_LEAD, headers=headers).status_code == 403
        assert api.get("/api/v1/reps", headers=headers).status_code == 403


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "field", "fragment"),
        [
            ({"email": "not-an-email"}, "email", "not a valid e-mail"),
            ({"phone": "12"}, "phone", "phone number"),
            ({"company": {"country": "XX"}}, "company.country", "ISO 3166"),
            ({"score": "high"}, "score", "number"),
            ({"company": {"size": "big"}}, "company.size", "integer"),
            ({"score": 101}, "score", "less than or equal to 100"),
            ({"colour": "red"}, "colour", "Extra inputs"),
            ({"attributes": {"nested": {"a": 1}}}, "attributes", "scalar"),
            ({"language": "french!"}, "language", ""),
        ],
    )
    def test_invalid_lead_is_422_with_field_and_nothing_stored(
        self, api: TestClient, svc: Services, body: dict[str, Any], field: str, fragment: str
    ) -> None:
        answer = api.post("/api/v1/leads", json=body)
        assert answer.status_code == 422
        assert field in error_fields(answer)
        assert fragment in detail(answer)["message"]
        assert routing.list_leads(svc)["items"] == []

    @pytest.mark.parametrize("field", ["name", "email", "weight", "status", "active"])
    def test_null_for_a_field_that_always_has_a_value_is_422(
        self, api: TestClient, svc: Services, field: str
    ) -> None:
        """Found by the schema fuzzer: `{"status": null}` reached the database (500)."""
        (rep_id,) = french_team(svc, 1)
        before = api.get(f"/api/v1/reps/{rep_id}").json()
        answer = api.patch(f"/api/v1/reps/{rep_id}", json={field: None})
        assert answer.status_code == 422
        assert field in error_fields(answer)
        assert "cannot be null" in detail(answer)["message"]
        assert api.get(f"/api/v1/reps/{rep_id}").json() == before

    def test_malformed_json_is_422(self, api: TestClient, svc: Services) -> None:
        answer = api.post(
            "/api/v1/leads", content=b'{"email": ', headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 422
        assert "JSON" in detail(answer)["message"]
        assert routing.list_leads(svc)["items"] == []

    def test_phone_is_normalised_with_company_country(self, api: TestClient) -> None:
        answer = api.post("/api/v1/leads", json={"phone": "01 42 68 53 00", **FR_LEAD})
        assert answer.status_code == 201
        assert answer.json()["phone"] == "+33142685300"

    def test_body_over_one_megabyte_is_413(self, api: TestClient, svc: Services) -> None:
        big = {"attributes": {f"k{i}": "x" * 1900 for i in range(100)}, "source": "y" * 50}
        padded = json.dumps(big) + " " * 900_000
        answer = api.post(
            "/api/v1/leads", content=padded, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 413
        assert detail(answer)["field"] == "body"
        assert routing.list_leads(svc)["items"] == []

    def test_chunked_body_over_the_limit_is_413(self, api: TestClient) -> None:
        """Without Content-Length the limit still holds while the body streams in."""

        def chunks() -> Any:
            for _ in range(11):
                yield b" " * 100_000

        answer = api.put("/api/v1/rulebook", content=chunks())
        assert answer.status_code == 413

    def test_invalid_rulebook_is_422_naming_rule_and_field_and_not_activated(
        self, api: TestClient, svc: Services
    ) -> None:
        french_team(svc, 1)
        before = api.get("/api/v1/rulebook").json()["version"]
        bad = ROUND_ROBIN_FR.replace("method: round_robin", "method: round_robin, colour: x")
        answer = api.put("/api/v1/rulebook", content=bad)
        assert answer.status_code == 422
        assert detail(answer)["errors"] == [
            {
                "rule": "france",
                "field": "assign.colour",
                "message": answer.json()["detail"]["errors"][0]["message"],
            }
        ]
        assert "unknown field" in detail(answer)["message"]
        assert api.get("/api/v1/rulebook").json()["version"] == before

    @pytest.mark.parametrize(
        ("method", "path", "body", "field"),
        [
            ("GET", f"/api/v1/leads/{HUGE}", None, "lead_id"),
            ("GET", f"/api/v1/leads/{HUGE}/decisions", None, "lead_id"),
            ("GET", f"/api/v1/leads?before={HUGE}", None, "before"),
            ("GET", f"/api/v1/leads?owner={HUGE}", None, "owner"),
            ("GET", f"/api/v1/reps/{HUGE}", None, "rep_id"),
            ("GET", f"/api/v1/rulebook/versions/{HUGE}", None, "version"),
            ("GET", f"/api/v1/accounts?offset={HUGE}", None, "offset"),
            ("POST", "/api/v1/teams", {"name": "t", "manager_rep_id": HUGE}, "manager_rep_id"),
            (
                "POST",
                "/api/v1/accounts",
                {"name": "a", "domains": ["a.example"], "owner_rep_id": HUGE},
                "owner_rep_id",
            ),
            ("POST", "/api/v1/tokens", {"role": "rep", "rep_id": HUGE}, "rep_id"),
        ],
    )
    def test_ids_beyond_64_bits_are_422_not_500(
        self, api: TestClient, method: str, path: str, body: Any, field: str
    ) -> None:
        """A number no database column can hold is bad input naming its field."""
        answer = api.request(method, path, json=body)
        assert answer.status_code == 422
        assert error_fields(answer) == [field]

    def test_unknown_rep_is_404_and_duplicate_team_409(self, api: TestClient) -> None:
        assert api.get("/api/v1/reps/999").status_code == 404
        assert api.post("/api/v1/teams", json={"name": "a"}).status_code == 201
        dup = api.post("/api/v1/teams", json={"name": "a"})
        assert dup.status_code == 409 and detail(dup)["field"] == "name"


class TestLeadsApi:
    def test_org_and_rulebook_over_http_then_route(self, api: TestClient) -> None:
        """Create a team and reps, PUT a YAML rulebook, POST a lead, read its decision."""
        assert api.post("/api/v1/teams", json={"name": "france"}).status_code == 201
        rep = api.post(
            "/api/v1/reps", json={"name": "Ana", "email": "ana@x.example", "teams": ["france"]}
        )
        assert rep.status_code == 201
        put = api.put(
            "/api/v1/rulebook", content=ROUND_ROBIN_FR, headers={"Content-Type": "application/yaml"}
        )
        assert put.status_code == 200 and put.json()["version"] == 1
        lead = api.post("/api/v1/leads", json=FR_LEAD)
        assert lead.status_code == 201
        body = lead.json()
        assert body["owner_rep_id"] == rep.json()["id"] and body["status"] == "assigned"
        decisions = api.get(f"/api/v1/leads/{body['id']}/decisions").json()
        assert [d["id"] for d in decisions] == [body["decision_id"]]
        assert decisions[0]["trace"]["steps"][0]["rule"] == "france"
        assert api.get(f"/api/v1/leads/{body['id']}").json()["email"] == "jane@prospect.example"
        versions = api.get("/api/v1/rulebook/versions").json()
        assert [v["version"] for v in versions] == [1]

    def test_rulebook_accepts_json(self, api: TestClient) -> None:
        doc = {"rules": [], "fallback": {"queue": "triage"}}
        assert api.put("/api/v1/rulebook", json=doc).json()["version"] == 1
        assert api.get("/api/v1/rulebook").json()["document"] == doc

    def test_external_id_and_idempotency_key_return_the_same_lead(
        self, api: TestClient, svc: Services
    ) -> None:
        """A retried POST answers 200 with the first lead; nothing new is created."""
        french_team(svc, 2)
        first = api.post("/api/v1/leads", json={"external_id": "crm-1", **FR_LEAD})
        again = api.post("/api/v1/leads", json={"external_id": "crm-1", **FR_LEAD})
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json()["id"] == first.json()["id"]
        keyed = [
            api.post("/api/v1/leads", json=FR_LEAD, headers={"Idempotency-Key": "form-42"})
            for _ in range(2)
        ]
        assert [r.status_code for r in keyed] == [201, 200]
        assert keyed[0].json()["id"] == keyed[1].json()["id"]
        assert len(routing.list_leads(svc)["items"]) == 2

    def test_pagination(self, api: TestClient, svc: Services) -> None:
        french_team(svc, 1)
        made = [api.post("/api/v1/leads", json=FR_LEAD).json()["id"] for _ in range(5)]
        page1 = api.get("/api/v1/leads?limit=3").json()
        page2 = api.get(f"/api/v1/leads?limit=3&before={page1['next']}").json()
        assert [x["id"] for x in page1["items"] + page2["items"]] == made[::-1]
        assert page2["next"] is None
        assert api.get("/api/v1/leads?limit=0").status_code == 422
        assert api.get("/api/v1/leads?status=queued").json()["items"] == []

    def test_dry_run_answers_and_stores_nothing(self, api: TestClient, svc: Services) -> None:
        ids = french_team(svc, 2)
        answer = api.post("/api/v1/route/dry-run", json=FR_LEAD)
        assert answer.status_code == 200
        assert answer.json()["owner_rep_id"] == ids[0]
        assert answer.json()["trace"]["outcome"]["rule"] == "france"
        assert routing.list_leads(svc)["items"] == []
        assert api.post("/api/v1/leads", json=FR_LEAD).json()["owner_rep_id"] == ids[0]

    def test_out_of_office_over_http(self, api: TestClient, svc: Services) -> None:
        ids = french_team(svc, 2)
        bad = api.post(
            f"/api/v1/reps/{ids[0]}/out-of-office",
            json={"start": "2026-03-03T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
        )
        assert bad.status_code == 422
        ok = api.post(
            f"/api/v1/reps/{ids[0]}/out-of-office",
            json={"start": "2026-03-01T00:00:00Z", "end": "2026-03-09T00:00:00Z"},
        )
        assert ok.status_code == 201
        assert api.post("/api/v1/leads", json=FR_LEAD).json()["owner_rep_id"] == ids[1]


class TestWebLeadsPage:
    def test_leads_page_lists_leads_for_staff(self, api: TestClient, svc: Services) -> None:
        french_team(svc, 1)
        lead = api.post("/api/v1/leads", json=FR_LEAD).json()
        api.cookies.set("leadflow_session", "test-admin-token")
        page = api.get("/leads", headers={"Authorization": ""})
        assert page.status_code == 200
        assert f'data-lead="{lead["id"]}"' in page.text

    def test_intake_token_cannot_read_leads_through_the_leads_page(
        self, api: TestClient, svc: Services
    ) -> None:
        """A web-form token signed in on the UI sees no lead (it has no rep to filter by)."""
        french_team(svc, 1)
        api.post("/api/v1/leads", json=FR_LEAD)
        token = bearer(svc, Role.INTAKE)["Authorization"].removeprefix("Bearer ")
        api.cookies.set("leadflow_session", token)
        page = api.get("/leads", headers={"Authorization": ""})
        assert page.status_code == 403
        assert "data-lead=" not in page.text
