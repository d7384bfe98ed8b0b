"""The per-process reader behind the reps' event streams."""

from __future__ import annotations

import asyncio
import threading

import pytest

from leadflow.api.streams import StreamHub
from leadflow.services.context import Services
from leadflow.services.outbox import INAPP, enqueue
from tests.integration.offer_helpers import make_team


def _write(svc: Services, rep_id: int, text: str) -> None:
    with svc.db.write() as s:
        enqueue(s, "note", INAPP, {"text": text}, svc.clock.now(), rep_id=rep_id)


def test_each_rep_gets_only_their_messages(svc: Services) -> None:
    """Two reps subscribed: each queue receives its own rep's messages, in order."""
    a, b = make_team(svc, 2)

    async def scenario() -> tuple[list[str], list[str]]:
        hub = StreamHub(svc)
        with hub.subscribe(a) as sa, hub.subscribe(b) as sb:
            await hub.ready()
            for text, rep in (("a1", a), ("b1", b), ("a2", a)):
                await asyncio.to_thread(_write, svc, rep, text)
            got_a = [(await asyncio.wait_for(sa.queue.get(), 5))["data"]["text"] for _ in range(2)]
            got_b = [(await asyncio.wait_for(sb.queue.get(), 5))["data"]["text"]]
            return got_a, got_b

    assert asyncio.run(scenario()) == (["a1", "a2"], ["b1"])


@pytest.mark.postgres
def test_a_message_committed_after_a_higher_id_is_not_lost(svc: Services) -> None:
    """PostgreSQL: id 1 commits after id 2; the hub still delivers both."""
    if svc.db.is_sqlite:
        pytest.skip("SQLite commits writers one at a time, in id order")
    (a,) = make_team(svc, 1)
    inserted, release = threading.Event(), threading.Event()

    def slow() -> None:
        with svc.db.write() as s:
            enqueue(s, "note", INAPP, {"text": "slow"}, svc.clock.now(), rep_id=a)
            s.flush()  # the id is taken now, visible only at commit
            inserted.set()
            release.wait(10)

    async def scenario() -> list[str]:
        hub = StreamHub(svc)
        with hub.subscribe(a) as sub:
            await hub.ready()
            t = threading.Thread(target=slow)
            t.start()
            await asyncio.to_thread(inserted.wait, 10)
            await asyncio.to_thread(_write, svc, a, "fast")
            first = await asyncio.wait_for(sub.queue.get(), 5)
            release.set()
            await asyncio.to_thread(t.join, 10)
            second = await asyncio.wait_for(sub.queue.get(), 5)
            assert second["id"] < first["id"]
            return [first["data"]["text"], second["data"]["text"]]

    assert asyncio.run(scenario()) == ["fast", "slow"]
