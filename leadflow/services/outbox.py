"""The transactional outbox: messages are rows written in the caller's transaction (so a
rolled-back change sends nothing) and delivered by the worker after the commit (so a
crash after the commit loses nothing). Delivery is at least once: each message keeps its
`message_id` across retries for receivers to deduplicate on.

Worker cycle (`run_due_timers`): claim due rows in one short transaction, pushing their
`next_attempt_at` one lease ahead (PostgreSQL: FOR UPDATE SKIP LOCKED, so workers never
take the same rows); send outside any transaction; record the result. A worker that dies
mid-send leaves the row due again when the lease ends.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from leadflow.config import Settings
from leadflow.notify import channels, render
from leadflow.notify.broker import broker
from leadflow.notify.retry import after_failure
from leadflow.services.context import Services
from leadflow.services.due import nothing_due
from leadflow.store.direct import insert_values
from leadflow.store.outbox_models import OutboxRow, WebhookEndpointRow

log = logging.getLogger("leadflow.outbox")

INAPP = "inapp"
STORED = "stored"  # in-app rows are read by the rep's stream, never pushed
PENDING = "pending"
SENT = "sent"
DEAD = "dead"


def settings_of(svc: Services) -> Settings:
    """The settings the process started with (tests put theirs in `svc.extras`)."""
    settings = svc.extras.get("settings")
    if not isinstance(settings, Settings):
        settings = Settings()
        svc.extras["settings"] = settings
    return settings


def enqueue(
    s: Session,
    event: str,
    channel: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    rep_id: int | None = None,
    endpoint_id: int | None = None,
    target: str = "",
) -> int:
    """Add one message to the caller's transaction; its row id."""
    # Written now, not at the next flush: every lead queues messages, and a plain INSERT
    # costs a fraction of a unit-of-work pass.
    row_id = insert_values(
        s,
        OutboxRow,
        message_id=str(uuid.uuid4()),
        event=event,
        channel=channel,
        rep_id=rep_id,
        endpoint_id=endpoint_id,
        target=target,
        payload=payload,
        status=STORED if channel == INAPP else PENDING,
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
    )
    if channel == INAPP:
        s.info[_INAPP_WRITTEN] = s.info.get(_INAPP_WRITTEN, 0) + 1
        if not s.info.get("outbox_wakes_streams"):
            s.info["outbox_wakes_streams"] = True
            sa_event.listen(s, "after_commit", _wake_streams, once=True)
    return row_id


_INAPP_WRITTEN = "outbox_inapp_written"


def inapp_written(s: Session) -> int:
    """How many in-app messages this session has queued (the intake writer tells the HTTP
    process to wake its event streams when a lead's intake added some)."""
    return int(s.info.get(_INAPP_WRITTEN, 0))


def _wake_streams(s: Session) -> None:
    s.info.pop("outbox_wakes_streams", None)
    broker.notify()


# ---------------------------------------------------------------- delivery


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    message_id: str
    event: str
    channel: str
    target: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    url: str = ""
    secret: str = ""


def run_due_timers(svc: Services, now: datetime, limit: int) -> int:
    """Deliver up to `limit` due messages; returns how many were attempted."""
    settings = settings_of(svc)
    claimed = _claim(svc, now, limit, timedelta(seconds=settings.outbox_lease_seconds))
    for msg in claimed:
        try:
            _send(msg, settings, now)
        except channels.DeliveryError as exc:
            _failed(svc, msg, str(exc), now, settings)
        else:
            _delivered(svc, msg, now)
    _prune(svc, now - timedelta(days=settings.outbox_retention_days))
    return len(claimed)


PRUNE_BATCH = 1000


def _prune(svc: Services, before: datetime) -> int:
    """Delete delivered and in-app messages older than the retention (a bounded batch;
    `dead` ones stay for a person to look at)."""
    old = select(OutboxRow.id).where(
        OutboxRow.status.in_([SENT, STORED]), OutboxRow.created_at < before
    )
    if nothing_due(svc, old):
        return 0
    with svc.db.write() as s:
        ids = list(s.scalars(old.order_by(OutboxRow.id).limit(PRUNE_BATCH)))
        if ids:
            s.execute(delete(OutboxRow).where(OutboxRow.id.in_(ids)))
        return len(ids)


