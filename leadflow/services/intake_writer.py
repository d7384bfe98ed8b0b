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
import socket
import struct
import threading
from collections.abc import Callable
from concurrent.futures import Future
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


def encode_request(
    seq: int, doc: dict[str, Any], external_id: str | None, key: str | None, actor: str,
    now: datetime,
) -> bytes:  # fmt: skip
    payload = orjson.dumps([doc, external_id, key, actor, now.isoformat()])
    return HEADER.pack(len(payload), seq, 0) + payload


def serve(svc: Services, path: Path, keep_going: Callable[[], bool] = lambda: True) -> None:
    """Answer intake requests on the Unix socket `path` for as long as `keep_going()` says
    (asked about once a second: `leadflow serve`'s writer asks whether its parent lives)."""
    listener = listen(path)
    try:
        while keep_going():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(
                target=_serve_connection, args=(svc, conn), name="intake-conn", daemon=True
            ).start()
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            path.unlink()


def listen(path: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a socket left by a writer that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    os.chmod(path, 0o600)
    listener.listen(64)
    listener.settimeout(1.0)  # wakes up to notice that the parent is gone
    return listener


def _serve_connection(svc: Services, conn: socket.socket) -> None:
    conn.settimeout(None)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", SEND_TIMEOUT_S, 0))
    committer = group_commit.committer(svc.extras, svc.db)
    send = _sender(conn)
    with conn, conn.makefile("rb") as stream:
        while True:
            header = stream.read(HEADER.size)
            if len(header) < HEADER.size:
                return  # the HTTP process went away
            length, seq, _kind = HEADER.unpack(header)
            if length > MAX_FRAME:
                log.warning("intake frame of %d bytes refused; connection closed", length)
                return
            payload = stream.read(length)
            if len(payload) < length:
                return
            try:
                work = _work(svc, payload)
            except (ValueError, TypeError):  # not a request this module wrote
                log.warning("malformed intake frame; connection closed")
                return
            committer.submit(work).add_done_callback(_answer(seq, send))


Done = tuple[dict[str, Any], bool, list[decision_metrics.Noted], bool]


def _work(svc: Services, payload: bytes) -> Callable[[Any], Done]:
    from leadflow.services.routing import _intake_in

    doc, external_id, key, actor, received = orjson.loads(payload)
    if not isinstance(doc, dict):
        raise ValueError("the lead document is not an object")
    now = datetime.fromisoformat(received)

    def work(s: Any) -> Done:
        before, messages = len(decision_metrics.noted(s)), outbox.inapp_written(s)
        # A batch may run twice (see group_commit): each run decodes a document of its own.
        view, created = _intake_in(s, svc, orjson.loads(payload)[0], external_id, key, actor, now)
        wake = outbox.inapp_written(s) > messages
        return view, created, decision_metrics.noted(s)[before:], wake

    return work


def _answer(seq: int, send: Callable[[bytes], None]) -> Callable[[Future[Any]], None]:
    def answer(future: Future[Any]) -> None:
        error = future.exception()
        if error is None:
            view, created, decisions, wake = future.result()
            # The HTTP process counts the decisions (it serves /metrics) and wakes its event
            # streams when the lead left in-app messages (its reps' streams live there).
            payload = pydantic_core.to_json({"view": view, "decisions": decisions, "wake": wake})
            kind = CREATED if created else EXISTING
        else:
            kind = RACED if isinstance(error, IntegrityError) else FAILED
            payload = b""
            if kind == FAILED:
                log.info("intake failed in the writer, handed back: %s", type(error).__name__)
        send(HEADER.pack(len(payload), seq, kind) + payload)

    return answer


def _sender(conn: socket.socket) -> Callable[[bytes], None]:
    lock = threading.Lock()

    def send(frame: bytes) -> None:
        try:
            with lock:
                conn.sendall(frame)
        except OSError:
            # The HTTP process is gone or stuck: its waiting requests fail (503) there.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    return send
