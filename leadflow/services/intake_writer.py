"""The intake writer: one process that routes and commits the leads other processes take in.

On SQLite every lead is routed and written by one writer at a time, and in one process
that writer shares a core (the GIL) with the HTTP work of parsing, authorising and
validating requests: that sharing, not the disk, bounded intake. `leadflow serve` on a
SQLite file therefore starts this process beside the HTTP process(es). They validate a
request, then hand the lead over a Unix socket (`leadflow.services.intake_channel`); the
writer runs it through the same group commit (`group_commit`) and the same `_intake_in`
as in-process intake, and answers once the lead is committed. Its caches (org, rulebook,
load and rotation rows) stay warm, since it is the only connection writing leads.

Wire format, both ways: a 9-byte header (payload length, sequence number, kind) and an
orjson payload. Requests carry `[lead document, external_id, idempotency key, actor,
received-at]`; answers carry the lead's view, encoded as the API encodes it, and the
decisions made, which the HTTP process counts for `/metrics` once it has the answer, and
whether in-app messages were queued, to wake that process's event streams at once.

The socket lives in a directory only the server's user can open. The writer exits when
the process that started it is gone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import struct
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pydantic_core
from sqlalchemy.exc import IntegrityError

from leadflow.services import decision_metrics, group_commit, outbox
from leadflow.services.context import Services

log = logging.getLogger("leadflow.intake_writer")

HEADER = struct.Struct("!IIB")  # payload length, sequence number, kind
MAX_FRAME = 4 << 20  # a lead document is bounded far below this by the API's limits

# Kinds of answer.
CREATED, EXISTING, RACED, FAILED = 0, 1, 2, 3
"""`RACED`: another request with the same external id or key committed first (the
caller looks it up). `FAILED`: the lead was not stored (its transaction was rolled back);
the caller runs it itself, so the error reaches the client as itself."""

SEND_TIMEOUT_S = 5  # a reader that stops reading must not stall the writer thread
RECV_BYTES = 1 << 16


def encode_request(
    seq: int, doc: dict[str, Any], external_id: str | None, key: str | None, actor: str,
    now: datetime,
) -> bytes:  # fmt: skip
    payload = orjson.dumps([doc, external_id, key, actor, now.isoformat()])
    return HEADER.pack(len(payload), seq, 0) + payload


def serve(svc: Services, path: Path, keep_going: Callable[[], bool] = lambda: True) -> None:
    """Answer intake requests on the Unix socket `path` for as long as `keep_going()` says
    (asked about once a second: `leadflow serve`'s writer asks whether its parent lives).

    One thread does everything: it reads every request that has arrived, runs them as one
    group-commit batch (`GroupCommitter.run_batch`), sends each connection its answers in
    one write, and reads again. Requests arriving during a batch wait in the socket for
    the next one, as they waited in the committer's queue before; what this saves is a
    thread hand-off, a future and a wake-up per lead, which on a busy writer cost a tenth
    of its time."""
    listener = listen(path)
    listener.setblocking(False)
    committer = group_commit.committer(svc.extras, svc.db)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    queued: list[tuple[_Link, int, Callable[[Any], Done]]] = []
    checked = time.monotonic()
    try:
        while True:
            if time.monotonic() - checked >= 1.0:
                if not keep_going():
                    return
                checked = time.monotonic()
            for key, _ in selector.select(0 if queued else 1.0):
                if key.fileobj is listener:
                    _accept(listener, selector)
                else:
                    link: _Link = key.data
                    if not link.receive(svc, queued):
                        link.close(selector)
            if queued:
                batch, queued = queued[: group_commit.MAX_BATCH], queued[group_commit.MAX_BATCH :]
                _run(committer, batch)
    finally:
        for key in list(selector.get_map().values()):
            if key.fileobj is not listener:
                key.data.close(selector)
        selector.close()
        listener.close()
        with contextlib.suppress(OSError):
            path.unlink()


def _accept(listener: socket.socket, selector: selectors.BaseSelector) -> None:
    try:
        conn, _ = listener.accept()
    except (BlockingIOError, InterruptedError):
        return
    # Blocking sends, bounded: a reader that stops reading must not stall the writer.
    # Reads never block (MSG_DONTWAIT): the selector says when there is something.
    conn.setblocking(True)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", SEND_TIMEOUT_S, 0))
    link = _Link(conn)
    selector.register(conn, selectors.EVENT_READ, link)


class _Link:
    """One HTTP process's connection: bytes received, answers to send."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.received = bytearray()
        self.answers: list[bytes] = []
        self.open = True

    def receive(self, svc: Services, queued: list[Any]) -> bool:
        """Read what has arrived and queue each complete request; False when the
        connection is over (closed by the HTTP process, or a malformed frame)."""
        while True:
            try:
                chunk = self.conn.recv(RECV_BYTES, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                return False
            if not chunk:
                return False  # the HTTP process went away
            self.received += chunk
            if len(chunk) < RECV_BYTES:
                break
        buf, pos = self.received, 0
        while len(buf) - pos >= HEADER.size:
            length, seq, _kind = HEADER.unpack_from(buf, pos)
            if length > MAX_FRAME:
                log.warning("intake frame of %d bytes refused; connection closed", length)
                return False
            end = pos + HEADER.size + length
            if len(buf) < end:
                break
            try:
                work = _work(svc, bytes(buf[pos + HEADER.size : end]))
            except (ValueError, TypeError):  # not a request this module wrote
                log.warning("malformed intake frame; connection closed")
                return False
            queued.append((self, seq, work))
            pos = end
        del buf[:pos]
        return True

    def flush(self) -> None:
        frames, self.answers = self.answers, []
        if not self.open or not frames:
            return
        try:
            self.conn.sendall(b"".join(frames))
        except OSError:
            # The HTTP process is gone or stuck: its waiting requests fail (503) there.
            with contextlib.suppress(OSError):
                self.conn.shutdown(socket.SHUT_RDWR)

    def close(self, selector: selectors.BaseSelector) -> None:
        if self.open:
            self.open = False
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(self.conn)
            self.conn.close()


def _run(
    committer: group_commit.GroupCommitter, batch: list[tuple[_Link, int, Callable[[Any], Done]]]
) -> None:
    """Route and commit a batch, then answer it: one write per connection."""
    results = committer.run_batch([work for _, _, work in batch])
    links: dict[int, _Link] = {}
    for (link, seq, _), (value, error) in zip(batch, results, strict=True):
        link.answers.append(_answer(seq, value, error))
        links[id(link)] = link
    for link in links.values():
        link.flush()


def listen(path: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a socket left by a writer that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(64)
    listener.settimeout(1.0)  # wakes up to notice that the parent is gone
    return listener


Done = tuple[dict[str, Any], bool, list[decision_metrics.Noted], bool]


def _work(svc: Services, payload: bytes) -> Callable[[Any], Done]:
    from leadflow.services.routing import _intake_in

    doc, external_id, key, actor, received = orjson.loads(payload)
    if not isinstance(doc, dict):
        raise ValueError("the lead document is not an object")
    now = datetime.fromisoformat(received)
    fresh = [doc]

    def work(s: Any) -> Done:
        before, messages = len(decision_metrics.noted(s)), outbox.inapp_written(s)
        # A batch may run twice (see group_commit): a second run decodes its own document,
        # since the first one changed it (enrichment writes into it).
        lead = fresh.pop() if fresh else orjson.loads(payload)[0]
        view, created = _intake_in(s, svc, lead, external_id, key, actor, now)
        wake = outbox.inapp_written(s) > messages
        return view, created, decision_metrics.noted(s)[before:], wake

    return work


def _answer(seq: int, value: Done | None, error: BaseException | None) -> bytes:
    if error is None:
        assert value is not None
        view, created, decisions, wake = value
        # The HTTP process counts the decisions (it serves /metrics) and wakes its event
        # streams when the lead left in-app messages (its reps' streams live there).
        payload = pydantic_core.to_json({"view": view, "decisions": decisions, "wake": wake})
        kind = CREATED if created else EXISTING
    else:
        kind = RACED if isinstance(error, IntegrityError) else FAILED
        payload = b""
        if kind == FAILED:
            log.info("intake failed in the writer, handed back: %s", type(error).__name__)
    return HEADER.pack(len(payload), seq, kind) + payload