def _claim(svc: Services, now: datetime, limit: int, lease: timedelta) -> list[_Claimed]:
    due = select(OutboxRow.id).where(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= now)
    if nothing_due(svc, due):
        return []
    with svc.db.write() as s:
        q = (
            select(OutboxRow)
            .where(OutboxRow.status == PENDING, OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        if not svc.db.is_sqlite:  # SQLite writers are already serialised by BEGIN IMMEDIATE
            q = q.with_for_update(skip_locked=True)
        rows = list(s.scalars(q))
        endpoints = _endpoints(s, {r.endpoint_id for r in rows if r.endpoint_id})
        claimed = []
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + lease
            ep = endpoints.get(row.endpoint_id) if row.endpoint_id else None
            claimed.append(
                _Claimed(
                    row.id,
                    row.message_id,
                    row.event,
                    row.channel,
                    row.target,
                    dict(row.payload),
                    row.attempts,
                    row.created_at,
                    url=ep.url if ep else row.target,
                    secret=ep.secret if ep else "",
                )
            )
        return claimed


def _endpoints(s: Session, ids: set[int]) -> dict[int, WebhookEndpointRow]:
    if not ids:
        return {}
    return {
        e.id: e for e in s.scalars(select(WebhookEndpointRow).where(WebhookEndpointRow.id.in_(ids)))
    }


def _send(msg: _Claimed, settings: Settings, now: datetime) -> None:
    if msg.channel == "email":
        channels.send_email(
            settings,
            msg.target,
            render.subject(msg.event, msg.payload),
            render.text(msg.event, msg.payload, settings.public_url),
            msg.message_id,
        )
    elif msg.channel == "slack":
        channels.post_slack(
            msg.url, render.text(msg.event, msg.payload, settings.public_url), msg.message_id
        )
    elif msg.channel == "webhook":
        body = channels.envelope(msg.message_id, msg.event, msg.created_at.isoformat(), msg.payload)
        channels.post_webhook(
            msg.url, msg.secret, msg.message_id, msg.event, body, int(now.timestamp())
        )
    else:
        raise channels.DeliveryError(f"unknown channel {msg.channel!r}")


def _delivered(svc: Services, msg: _Claimed, now: datetime) -> None:
    with svc.db.write() as s:
        s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == msg.id, OutboxRow.status == PENDING)
            .values(status=SENT, sent_at=now, last_error="")
        )


def _failed(svc: Services, msg: _Claimed, error: str, now: datetime, settings: Settings) -> None:
    decision = after_failure(
        msg.attempts,
        now,
        base_seconds=settings.outbox_backoff_seconds,
        max_attempts=settings.outbox_max_attempts,
    )
    log.warning(
        "outbox message %s (%s) attempt %d failed: %s", msg.id, msg.channel, msg.attempts, error
    )
    values: dict[str, Any] = {"last_error": error[:1000]}
    if decision.give_up:
        values["status"] = DEAD
    else:
        values["next_attempt_at"] = decision.retry_at
    with svc.db.write() as s:
        s.execute(
            update(OutboxRow)
            .where(OutboxRow.id == msg.id, OutboxRow.status == PENDING)
            .values(**values)
        )


# ---------------------------------------------------------------- reading


def message_view(row: OutboxRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "message_id": row.message_id,
        "event": row.event,
        "channel": row.channel,
        "rep_id": row.rep_id,
        "endpoint_id": row.endpoint_id,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at,
        "last_error": row.last_error,
        "created_at": row.created_at,
        "sent_at": row.sent_at,
        "payload": row.payload,
    }


def inapp_after(
    svc: Services, rep_id: int, after: int, limit: int = 100, *, newest: bool = False
) -> list[dict[str, Any]]:
    """The rep's in-app messages with an id above `after`, oldest first (stream resume)."""
    order = OutboxRow.id.desc() if newest else OutboxRow.id
    with svc.db.read() as s:
        rows = s.scalars(
            select(OutboxRow)
            .where(OutboxRow.rep_id == rep_id, OutboxRow.channel == INAPP, OutboxRow.id > after)
            .order_by(order)
            .limit(limit)
        )
        return [
            {"id": r.id, "message_id": r.message_id, "event": r.event, "data": r.payload}
            for r in rows
        ]


def inapp_since(
    svc: Services, cursor: int | None, gaps: list[int], limit: int
) -> tuple[int, list[dict[str, Any]], list[int]]:
    """Every rep's in-app messages after `cursor` or with an id in `gaps` (ids reserved
    but not yet committed when last read). Returns (new cursor, items, ids seen);
    the first call (cursor None) only returns the current highest id."""
    with svc.db.read() as s:
        if cursor is None:
            top = s.scalar(select(OutboxRow.id).order_by(OutboxRow.id.desc()).limit(1))
            return int(top or 0), [], []
        cond = OutboxRow.id > cursor
        if gaps:
            cond = cond | OutboxRow.id.in_(gaps)
        rows = list(
            s.execute(
                select(
                    OutboxRow.id,
                    OutboxRow.channel,
                    OutboxRow.rep_id,
                    OutboxRow.message_id,
                    OutboxRow.event,
                    OutboxRow.payload,
                )
                .where(cond)
                .order_by(OutboxRow.id)
                .limit(limit)
            )
        )
    seen = [r.id for r in rows]
    items = [
        {
            "id": r.id,
            "rep_id": r.rep_id,
            "message_id": r.message_id,
            "event": r.event,
            "data": r.payload,
        }
        for r in rows
        if r.channel == INAPP
    ]
    return max([cursor, *seen]), items, seen


def sse_frame(item: dict[str, Any]) -> str:
    """One server-sent event: `id` for resuming, `event` for the type, JSON `data`."""
    data = json.dumps(
        {"message_id": item["message_id"], "event": item["event"], **item["data"]}, default=str
    )
    return f"id: {item['id']}\nevent: {item['event']}\ndata: {data}\n\n"


def list_messages(
    svc: Services, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    q = (
        select(OutboxRow)
        .where(OutboxRow.channel != INAPP)
        .order_by(OutboxRow.id.desc())
        .limit(limit)
    )
    if status:
        q = q.where(OutboxRow.status == status)
    with svc.db.read() as s:
        return [message_view(r) for r in s.scalars(q)]
