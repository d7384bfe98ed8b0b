"""End to end: the real server over real HTTP, from an empty database to explained decisions."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import Server

RULEBOOK = """
rules:
  - name: existing accounts
    when: {account.matched: true}
    assign: {method: account_owner}
  - name: france
    when: {company.country: {in: [FR, BE]}}
    assign: {team: france, method: round_robin}
fallback:
  queue: unassigned
"""


def setup_org(api: httpx.Client) -> list[int]:
    assert api.post("/teams", json={"name": "france"}).status_code == 201
    ids = []
    for name in ("ana", "bo", "cy"):
        answer = api.post(
            "/reps",
            json={"name": name.title(), "email": f"{name}@x.example", "teams": ["france"]},
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    account = {"name": "Acme", "domains": ["acme.com"], "owner_rep_id": ids[2]}
    assert api.post("/accounts", json=account).status_code == 201
    put = api.put("/rulebook", content=RULEBOOK, headers={"Content-Type": "application/yaml"})
    assert put.status_code == 200, put.text
    return ids


def post_lead(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    answer = api.post("/leads", json=fields)
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_full_flow_over_http(server: Server) -> None:
    """Org and rulebook over HTTP; leads routed by rotation and by account; decisions read."""
    with server.client() as api:
        ids = setup_org(api)
        fr = [post_lead(api, company={"country": "FR"}) for _ in range(3)]
        assert [x["owner_rep_id"] for x in fr] == ids
        acme = post_lead(api, email="jane@acme.com", company={"country": "FR"})
        assert (acme["owner_rep_id"], acme["rule"]) == (ids[2], "existing accounts")
        other = post_lead(api, company={"country": "US"})
        assert (other["status"], other["queue"]) == ("queued", "unassigned")

        decisions = api.get(f"/leads/{fr[1]['id']}/decisions").json()
        assert len(decisions) == 1
        trace = decisions[0]["trace"]
        assert trace["outcome"]["rep_id"] == ids[1]
        assert trace["steps"][0]["matched"] is False  # no account
        assert trace["steps"][1]["method"] == "round_robin"
        assert {c["rep_id"] for c in trace["steps"][1]["candidates"]} == set(ids)

        page = api.get("/leads", params={"limit": 2}).json()
        assert [x["id"] for x in page["items"]] == [other["id"], acme["id"]]
        assert api.get("/leads", params={"owner": ids[0]}).json()["items"][0]["id"] == fr[0]["id"]

        stored = len(api.get("/leads", params={"limit": 500}).json()["items"])
        dry = api.post("/route/dry-run", json={"company": {"country": "BE"}}).json()
        assert dry["owner_rep_id"] == ids[0]
        assert len(api.get("/leads", params={"limit": 500}).json()["items"]) == stored


def test_bad_requests_over_http(server: Server) -> None:
    """401 without a token, 422 naming the field, 413 over 1 MB — over the real socket;
    nothing stored by any of them."""
    with server.client() as api:
        stored = api.get("/leads").json()["items"]
        assert httpx.post(f"{server.url}/api/v1/leads", json={}).status_code == 401
        bad = api.post("/leads", json={"company": {"country": "Francia"}})
        assert bad.status_code == 422
        assert bad.json()["detail"]["errors"][0]["field"] == "company.country"
        huge = api.post(
            "/leads", content=b" " * 1_100_000, headers={"Content-Type": "application/json"}
        )
        assert huge.status_code == 413
        assert api.get("/leads").json()["items"] == stored


def test_accepted_leads_and_the_rotation_survive_a_killed_server(own_server: Server) -> None:
    """SIGKILL after two answers: on restart both leads are there and the turn continues."""
    server = own_server
    with server.client() as api:
        ids = setup_org(api)
        before = [post_lead(api, company={"country": "FR"}) for _ in range(2)]
    server.kill()
    server.start()
    with server.client() as api:
        for lead in before:
            assert api.get(f"/leads/{lead['id']}").json()["owner_rep_id"] == lead["owner_rep_id"]
        after = post_lead(api, company={"country": "FR"})
        assert [x["owner_rep_id"] for x in [*before, after]] == ids


def _writer_pid(server: Server) -> int | None:
    """The intake writer process `leadflow serve` started beside itself (SQLite)."""
    assert server.process is not None
    for child in Path(f"/proc/{server.process.pid}/task").glob("*/children"):
        for pid in child.read_text().split():
            if b"intake-writer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return int(pid)
    return None


def test_leads_keep_their_turns_when_the_intake_writer_is_killed(own_server: Server) -> None:
    """`serve` on SQLite routes through its writer process; SIGKILL it, and intake goes on
    (in the HTTP process, then in a restarted writer) with the rotation intact."""
    server = own_server
    first = _writer_pid(server)
    assert first is not None
    with server.client() as api:
        ids = setup_org(api)
        owners = [post_lead(api, company={"country": "FR"})["owner_rep_id"] for _ in range(3)]
        os.kill(first, signal.SIGKILL)
        # Gone, not merely signalled: a zombie's other threads may still hold its sockets.
        while Path(f"/proc/{first}").exists():  # `serve` reaps it at once
            time.sleep(0.01)
        owners += [post_lead(api, company={"country": "FR"})["owner_rep_id"] for _ in range(3)]
        deadline = time.monotonic() + 20
        while _writer_pid(server) in (None, first) and time.monotonic() < deadline:
            time.sleep(0.1)
        restarted = _writer_pid(server)
        owners += [post_lead(api, company={"country": "FR"})["owner_rep_id"] for _ in range(3)]
        assert len(api.get("/leads", params={"limit": 50}).json()["items"]) == 9
    assert restarted not in (None, first)
    assert owners == ids * 3
