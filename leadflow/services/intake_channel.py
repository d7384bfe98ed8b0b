"""An HTTP process's line to the intake writer (`leadflow.services.intake_writer`).

One Unix-socket connection per process, shared by every request of its event loop:
requests are written as they come, answers are matched back by sequence number.

When no writer is reachable (not started, restarting), `submit` returns None at once and
the caller routes the lead in this process, as it does without a writer: SQLite still
serialises the writers, so nothing is lost or doubled, only slower. A connection is tried
again at most once a second. A request already handed to a writer that then goes away
may or may not have been committed: it fails with `Unavailable` (HTTP 503), which a client
retries safely with its `Idempotency-Key`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from datetime import datetime
from typing import Any

from leadflow.errors import Unavailable
from leadflow.services.intake_writer import HEADER, MAX_FRAME, encode_request

log = logging.getLogger("leadflow.intake_writer")

RETRY_S = 1.0
CONNECT_TIMEOUT_S = 1.0

PEEK = socket.MSG_PEEK | socket.MSG_DONTWAIT
Answer = tuple[int, bytes]  # (kind, payload): see intake_writer's kinds


class IntakeChannel:
    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: asyncio.StreamWriter | None = None
        self._sock: socket.socket | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, asyncio.Future[Answer]] = {}
        self._seq = itertools.count(1)
        self._retry_at = 0.0
        self._connecting: asyncio.Lock | None = None

    async def submit(
        self, doc: dict[str, Any], external_id: str | None, key: str | None, actor: str,
        now: datetime,
    ) -> Answer | None:  # fmt: skip
        """The writer's answer for this lead, or None when no writer can take it."""
        loop = asyncio.get_running_loop()
        if self._writer is not None and self._loop is loop and self._peer_closed():
            self._drop("the intake writer went away")
            self._retry_at = loop.time() + RETRY_S
        if (self._writer is None or self._loop is not loop) and not await self._connect(loop):
            return None
        assert self._writer is not None
        seq = next(self._seq) & 0xFFFFFFFF
        try:
            frame = encode_request(seq, doc, external_id, key, actor, now)
        except TypeError:  # a value orjson cannot write (an integer past 64 bits)
            return None
        answer: asyncio.Future[Answer] = loop.create_future()
        self._pending[seq] = answer
        self._writer.write(frame)
        return await answer

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> bool:
        if self._loop is not loop:  # a new event loop (tests): start over on it
            self._drop("event loop changed")
            self._loop, self._connecting, self._retry_at = loop, asyncio.Lock(), 0.0
        assert self._connecting is not None
        async with self._connecting:
            if self._writer is not None:
                return True
            if loop.time() < self._retry_at:
                return False
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(sock, self.path), CONNECT_TIMEOUT_S)
                reader, writer = await asyncio.open_unix_connection(sock=sock)
            except (OSError, TimeoutError):
                sock.close()
                self._retry_at = loop.time() + RETRY_S
                return False
            self._sock, self._writer = sock, writer
            self._reader_task = loop.create_task(self._read(reader, writer))
            return True

    def _peer_closed(self) -> bool:
        """Whether the writer has closed its end, even if this loop has not yet read the
        end of the stream: a request sent now would be lost for certain (a writer killed
        while idle must not cost the next request a 503)."""
        try:
            return self._sock is not None and self._sock.recv(1, PEEK) == b""
        except BlockingIOError:
            return False  # nothing to read: the connection is up
        except OSError:
            return True

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                length, seq, kind = HEADER.unpack(await reader.readexactly(HEADER.size))
                if length > MAX_FRAME:
                    break
                payload = await reader.readexactly(length) if length else b""
                answer = self._pending.pop(seq, None)
                if answer is not None and not answer.done():
                    answer.set_result((kind, payload))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if self._writer is writer:
                self._drop("the intake writer closed the connection")
                if self._loop is not None:
                    self._retry_at = self._loop.time() + RETRY_S

    def _drop(self, why: str, *, warn: bool = True) -> None:
        writer, self._writer, self._sock = self._writer, None, None
        if writer is not None:
            if warn:
                log.warning("%s; leads are routed in this process until it is back", why)
            with contextlib.suppress(Exception):
                writer.close()
        pending, self._pending = self._pending, {}
        for answer in pending.values():
            if not answer.done():
                answer.set_exception(
                    Unavailable(
                        "the intake writer stopped before answering: the lead may have been"
                        " stored; send it again with the same Idempotency-Key or external_id"
                    )
                )

    async def close(self) -> None:
        task = self._reader_task
        self._drop("closing", warn=False)
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
