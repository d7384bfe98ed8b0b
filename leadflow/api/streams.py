"""One database reader per process for every open rep event stream.

Streams subscribe by rep; the hub reads new outbox rows once (woken right after a local
commit, else every second) and hands each in-app message to its rep's streams. On
PostgreSQL ids are taken before commit, so a lower id can become visible after a higher
one: the hub keeps such missing ids as gaps and reads them again until they appear or
`GAP_SECONDS` pass (a rolled-back insert never appears).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi.concurrency import run_in_threadpool

from leadflow.notify.broker import broker, wait
from leadflow.services import outbox
from leadflow.services.context import Services

log = logging.getLogger("leadflow.streams")

POLL_SECONDS = 1.0
GAP_SECONDS = 10.0
READ_LIMIT = 500
QUEUE_SIZE = 1000
MAX_STREAMS_PER_REP = 5  # tabs and devices; more is a leak or abuse


@dataclass(eq=False)
class Subscription:
    rep_id: int
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False  # a client too slow to keep up: its stream ends, it reconnects


class StreamHub:
    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._subs: dict[int, set[Subscription]] = {}
        self._cursor: int | None = None
        self._gaps: dict[int, float] = {}  # missing id → give up waiting at (monotonic)
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()

    @contextmanager
    def subscribe(self, rep_id: int) -> Iterator[Subscription]:
        sub = Subscription(rep_id)
        self._subs.setdefault(rep_id, set()).add(sub)
        if self._task is None or self._task.done():
            self._started = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            yield sub
        finally:
            subs = self._subs.get(rep_id, set())
            subs.discard(sub)
            if not subs:
                self._subs.pop(rep_id, None)

    def open_streams(self, rep_id: int) -> int:
        return len(self._subs.get(rep_id, ()))

    async def ready(self) -> None:
        """Until the hub has its starting point: messages after it will be delivered."""
        await self._started.wait()

    async def _run(self) -> None:
        with broker.listen() as wake:
            while self._subs:
                wake.clear()
                try:
                    await self._tick()
                except Exception:  # a failed read must not end every stream; retry next tick
                    log.exception("event stream read failed")
                self._started.set()
                await wait(wake, POLL_SECONDS)
        self._cursor = None  # restart from "now" when streams come back
        self._gaps.clear()

    async def _tick(self) -> None:
        more = True
        while more:
            before = self._cursor
            cursor, items, seen = await run_in_threadpool(
                outbox.inapp_since, self.svc, before, sorted(self._gaps), READ_LIMIT
            )
            self._track_gaps(before, cursor, seen)
            self._cursor = cursor
            for item in items:
                self._dispatch(item)
            more = len(seen) == READ_LIMIT

    def _track_gaps(self, before: int | None, cursor: int, seen: list[int]) -> None:
        now = time.monotonic()
        for i in seen:
            self._gaps.pop(i, None)
        if before is not None:
            present = set(seen)
            for i in range(before + 1, cursor):
                if i not in present:
                    self._gaps.setdefault(i, now + GAP_SECONDS)
        for i, deadline in list(self._gaps.items()):
            if deadline < now:
                del self._gaps[i]

    def _dispatch(self, item: dict[str, Any]) -> None:
        for sub in list(self._subs.get(item["rep_id"], ())):
            try:
                sub.queue.put_nowait(item)
            except asyncio.QueueFull:
                sub.overflowed = True
                with contextlib.suppress(KeyError):
                    self._subs[sub.rep_id].discard(sub)


def hub_for(state: Any, svc: Services) -> StreamHub:
    """The app's hub (created on first use, inside the server's event loop)."""
    hub = getattr(state, "event_hub", None)
    if not isinstance(hub, StreamHub) or hub.svc is not svc:
        hub = StreamHub(svc)
        state.event_hub = hub
    return hub
