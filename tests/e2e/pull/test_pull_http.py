"""Pull distribution over real HTTP: configure, list, claim, race, act, assign."""

from __future__ import annotations

import time

import pytest

from tests.e2e.pull.conftest import Live

SECRETS = ("SecretCorp", "secretcorp", "jane", "software", "Doe")


def _make_blind_queue(live: Live) -> list[int]:
    with live.client("admin") as admin:
        made = admin.post("/queues", json={"name": "blindq", "mode": "blind", "team": "inbound"})
        assert made.status_code == 201, made.text
        book = "rules: []\nfallback:\n  queue: {name: blindq}\n"
        put = admin.put("/rulebook", content=book, headers={"content-type": "application/yaml"})
        assert put.status_code == 200, put.text
        ids = []
        for n in range(2):
            lead = {
                "email": f"jane{n}@secretcorp.example",
                "last_name": "Doe",
                "company": {"name": "SecretCorp", "industry": "software"},
            }
            ids.append(admin.post("/leads", json=lead).json()["id"])
    return ids


class TestHttp:
    def test_blind_queue_leaks_nothing_over_http(self, live: Live) -> None:
        """Listing, searching, opening and losing a race: no response body names the lead."""
        ids = _make_blind_queue(live)
        bodies = []
        with live.client("r0") as r0, live.client("r1") as r1:
            listing = r1.get("/queues/blindq/leads")
            assert listing.status_code == 200 and listing.json()["count"] == 2
            bodies.append(listing.text)
            search = r1.get("/queues/blindq/leads", params={"q": "Secret"})
            assert search.status_code == 422
            bodies.append(search.text)
            peek = r1.get(f"/queues/blindq/leads/{ids[0]}")
            assert peek.status_code == 409
            bodies.append(peek.text)
            bodies.append(r1.get(f"/leads/{ids[0]}").text)  # not theirs: 404
            won = r0.post(f"/leads/{ids[0]}/claim")
            assert won.status_code == 200 and won.json()["company"]["name"] == "SecretCorp"
            lost = r1.post(f"/leads/{ids[0]}/claim")
            assert lost.status_code == 409
            assert lost.json()["detail"]["message"] == f"lead {ids[0]} is not available to claim"
            bodies.append(lost.text)
        joined = " ".join(bodies)
        assert [s for s in SECRETS if s in joined] == []
        assert "R0" not in joined

    def test_queue_admin_is_for_admins(self, live: Live) -> None:
        with live.client("r0") as rep, live.client("manager") as boss:
            assert rep.post("/queues", json={"name": "x", "mode": "pool"}).status_code == 403
            assert boss.post("/queues", json={"name": "x", "mode": "pool"}).status_code == 403
            assert rep.get("/queues").status_code == 200  # policies are visible to reps

    def test_bad_queue_body_names_the_field(self, live: Live) -> None:
        with live.client("admin") as admin:
            bad = admin.post("/queues", json={"name": "Bad Name!", "mode": "pool"})
            assert bad.status_code == 422
            assert bad.json()["detail"]["errors"][0]["field"] == "name"
            bad = admin.post("/queues", json={"name": "q", "mode": "pool", "lease_minutes": 0})
            assert bad.json()["detail"]["errors"][0]["field"] == "lease_minutes"
            assert admin.get("/queues").json()[-1]["name"] == "unassigned"  # nothing stored

    def test_claim_next_activity_release_and_assign(self, live: Live) -> None:
        ids = _make_blind_queue(live)
        with live.client("r2") as r2, live.client("manager") as boss:
            got = r2.post("/queues/blindq/claim-next")
            assert got.status_code == 200 and got.json()["id"] == ids[0]
            [held] = r2.get("/claims").json()
            assert held["lead_id"] == ids[0] and held["state"] == "held"
            bad = r2.post(f"/leads/{ids[0]}/activities", json={"type": "danced"})
            assert bad.status_code == 422
            assert bad.json()["detail"]["errors"][0]["field"] == "type"
            act = r2.post(f"/leads/{ids[0]}/activities", json={"type": "called", "note": "hi"})
            assert act.status_code == 201 and act.json()["lead_status"] == "contacted"
            assert r2.post(f"/leads/{ids[0]}/release").status_code == 404  # lease over
            assigned = boss.post(f"/leads/{ids[1]}/assign", json={"rep_id": live.pull.reps[3]})
            assert assigned.status_code == 200
            assert assigned.json()["owner_rep_id"] == live.pull.reps[3]
            assert r2.post(f"/leads/{ids[1]}/assign", json={"rep_id": 1}).status_code == 403

    def test_tiers_over_http(self, live: Live) -> None:
        _make_blind_queue(live)
        rep_id = live.pull.reps[1]
        with live.client("manager") as boss, live.client("r1") as r1:
            assert boss.put(f"/reps/{rep_id}/tier", json={"tier": "new"}).status_code == 200
            assert r1.get(f"/reps/{rep_id}/tier").json() == {
                "rep_id": rep_id,
                "tier": "new",
                "pulls": False,
            }
            refused = r1.post("/queues/blindq/claim-next")
            assert refused.status_code == 403
            assert "receive leads by automatic assignment" in refused.json()["detail"]["message"]


@pytest.mark.server_timers
def test_server_runs_lease_expiry_itself(live: Live) -> None:
    """`leadflow serve` runs due timers by default: a short lease ends, the lead returns."""
    with live.client("admin") as admin, live.client("r0") as r0:
        spec = {"name": "quick", "mode": "pool", "team": "inbound", "lease_minutes": 0.01}
        assert admin.post("/queues", json=spec).status_code == 201
        book = "rules: []\nfallback:\n  queue: {name: quick}\n"
        admin.put("/rulebook", content=book, headers={"content-type": "application/yaml"})
        lead = admin.post("/leads", json={"email": "x@corp.example"}).json()["id"]
        assert r0.post(f"/leads/{lead}/claim").status_code == 200
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if admin.get(f"/leads/{lead}").json()["status"] == "queued":
                break
            time.sleep(0.1)
        kinds = [d["kind"] for d in admin.get(f"/leads/{lead}/decisions").json()]
        assert kinds == ["route", "claim", "return"]
