"""Offers over real HTTP (uvicorn) on SQLite and PostgreSQL: rep-only access, the
20-way accept race, and the offer arriving on the rep's event stream."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from leadflow.services import auth
from leadflow.services.context import Services
from leadflow.testing.live_server import live_server
from tests.e2e.test_rep_events_stream import read_events
from tests.integration.offer_helpers import make_team, new_lead, offer_rulebook, pending


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def server(svc: Services) -> Iterator[str]:
    with live_server(svc) as base:
        yield base


def rep_tokens(svc: Services, rep_ids: list[int]) -> dict[int, str]:
    return {r: auth.create_token(svc, auth.Role.REP, rep_id=r)[0] for r in rep_ids}


class TestOfferApi:
    def test_rep_sees_declines_and_others_cannot_touch(self, svc: Services, server: str) -> None:
        """A's offer: B gets 404; A lists it, declines with a reason; B is offered next."""
        a, b = make_team(svc, 2)
        tokens = rep_tokens(svc, [a, b])
        offer_rulebook(svc, "{team: sales, mode: cascade, timeout: 2m}")
        lead = new_lead(svc)
        with httpx.Client(base_url=server, timeout=10) as c:
            mine = c.get("/api/v1/me/offers", headers=bearer(tokens[a])).json()
            assert [o["lead_id"] for o in mine] == [lead["id"]]
            assert mine[0]["lead"]["company"]["name"] == "Co 1"
            oid = mine[0]["id"]
            assert c.get("/api/v1/me/offers", headers=bearer(tokens[b])).json() == []
            r = c.post(f"/api/v1/offers/{oid}/accept", headers=bearer(tokens[b]))
            assert r.status_code == 404
            r = c.post(
                f"/api/v1/offers/{oid}/decline", headers=bearer(tokens[a]), json={"reason": "busy"}
            )
            assert r.status_code == 200 and r.json()["reason"] == "busy"
            too_long = {"reason": "x" * 501}
            r = c.post(f"/api/v1/offers/{oid}/decline", headers=bearer(tokens[a]), json=too_long)
            assert r.status_code == 422
            r = c.post(f"/api/v1/offers/{oid}/decline", headers=bearer(tokens[a]))
            assert r.status_code == 409 and "already declined" in r.text
            assert [
                o["rep_id"] for o in c.get("/api/v1/me/offers", headers=bearer(tokens[b])).json()
            ] == [b]
            staff = auth.create_token(svc, auth.Role.MANAGER)[0]
            history = c.get(f"/api/v1/leads/{lead['id']}/offers", headers=bearer(staff)).json()
            assert [o["status"] for o in history[0]["offers"]] == ["declined", "pending"]
            r = c.get(f"/api/v1/leads/{lead['id']}/offers", headers=bearer(tokens[a]))
            assert r.status_code == 403

    def test_twenty_reps_accepting_at_once_over_http(self, svc: Services, server: str) -> None:
        """One 200 and 19 answers of 409 'already taken' for the same broadcast."""
        ids = make_team(svc, 20)
        tokens = rep_tokens(svc, ids)
        offer_rulebook(svc, "{team: sales, mode: broadcast, timeout: 2m}")
        lead = new_lead(svc)
        by_rep = {o.rep_id: o.id for o in pending(svc, lead["id"])}
        start = threading.Barrier(len(ids))
        answers: dict[int, httpx.Response] = {}

        def take(rep_id: int) -> None:
            with httpx.Client(base_url=server, timeout=30) as c:
                start.wait()
                answers[rep_id] = c.post(
                    f"/api/v1/offers/{by_rep[rep_id]}/accept", headers=bearer(tokens[rep_id])
                )

        threads = [threading.Thread(target=take, args=(r,)) for r in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        codes = sorted(r.status_code for r in answers.values())
        assert codes == [200] + [409] * 19
        refused = [r.json() for r in answers.values() if r.status_code == 409]
        assert all("already taken" in str(body) for body in refused)


class TestOfferStream:
    def test_offer_arrives_on_the_reps_stream_then_is_withdrawn(
        self, svc: Services, server: str
    ) -> None:
        """Broadcast to A and B: both streams get offer.made; B accepts; A is told."""
        a, b = make_team(svc, 2)
        tokens = rep_tokens(svc, [a, b])
        offer_rulebook(svc, "{team: sales, mode: broadcast, timeout: 2m}")
        with (
            httpx.Client(base_url=server, timeout=10) as c,
            c.stream("GET", "/api/v1/me/events", headers=bearer(tokens[a])) as stream,
        ):
            lines = stream.iter_lines()
            new_lead(svc)
            (made,) = read_events(lines, 1)
            assert made["event"] == "offer.made"
            (o,) = c.get("/api/v1/me/offers", headers=bearer(tokens[b])).json()
            r = c.post(f"/api/v1/offers/{o['id']}/accept", headers=bearer(tokens[b]))
            assert r.status_code == 200
            (gone,) = read_events(lines, 1)
        assert gone["event"] == "offer.withdrawn"
        assert gone["data"]["offer_id"] == made["data"]["offer_id"]


class TestSettingsApi:
    def test_rep_chooses_channels_and_bad_input_names_the_field(
        self, svc: Services, server: str
    ) -> None:
        """PUT /me/notifications validates event names, channels and the Slack URL."""
        (a,) = make_team(svc, 1)
        token = rep_tokens(svc, [a])[a]
        with httpx.Client(base_url=server, timeout=10) as c:
            url = "/api/v1/me/notifications"
            r = c.put(
                url, headers=bearer(token), json={"channels": {"offer.made": ["inapp", "email"]}}
            )
            assert r.status_code == 200 and r.json()["channels"]["offer.made"] == ["email", "inapp"]
            r = c.put(url, headers=bearer(token), json={"channels": {"offer.mde": ["email"]}})
            assert r.status_code == 422 and "offer.mde" in r.text
            r = c.put(url, headers=bearer(token), json={"channels": {"hot": ["slack"]}})
            assert r.status_code == 422 and "slack_url" in r.text
            r = c.put(url, headers=bearer(token), json={"channels": {"hot": ["sms"]}})
            assert r.status_code == 422
            assert c.get(url, headers=bearer(token)).json()["channels"]["hot"] == []

    def test_admin_registers_a_webhook_and_gets_its_secret_once(
        self, svc: Services, server: str
    ) -> None:
        """The secret is in the creation answer only; other roles cannot register."""
        admin = auth.create_token(svc, auth.Role.ADMIN)[0]
        manager = auth.create_token(svc, auth.Role.MANAGER)[0]
        body = {"name": "crm", "url": "http://127.0.0.1:9/in", "events": ["offer.made"]}
        with httpx.Client(base_url=server, timeout=10) as c:
            assert c.post("/api/v1/webhooks", headers=bearer(manager), json=body).status_code == 403
            r = c.post("/api/v1/webhooks", headers=bearer(admin), json=body)
            assert r.status_code == 201 and r.json()["secret"].startswith("whsec_")
            listed = c.get("/api/v1/webhooks", headers=bearer(admin)).json()
            assert "secret" not in listed[0]
            bad = {**body, "name": "x", "url": "ftp://nope"}
            r = c.post("/api/v1/webhooks", headers=bearer(admin), json=bad)
            assert r.status_code == 422 and "url" in r.text
            bad = {**body, "name": "y", "events": ["lead.exploded"]}
            assert c.post("/api/v1/webhooks", headers=bearer(admin), json=bad).status_code == 422
