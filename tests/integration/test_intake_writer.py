"""The intake writer process's protocol, with the writer run in a thread of this process on
a real SQLite file and a real Unix socket: what an HTTP process sends there is routed and
committed by the writer; without a writer, or when it goes away, nothing is lost."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from leadflow.errors import Unavailable, ValidationError
from leadflow.notify.broker import broker
from leadflow.schemas import LeadIn
from leadflow.services import decision_metrics, intake_writer, outbox, routing, rulebooks
from leadflow.services.context import Services
from leadflow.services.intake_channel import IntakeChannel
from leadflow.store.db import Database
from leadflow.testing import FrozenClock
from tests.integration.conftest import ROUND_ROBIN_FR, make_team


@dataclass
class Pair:
    front: Services  # the HTTP process's services, with its channel
    writer: Services  # the writer process's services
    path: Path


@pytest.fixture
def pair(tmp_path: Path, clock: FrozenClock) -> Iterator[Pair]:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    Database(url).upgrade()
    front, writer = Services(Database(url), clock), Services(Database(url), clock)
    path = tmp_path / "intake.sock"
    running = threading.Event()
    running.set()
    thread = threading.Thread(
        target=intake_writer.serve, args=(writer, path, running.is_set), daemon=True
    )
    thread.start()
    front.extras["intake_channel"] = IntakeChannel(str(path))
    yield Pair(front, writer, path)
    running.clear()
    thread.join(5)
    front.db.dispose()
    writer.db.dispose()


@pytest.fixture
def alone(tmp_path: Path, clock: FrozenClock) -> Iterator[Services]:
    """An HTTP process's services on SQLite with no writer started, team and rulebook set."""
    svc = Services(Database(f"sqlite:///{tmp_path / 'alone.db'}"), clock)
    svc.db.upgrade()
    make_team(svc, "france", 2)
    rulebooks.save(svc, ROUND_ROBIN_FR)
    yield svc
    svc.db.dispose()


def send(svc: Services, *leads: dict[str, Any], key: str | None = None) -> list[Any]:
    """POST-like intake of `leads`, concurrently on one event loop (as the API does)."""

    async def all_of() -> list[Any]:
        channel = svc.extras.get("intake_channel")
        try:
            return await asyncio.gather(
                *(
                    routing.intake_async(svc, LeadIn.model_validate(lead), idempotency_key=key)
                    for lead in leads
                ),
                return_exceptions=True,
            )
        finally:
            if channel is not None:
                await channel.close()

    return asyncio.run(all_of())


def jobs(svc: Services) -> int:
    found = svc.extras.get("group_commit")
    return found.jobs if found is not None else 0


def test_leads_sent_to_the_writer_are_routed_and_committed_there(pair: Pair) -> None:
    ids = make_team(pair.front, "france", 3)
    rulebooks.save(pair.front, ROUND_ROBIN_FR)
    answers = send(pair.front, *({"email": f"p{i}@p.example", "company": {"country": "FR"}}
                                 for i in range(9)))  # fmt: skip
    assert all(created for _, created in answers)
    owners = Counter(view["owner_rep_id"] for view, _ in answers)
    assert owners == {rep: 3 for rep in ids}  # exact turns: one writer did them in order
    assert jobs(pair.writer) == 9 and jobs(pair.front) == 0
    for view, _ in answers:
        assert routing.get_lead(pair.front, view["id"])["owner_rep_id"] == view["owner_rep_id"]
        assert routing.get_decisions(pair.front, view["id"])[-1]["id"] == view["decision_id"]


def test_a_repeated_external_id_is_answered_with_the_first_lead(pair: Pair) -> None:
    make_team(pair.front, "france", 2)
    rulebooks.save(pair.front, ROUND_ROBIN_FR)
    lead = {"external_id": "crm-1", "email": "a@p.example", "company": {"country": "FR"}}
    (first, created), = send(pair.front, lead)
    (again, created_again), = send(pair.front, lead)
    assert created and not created_again
    assert again["id"] == first["id"] and again["owner_rep_id"] == first["owner_rep_id"]
    assert len(routing.list_leads(pair.front)["items"]) == 1


def test_a_lead_the_writer_refuses_fails_in_the_http_process_as_itself(pair: Pair) -> None:
    make_team(pair.front, "france", 2)
    lifecycle = {"enrichment": {"enabled": True, "require_valid_phone": True}}
    book = yaml.safe_load(ROUND_ROBIN_FR) | {"lifecycle": lifecycle}
    rulebooks.save(pair.front, yaml.safe_dump(book))
    (error,) = send(pair.front, {"email": "a@p.example", "phone": "12"})
    assert isinstance(error, ValidationError) and error.field == "phone"
    assert routing.list_leads(pair.front)["items"] == []
    # The writer tried first and stored nothing; the HTTP process ran it again, to raise.
    assert jobs(pair.writer) == 1 and jobs(pair.front) == 1


