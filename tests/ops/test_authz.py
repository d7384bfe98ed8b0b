"""The authorisation matrix: every endpoint of the OpenAPI document against every kind of caller
(each role, another rep, no token, a garbage, expired or revoked token), with the status
each must get; and no data of another rep, or of a queue, in any rep's answer.

A new endpoint fails `test_matrix_covers_every_endpoint` until its row is added here:
deciding who may call it is part of adding it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from leadflow.services import auth, org
from leadflow.services.context import Services
from leadflow.testing import FrozenClock
from tests.ops.conftest import TestClient, World, bearer

PUBLIC = "public"
ADMIN = frozenset({"admin"})
STAFF = frozenset({"admin", "manager"})
INTAKE = frozenset({"admin", "manager", "intake"})
USERS = frozenset({"admin", "manager", "rep", "other_rep"})  # a rep's answer is their own data
#: Staff, or the rep the resource belongs to. Another rep gets `other` (403, or 404 where
#: even the existence of the thing is private).
OWN_REP = frozenset({"admin", "manager", "rep"})
REPS = frozenset({"rep", "other_rep"})

# (method, path) -> (who may, what another rep gets on rep A's resource)
MATRIX: dict[tuple[str, str], tuple[Any, int | None]] = {
    ("GET", "/api/v1/health"): (PUBLIC, None),
    ("GET", "/api/v1/ready"): (PUBLIC, None),
    ("POST", "/api/v1/leads"): (INTAKE, None),
    ("GET", "/api/v1/leads"): (USERS, None),
    ("GET", "/api/v1/leads/{lead_id}"): (OWN_REP, 404),
    ("GET", "/api/v1/leads/{lead_id}/decisions"): (OWN_REP, 404),
    ("POST", "/api/v1/route/dry-run"): (STAFF, None),
    ("GET", "/api/v1/teams"): (STAFF, None),
    ("POST", "/api/v1/teams"): (STAFF, None),
    ("PATCH", "/api/v1/teams/{name}"): (STAFF, None),
    ("GET", "/api/v1/territories"): (STAFF, None),
    ("POST", "/api/v1/territories"): (STAFF, None),
    ("POST", "/api/v1/accounts"): (STAFF, None),
    ("GET", "/api/v1/accounts"): (STAFF, None),
    ("POST", "/api/v1/reps"): (STAFF, None),
    ("GET", "/api/v1/reps"): (STAFF, None),
    ("GET", "/api/v1/reps/{rep_id}"): (OWN_REP, 403),
    ("PATCH", "/api/v1/reps/{rep_id}"): (OWN_REP, 403),
    ("POST", "/api/v1/reps/{rep_id}/out-of-office"): (OWN_REP, 403),
    ("DELETE", "/api/v1/reps/{rep_id}/out-of-office/{absence_id}"): (OWN_REP, 403),
    ("GET", "/api/v1/rulebook"): (STAFF, None),
    ("PUT", "/api/v1/rulebook"): (ADMIN, None),
    ("POST", "/api/v1/rulebook/validate"): (STAFF, None),
    ("GET", "/api/v1/rulebook/versions"): (STAFF, None),
    ("GET", "/api/v1/rulebook/versions/{version}"): (STAFF, None),
    ("POST", "/api/v1/rulebook/versions/{version}/activate"): (ADMIN, None),
    ("GET", "/api/v1/tokens"): (ADMIN, None),
    ("POST", "/api/v1/tokens"): (ADMIN, None),
    ("POST", "/api/v1/tokens/{token_id}/revoke"): (ADMIN, None),
    ("DELETE", "/api/v1/tokens/{token_id}"): (ADMIN, None),
    # lifecycle
    ("POST", "/api/v1/leads/{lead_id}/status"): (OWN_REP, 404),
    ("PATCH", "/api/v1/leads/{lead_id}"): (OWN_REP, 404),
    ("POST", "/api/v1/leads/{lead_id}/reassign"): (STAFF, None),
    ("POST", "/api/v1/leads/{lead_id}/reroute"): (STAFF, None),
    ("POST", "/api/v1/reps/{rep_id}/redistribute"): (STAFF, None),
    ("GET", "/api/v1/leads/{lead_id}/touches"): (OWN_REP, 404),
    ("GET", "/api/v1/leads/{lead_id}/sla"): (OWN_REP, 404),
    ("GET", "/api/v1/lifecycle/notifications"): (USERS, None),
    # pull: {name} is the blind queue both reps pull from
    ("GET", "/api/v1/queues"): (USERS, None),
    ("POST", "/api/v1/queues"): (ADMIN, None),
    ("GET", "/api/v1/queues/{name}"): (USERS, None),
    ("PUT", "/api/v1/queues/{name}"): (ADMIN, None),
    ("DELETE", "/api/v1/queues/{name}"): (ADMIN, None),
    ("GET", "/api/v1/queues/{name}/leads"): (USERS, None),
    ("GET", "/api/v1/queues/{name}/leads/{lead_id}"): (USERS, None),
    ("POST", "/api/v1/queues/{name}/claim-next"): (REPS, None),
    ("GET", "/api/v1/queues/{name}/stats"): (STAFF, None),
    ("GET", "/api/v1/claims"): (USERS, None),
    ("GET", "/api/v1/pull/alerts"): (STAFF, None),
    ("GET", "/api/v1/reps/{rep_id}/tier"): (OWN_REP, 403),
    ("PUT", "/api/v1/reps/{rep_id}/tier"): (STAFF, None),
    ("POST", "/api/v1/leads/{lead_id}/claim"): (REPS, None),
    ("POST", "/api/v1/leads/{lead_id}/release"): (USERS, 404),
    ("POST", "/api/v1/leads/{lead_id}/assign"): (STAFF, None),
    ("POST", "/api/v1/leads/{lead_id}/activities"): (OWN_REP, 404),
    ("GET", "/api/v1/leads/{lead_id}/activities"): (OWN_REP, 404),
    # offers and notifications: `me` views are a rep's own (staff have no rep id)
    ("GET", "/api/v1/me/offers"): (REPS, None),
    ("GET", "/api/v1/offers/{offer_id}"): (REPS, None),
    ("POST", "/api/v1/offers/{offer_id}/accept"): (REPS, None),
    ("POST", "/api/v1/offers/{offer_id}/decline"): (REPS, None),
    ("GET", "/api/v1/leads/{lead_id}/offers"): (STAFF, None),
    ("GET", "/api/v1/me/events"): (REPS, None),
    ("GET", "/api/v1/me/notifications"): (REPS, None),
    ("PUT", "/api/v1/me/notifications"): (REPS, None),
    ("POST", "/api/v1/webhooks"): (ADMIN, None),
    ("GET", "/api/v1/webhooks"): (ADMIN, None),
    ("DELETE", "/api/v1/webhooks/{endpoint_id}"): (ADMIN, None),
    ("GET", "/api/v1/outbox"): (STAFF, None),
    # metrics
    **{("GET", f"/api/v1/metrics{section}"): (STAFF, None) for section in (
        "", "/alerts", "/claim_rates", "/claims", "/conversion", "/distribution", "/export.csv",
        "/latency", "/queues", "/routing", "/sla", "/thresholds")},
    ("PUT", "/api/v1/metrics/thresholds"): (STAFF, None),
}
#: Endpoints that answer an endless stream to an allowed caller: only their refusals are
#: checked here (the stream itself: tests/e2e/test_rep_events_stream.py).
STREAMS = frozenset({("GET", "/api/v1/me/events")})

ROLES = ("intake", "other_rep", "rep", "manager", "admin")
BAD_CREDENTIALS = ("none", "garbage", "expired", "revoked")


def operations(client: TestClient) -> set[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}


def test_matrix_covers_every_endpoint(client: TestClient) -> None:
    assert operations(client) == set(MATRIX)


def _credentials(svc: Services, world: World, clock: FrozenClock) -> dict[str, dict[str, str]]:
    expiring, _ = auth.create_token(svc, auth.Role.ADMIN, name="soon",
                                    expires_at=clock.now() + timedelta(minutes=1))
    revoked, view = auth.create_token(svc, auth.Role.ADMIN, name="gone")
    auth.revoke_token(svc, view["id"])
    clock.advance(minutes=2)
    creds = {role: bearer(world.tokens[role]) for role in ROLES}
    creds.update({
        "none": {},
        "garbage": bearer("lf_" + "Q" * 43),
        "expired": bearer(expiring),
        "revoked": bearer(revoked),
    })
    return creds


def _fill(path: str, params: dict[str, Any]) -> str:
    return path.format(**params)


def _expected(allowed: Any, other: int | None, who: str) -> set[int] | None:
    """None: allowed (any answer but 401/403/5xx). Otherwise the exact set of statuses."""
    if allowed == PUBLIC:
        return None
    if who in BAD_CREDENTIALS:
        return {401}
    if who == "other_rep" and other is not None:
        return {other}
    return None if who in allowed else {403}


def test_every_endpoint_every_caller(client: TestClient, svc: Services, world: World,
                                     clock: FrozenClock) -> None:
    from leadflow.schemas import AbsenceIn

    absence = org.add_absence(svc, world.rep_a["id"], AbsenceIn(
        start=clock.now() + timedelta(days=1), end=clock.now() + timedelta(days=2)))
    _, victim = auth.create_token(svc, auth.Role.INTAKE, name="victim")
    creds = _credentials(svc, world, clock)
    params = {
        "lead_id": world.lead_a["id"],
        "rep_id": world.rep_a["id"],
        "absence_id": absence["id"],
        "name": "blind",
        "offer_id": 1,
        "endpoint_id": 1,
        "version": 1,
        "token_id": victim["id"],
    }
    # Valid bodies where a handler checks ownership after validating the body.
    bodies = {
        ("POST", "/api/v1/leads/{lead_id}/activities"): {"type": "called"},
        ("POST", "/api/v1/leads/{lead_id}/status"): {"status": "contacted"},
        ("POST", "/api/v1/reps/{rep_id}/out-of-office"): {
            "start": (clock.now() + timedelta(days=3)).isoformat(),
            "end": (clock.now() + timedelta(days=4)).isoformat(),
        },
    }
    # Staff re-routing rep A's lead could hand it to rep B and blur every later row:
    # re-route the queued lead instead (staff only, so no rep row depends on it).
    own_params = {("POST", "/api/v1/leads/{lead_id}/reroute"): {"lead_id": world.queued["id"]}}
    failures = []
    rep_answers: list[str] = []
    for (method, path), (allowed, other) in sorted(MATRIX.items()):
        url = _fill(path, {**params, **own_params.get((method, path), {})})
        body = {"json": bodies.get((method, path), {})} if method in ("POST", "PUT", "PATCH") \
            else {}
        for who in (*BAD_CREDENTIALS, *ROLES):
            want = _expected(allowed, other, who)
            if want is None and (method, path) in STREAMS:
                continue
            r = client.request(method, url, headers=creds[who], **body)
            ok = (r.status_code not in (401, 403) and r.status_code < 500) if want is None \
                else r.status_code in want
            if not ok:
                failures.append(f"{method} {path} as {who}: {r.status_code} (want "
                                f"{sorted(want) if want else 'allowed'}) {r.text[:120]}")
            if who in ("rep", "other_rep"):
                rep_answers.append(f"{who} {method} {path} -> {r.text}")
    assert not failures, "\n".join(failures)
    _assert_no_foreign_data(world, rep_answers)


def _assert_no_foreign_data(world: World, answers: list[str]) -> None:
    """What rep A sees never holds rep B's or the queue's data, and vice versa."""
    secrets_of = {
        "rep": [world.rep_b["email"], world.rep_b["name"], world.lead_b["email"],
                world.queued["email"]],
        "other_rep": [world.rep_a["email"], world.rep_a["name"], world.lead_a["email"],
                      world.queued["email"]],
    }
    # The blind queue's lead, before anyone claims it: every GET runs before the first
    # claim (sorted order), and the rep who loses the claim-next race is refused without it.
    blind = [world.blind["email"], "BlindCo"] if world.blind else []
    for answer in answers:
        who, method, path = answer.split(" ", 3)[:3]
        before_claim = method == "GET" or (who == "rep" and path.endswith("/claim-next"))
        for secret in secrets_of[who] + (blind if before_claim else []):
            assert secret not in answer, f"{secret!r} leaked to {who}: {answer[:200]}"


@pytest.mark.parametrize("who", ["rep", "other_rep"])
def test_rep_lists_only_their_own_leads(client: TestClient, world: World, who: str) -> None:
    own = world.lead_a if who == "rep" else world.lead_b
    mine = world.rep_a if who == "rep" else world.rep_b
    r = client.get("/api/v1/leads", headers=bearer(world.tokens[who]))
    assert [lead["id"] for lead in r.json()["items"]] == [own["id"]]
    # asking for someone else's explicitly is refused, not silently narrowed
    other = world.rep_b if who == "rep" else world.rep_a
    r = client.get(f"/api/v1/leads?owner={other['id']}", headers=bearer(world.tokens[who]))
    assert r.status_code == 403
    # filters cannot widen the view: the queued lead stays invisible
    r = client.get("/api/v1/leads?status=queued", headers=bearer(world.tokens[who]))
    assert r.json()["items"] == []
    assert mine["email"] in json.dumps(client.get(f"/api/v1/reps/{mine['id']}",
                                                  headers=bearer(world.tokens[who])).json())


def test_intake_token_learns_only_id_and_status(client: TestClient, world: World) -> None:
    r = client.post("/api/v1/leads", headers=bearer(world.tokens["intake"]),
                    json={"email": "new@p.example", "company": {"country": "FR"}})
    assert r.status_code == 201
    assert set(r.json()) == {"id", "status"}  # not the owner, nor the rule


def test_rep_cannot_raise_own_capacity(client: TestClient, world: World) -> None:
    r = client.patch(f"/api/v1/reps/{world.rep_a['id']}", headers=bearer(world.tokens["rep"]),
                     json={"capacity": {"max_open": 1000}})
    assert r.status_code == 403


def test_rep_sees_a_redacted_trace_staff_the_full_one(client: TestClient, world: World) -> None:
    url = f"/api/v1/leads/{world.lead_a['id']}/decisions"
    full = client.get(url, headers=bearer(world.tokens["manager"])).json()[-1]
    names = {c["name"] for st in full["trace"]["steps"] for c in st.get("candidates", [])}
    assert world.rep_b["name"] in names  # staff see every candidate considered
    mine = client.get(url, headers=bearer(world.tokens["rep"])).json()[-1]
    assert mine["trace"]["redacted"] is True
    assert [st["rule"] for st in mine["trace"]["steps"]] == [
        st["rule"] for st in full["trace"]["steps"]
    ]
    assert mine["rep_id"] == world.rep_a["id"] and mine["reason"] == full["reason"]


def test_blind_queue_shows_nothing_before_the_claim(client: TestClient, world: World) -> None:
    """Listing, details and the lost race of a blind queue never carry the lead's data."""
    assert world.blind is not None
    secrets = (world.blind["email"], "BlindCo", "blind-secret")
    rep, other = bearer(world.tokens["rep"]), bearer(world.tokens["other_rep"])
    listing = client.get("/api/v1/queues/blind/leads", headers=rep)
    assert listing.status_code == 200
    assert [set(item) for item in listing.json()["items"]] == [{"id", "age_seconds"}]
    details = client.get(f"/api/v1/queues/blind/leads/{world.blind['id']}", headers=rep)
    assert details.status_code in (403, 404, 409)
    peek = client.get(f"/api/v1/leads/{world.blind['id']}", headers=rep)
    assert peek.status_code == 404
    won = client.post(f"/api/v1/leads/{world.blind['id']}/claim", headers=other)
    assert won.status_code == 200 and won.json()["email"] == world.blind["email"]
    lost = client.post(f"/api/v1/leads/{world.blind['id']}/claim", headers=rep)
    assert lost.status_code in (404, 409)
    for answer in (listing, details, peek, lost):
        assert not any(secret in answer.text for secret in secrets), answer.text
        assert world.rep_b["name"] not in answer.text  # nor who took it
