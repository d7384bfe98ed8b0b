"""Wakes this process's event streams as soon as a transaction with in-app messages commits.

Only a latency optimisation: streams also poll the database, so messages written by
another process (a worker, another API instance) arrive within the poll interval.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Broker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        """Callable from any thread (commits happen in worker threads)."""
        with self._lock:
            listeners = list(self._listeners)
        for loop, event in listeners:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    @contextmanager
    def listen(self) -> Iterator[asyncio.Event]:
        """An event set on every notify. Registered before the caller reads the database,
        so a commit between that read and the wait is never missed (clear, read, wait)."""
        key = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._listeners.add(key)
        try:
            yield key[1]
        finally:
            with self._lock:
                self._listeners.discard(key)


async def wait(event: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
        return True
    except TimeoutError:
        return False


broker = Broker()