def test_without_a_writer_the_http_process_routes_the_lead_itself(
    tmp_path: Path, alone: Services
) -> None:
    svc = alone
    svc.extras["intake_channel"] = IntakeChannel(str(tmp_path / "nobody.sock"))
    (view, created), = send(svc, {"email": "a@p.example", "company": {"country": "FR"}})
    assert created and view["owner_rep_id"] is not None
    assert jobs(svc) == 1


def test_a_writer_gone_mid_request_fails_it_with_503_then_leads_route_here(
    tmp_path: Path, alone: Services
) -> None:
    svc = alone
    path = tmp_path / "dying.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(1)

    def read_one_request_then_die() -> None:
        conn, _ = listener.accept()
        conn.recv(intake_writer.HEADER.size)
        conn.close()
        listener.close()

    threading.Thread(target=read_one_request_then_die, daemon=True).start()
    channel = IntakeChannel(str(path))
    svc.extras["intake_channel"] = channel
    lead = LeadIn(email="a@p.example", company={"country": "FR"})  # type: ignore[arg-type]

    async def twice() -> tuple[BaseException | None, Any]:
        try:
            await routing.intake_async(svc, lead, idempotency_key="k-1")
        except Unavailable as exc:
            lost: BaseException | None = exc
        else:
            lost = None
        # Within the retry delay, the next request is routed here, not sent anywhere.
        return lost, await routing.intake_async(svc, lead, idempotency_key="k-2")

    lost, (view, created) = asyncio.run(twice())
    assert isinstance(lost, Unavailable) and "Idempotency-Key" in lost.message
    assert created and jobs(svc) == 1
    assert [lead["id"] for lead in routing.list_leads(svc)["items"]] == [view["id"]]



def test_the_http_process_counts_the_decisions_the_writer_made(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/metrics` is served by the HTTP process: the writer sends its decisions back."""
    monkeypatch.setattr(decision_metrics, "counted_on_commit", False)  # as in the writer
    make_team(pair.front, "france", 2)
    rulebooks.save(pair.front, ROUND_ROBIN_FR)
    before = REGISTRY.get_sample_value(
        "leadflow_decisions_total", {"kind": "route", "outcome": "assigned"}
    ) or 0.0
    timings = "leadflow_routing_duration_seconds_count"
    timed = REGISTRY.get_sample_value(timings, {"kind": "route"}) or 0.0
    send(pair.front, *({"email": f"p{i}@p.example", "company": {"country": "FR"}}
                       for i in range(5)))  # fmt: skip
    assert REGISTRY.get_sample_value(
        "leadflow_decisions_total", {"kind": "route", "outcome": "assigned"}
    ) == before + 5
    assert REGISTRY.get_sample_value(timings, {"kind": "route"}) == timed + 5


def test_the_http_process_wakes_its_event_streams_for_the_writers_messages(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rep's live stream is served by the HTTP process; the writer's commit cannot wake
    it there, so the answer says when the lead left in-app messages."""
    # As in a process of its own: the writer's commits wake no stream here.
    monkeypatch.setattr(outbox, "_wake_streams", lambda s: s.info.pop("outbox_wakes_streams"))
    make_team(pair.front, "france", 2)
    rulebooks.save(pair.front, ROUND_ROBIN_FR)
    lead = LeadIn.model_validate({"email": "a@p.example", "company": {"country": "FR"}})

    async def woken() -> bool:
        with broker.listen() as wake:
            view, _ = await routing.intake_async(pair.front, lead)
            await asyncio.sleep(0)  # the wake-up is scheduled on this loop
            assert view["owner_rep_id"] is not None  # assigned: the rep is told in-app
            await pair.front.extras["intake_channel"].close()
            return wake.is_set()

    assert asyncio.run(woken())


def test_a_malformed_frame_closes_its_connection_and_the_writer_keeps_serving(
    pair: Pair,
) -> None:
    make_team(pair.front, "france", 2)
    rulebooks.save(pair.front, ROUND_ROBIN_FR)
    with socket.socket(socket.AF_UNIX) as rogue:
        rogue.connect(str(pair.path))
        rogue.sendall(intake_writer.HEADER.pack(7, 1, 0) + b"garbage")
        rogue.settimeout(5)
        assert rogue.recv(1) == b""  # closed, nothing answered
    (view, created), = send(pair.front, {"email": "a@p.example", "company": {"country": "FR"}})
    assert created and view["owner_rep_id"] is not None and jobs(pair.writer) == 1
