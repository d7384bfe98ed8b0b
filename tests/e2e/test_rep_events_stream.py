"""The rep's server-sent event stream over real HTTP (uvicorn), on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import auth, org, routing, rulebooks
from leadflow.services.context import Services
from leadflow.testing.live_server import live_server

RULEBOOK = """
rules:
  - name: sales
    assign: {team: sales, method: round_robin}
fallback:
  queue: unassigned
"""


def read_events(lines: Iterator[str], count: int) -> list[dict[str, Any]]:
    """Parse `count` events from an SSE line stream (comments and retry skipped)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in lines:
        if line == "":
            if "data" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        elif line.startswith(("id:", "event:", "data:")):
            key, _, value = line.partition(":")
            current[key] = json.loads(value) if key == "data" else value.strip()
    return events


@pytest.fixture
def rep_setup(svc: Services) -> tuple[int, str]:
    org.create_team(svc, TeamIn(name="sales"))
    rep = org.create_rep(svc, RepIn(name="Ana", email="ana@x.example", teams=["sales"]))
    rep_id = int(rep["id"])
    rulebooks.save(svc, RULEBOOK)
    token, _ = auth.create_token(svc, auth.Role.REP, rep_id=rep_id)
    return rep_id, token


class TestEventStream:
    def test_assigned_lead_arrives_live_and_resumes_after_last_id(
        self, svc: Services, rep_setup: tuple[int, str]
    ) -> None:
        """A lead assigned after connecting arrives as an event; a reconnect with
        Last-Event-ID replays only what came after."""
        _, token = rep_setup
        headers = {"Authorization": f"Bearer {token}"}
        with live_server(svc) as base, httpx.Client(base_url=base, timeout=10) as client:
            with client.stream("GET", "/api/v1/me/events", headers=headers) as resp:
                assert resp.status_code == 200
                assert resp.headers["content-type"].startswith("text/event-stream")
                lines = resp.iter_lines()
                first = routing.intake(svc, LeadIn(email="a@p.example", company={"name": "A"}))[0]
                (event,) = read_events(lines, 1)
            assert event["event"] == "lead.assigned"
            assert event["data"]["lead"]["id"] == first["id"]
            assert event["data"]["message_id"]
            routing.intake(svc, LeadIn(email="b@p.example", company={"name": "B"}))
            resumed = {**headers, "Last-Event-ID": event["id"]}
            with client.stream("GET", "/api/v1/me/events", headers=resumed) as resp:
                (again,) = read_events(resp.iter_lines(), 1)
            assert again["data"]["lead"]["company"]["name"] == "B"
            assert int(again["id"]) > int(event["id"])

    def test_stream_needs_a_rep_token(self, svc: Services, rep_setup: tuple[int, str]) -> None:
        """No token → 401; a staff token has no stream of its own → 403."""
        staff, _ = auth.create_token(svc, auth.Role.MANAGER)
        with live_server(svc) as base, httpx.Client(base_url=base, timeout=10) as client:
            assert client.get("/api/v1/me/events").status_code == 401
            r = client.get("/api/v1/me/events", headers={"Authorization": f"Bearer {staff}"})
            assert r.status_code == 403
            bad = {"Authorization": f"Bearer {rep_setup[1]}", "Last-Event-ID": "x"}
            r = client.get("/api/v1/me/events", headers=bad)
            assert r.status_code == 422 and "Last-Event-ID" in r.text

    def test_a_rep_may_hold_at_most_five_streams(
        self, svc: Services, rep_setup: tuple[int, str]
    ) -> None:
        """The sixth concurrent stream of one rep is refused with 429; closing one frees it."""
        headers = {"Authorization": f"Bearer {rep_setup[1]}"}
        with (
            live_server(svc) as base,
            httpx.Client(base_url=base, timeout=10) as client,
            contextlib.ExitStack() as streams,
        ):
            opened = []
            for _ in range(5):
                resp = streams.enter_context(
                    client.stream("GET", "/api/v1/me/events", headers=headers)
                )
                lines = resp.iter_lines()  # dropping the iterator would close the stream
                assert next(lines) == "retry: 2000"
                opened.append((resp, lines))
            r = client.get("/api/v1/me/events", headers=headers)
            assert r.status_code == 429 and "at most 5" in r.text
            opened[0][0].close()
            for _ in range(50):  # the server notices the closed connection
                with client.stream("GET", "/api/v1/me/events", headers=headers) as again:
                    if again.status_code == 200:
                        break
                time.sleep(0.1)
            assert again.status_code == 200
