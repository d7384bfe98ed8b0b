"""`POST /api/v1/leads` has a fast route for well-formed requests (`api/fast_intake.py`):
it must answer exactly like the FastAPI route, and leave every other request to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadflow.api import fast_intake
from leadflow.services.auth import Role
from leadflow.services.context import Services
from leadflow.store.db import Database
from tests.conftest import fresh_database
from tests.integration.conftest import TestClient, bearer, french_team

GENERIC_ONLY = "application/lead+json"  # JSON to FastAPI; not taken by the fast route
VARYING = {"id", "external_id", "email", "decision_id", "owner_rep_id", "created_at", "assigned_at",
           "updated_at"}  # fmt: skip


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    db = fresh_database("sqlite", request, tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The idempotency keys of the requests the fast route answered."""
    calls: list[str | None] = []
    taken = fast_intake.take_lead

    async def spy(svc: Services, body: Any, principal: Any, key: str | None) -> Any:
        calls.append(key)
        return await taken(svc, body, principal, key)

    monkeypatch.setattr(fast_intake, "take_lead", spy)
    return calls


def _post(api: TestClient, lead: dict[str, Any], content_type: str, **headers: str) -> Any:
    return api.post("/api/v1/leads", content=json.dumps(lead),
                    headers={"Content-Type": content_type, **headers})  # fmt: skip


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.INTAKE])
def test_both_routes_answer_alike(
    api: TestClient, svc: Services, fast_calls: list[str | None], role: Role
) -> None:
    french_team(svc)
    auth = {} if role is Role.ADMIN else bearer(svc, role)
    answers = {}
    for n, content_type in enumerate(["application/json", GENERIC_ONLY]):
        lead = {"external_id": f"x-{n}", "email": f"p{n}@prospect.example",
                "company": {"country": "FR", "size": 40}, "attributes": {"k": "v"}}  # fmt: skip
        first = _post(api, lead, content_type, **auth)
        assert first.status_code == 201, first.text
        again = _post(api, lead, content_type, **auth)
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json()
        answers[content_type] = first
    assert len(fast_calls) == 2  # the first pair only
    fast, generic = answers["application/json"], answers[GENERIC_ONLY]
    assert fast.headers["content-type"] == generic.headers["content-type"]
    strip = {k: v for k, v in fast.json().items() if k not in VARYING}
    assert strip == {k: v for k, v in generic.json().items() if k not in VARYING}
    if role is Role.INTAKE:
        assert set(fast.json()) == {"id", "status"}
    else:
        assert fast.json()["owner_rep_id"] is not None and fast.json()["territory"] is None


@pytest.mark.parametrize(
    ("lead", "headers", "status", "field"),
    [
        ({"email": "not-an-address"}, {}, 422, "email"),
        ({"email": "a@prospect.example"}, {"Idempotency-Key": "k" * 201}, 422, "idempotency-key"),
        ({"email": "a@prospect.example"}, {"Authorization": "Bearer lf_nope"}, 401, None),
        ([{"email": "a@prospect.example"}], {}, 422, None),
    ],
)
def test_what_the_fast_route_turns_down_gets_the_usual_answer(
    api: TestClient,
    fast_calls: list[str | None],
    lead: Any,
    headers: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    answer = _post(api, lead, "application/json", **headers)
    assert answer.status_code == status
    if field is not None:
        assert field in [e["field"] for e in answer.json()["detail"]["errors"]]
    assert fast_calls == []
    assert api.get("/api/v1/leads").json()["items"] == []


def test_a_rep_is_refused_and_nothing_is_stored(
    api: TestClient, svc: Services, fast_calls: list[str | None]
) -> None:
    rep = french_team(svc)[0]
    answer = _post(api, {"email": "a@prospect.example"}, "application/json",
                   **bearer(svc, Role.REP, rep_id=rep))  # fmt: skip
    assert answer.status_code == 403 and fast_calls == []
    assert api.get("/api/v1/leads").json()["items"] == []


def test_a_body_sent_in_chunks_and_a_key_are_taken(
    api: TestClient, fast_calls: list[str | None]
) -> None:
    parts = [b'{"email": "chunk', b'@prospect.example", ', b'"external_id": "c-1"}']
    headers = {"Content-Type": "application/json", "Idempotency-Key": "k-1"}
    answer = api.post("/api/v1/leads", content=iter(parts), headers=headers)
    assert answer.status_code == 201 and fast_calls == ["k-1"]
    assert api.get(f"/api/v1/leads/{answer.json()['id']}").json()["email"] == (
        "chunk@prospect.example"
    )
