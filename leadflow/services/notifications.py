"""Who hears about what: reps' channel choices per event type, and the endpoints that
receive outbound events (CRM sync). Both only write outbox rows in the caller's session.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from leadflow.config import Settings
from leadflow.errors import NotFound, ValidationError
from leadflow.services import txcache
from leadflow.services.context import Services
from leadflow.services.outbox import INAPP, enqueue
from leadflow.store.models import RepRow
from leadflow.store.outbox_models import NotificationPrefRow, WebhookEndpointRow

REP_EVENTS = (
    "offer.made",
    "offer.withdrawn",
    "offer.expired",
    "lead.assigned",
    "lead.returned",
    "sla.breached",
    "sla.escalated",
    "rep.set_away",
    "pull.alert",
    "alert.raised",
)
"""Events a rep can be told about (in-app by default)."""

OUTBOUND_EVENTS = (
    "lead.created",
    "lead.assigned",
    "lead.queued",
    "lead.claimed",
    "lead.released",
    "lead.returned",
    "offer.made",
    "offer.accepted",
    "offer.expired",
    "sla.breached",
    "sla.escalated",
    "rep.set_away",
    "pull.alert",
    "alert.raised",
)
"""Events sent to configured endpoints (webhooks, Slack)."""

REP_CHANNELS = frozenset({INAPP, "email", "slack"})
HOT = "hot"
DEFAULT_CHANNELS: dict[str, list[str]] = {e: [INAPP] for e in REP_EVENTS} | {HOT: []}
ENDPOINT_KINDS = frozenset({"webhook", "slack"})


# ---------------------------------------------------------------- rep preferences


def get_prefs(svc: Services, rep_id: int) -> dict[str, Any]:
    with svc.db.read() as s:
        _rep(s, rep_id)
        return _prefs_view(s.get(NotificationPrefRow, rep_id))


def set_prefs(
    svc: Services, rep_id: int, chosen: dict[str, list[str]], slack_url: str | None
) -> dict[str, Any]:
    channels = _validate_channels(chosen)
    if slack_url:
        _check_url(slack_url, "slack_url")
    with svc.db.write() as s:
        _rep(s, rep_id)
        row = s.get(NotificationPrefRow, rep_id)
        if row is None:
            row = NotificationPrefRow(rep_id=rep_id, channels={}, updated_at=svc.clock.now())
            s.add(row)
        url = slack_url if slack_url is not None else row.slack_url
        if not url and any("slack" in c for c in channels.values()):
            raise ValidationError("the slack channel needs `slack_url`", field="slack_url")
        row.channels = {**(row.channels or {}), **channels}
        row.slack_url = url or None
        row.updated_at = svc.clock.now()
        s.flush()
        return _prefs_view(row)


def _validate_channels(chosen: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for event, channels in chosen.items():
        if event not in DEFAULT_CHANNELS:
            known = ", ".join(sorted(DEFAULT_CHANNELS))
            raise ValidationError(
                f"unknown event {event!r} (known: {known})", field=f"channels.{event}"
            )
        bad = [c for c in channels if c not in REP_CHANNELS]
        if bad:
            raise ValidationError(
                f"unknown channel {bad[0]!r} (use inapp, email or slack)",
                field=f"channels.{event}",
            )
        out[event] = sorted(set(channels))
    return out


def _prefs_view(row: NotificationPrefRow | None) -> dict[str, Any]:
    channels = {**DEFAULT_CHANNELS, **(row.channels if row else {})}
    return {"channels": channels, "slack_url_set": bool(row and row.slack_url)}


def _rep(s: Session, rep_id: int) -> RepRow:
    rep = s.get(RepRow, rep_id)
    if rep is None:
        raise NotFound(f"rep {rep_id} not found")
    return rep


def notify_rep(
    s: Session, rep_id: int, event: str, payload: dict[str, Any], now: datetime, *, hot: bool
) -> None:
    """Queue `event` for the rep on each channel they chose (plus `hot` ones for hot leads)."""
    notify_reps(s, event, {rep_id: payload}, now, hot=hot)


_REP_CHANNELS = (
    select(RepRow.id, RepRow.email, NotificationPrefRow.channels, NotificationPrefRow.slack_url)
    .outerjoin(NotificationPrefRow, NotificationPrefRow.rep_id == RepRow.id)
    .where(RepRow.id.in_(bindparam("ids", expanding=True)))
)  # built once: every assignment runs it


def notify_reps(
    s: Session, event: str, payloads: Mapping[int, dict[str, Any]], now: datetime, *, hot: bool
) -> None:
    """`notify_rep` for many reps at once: two queries, whatever their number."""
    ids = sorted(payloads)
    found = _rep_channels(s, ids)
    for rep_id in ids:
        rep = found.get(rep_id)
        if rep is None:
            continue
        email, prefs, slack_url = rep
        chosen = {**DEFAULT_CHANNELS, **(prefs or {})}
        channels = set(chosen.get(event, [INAPP])) | (set(chosen[HOT]) if hot else set())
        payload = payloads[rep_id]
        for channel in sorted(channels):
            if channel == "email":
                enqueue(s, event, channel, payload, now, rep_id=rep_id, target=email)
            elif channel == "slack" and slack_url:
                enqueue(s, event, channel, payload, now, rep_id=rep_id, target=slack_url)
            elif channel == INAPP:
                enqueue(s, event, channel, payload, now, rep_id=rep_id)


def _rep_channels(s: Session, ids: list[int]) -> dict[int, tuple[str, Any, str | None] | None]:
    """Each rep's e-mail, channel choices and Slack URL (None: no such rep). Read once per
    transaction (`txcache`): a group commit assigns dozens of leads to the same few reps,
    and these change only in other transactions."""
    known: dict[int, tuple[str, Any, str | None] | None] = txcache.cached(s, "rep_channels", dict)
    missing = [rep_id for rep_id in ids if rep_id not in known]
    if missing:
        # One plain query on the connection (no ORM objects).
        rows = s.connection().execute(_REP_CHANNELS, {"ids": missing})
        known.update({rep_id: None for rep_id in missing})
        known.update({rep_id: (email, prefs, slack) for rep_id, email, prefs, slack in rows})
    return known


@cache
def _hot_threshold() -> float:
    # Hooks get no Services handle: read the setting once per process, on first use.
    return Settings().hot_lead_score


def is_hot(score: float | None) -> bool:
    """Hot leads also go to the rep's `hot` channels (multi-channel)."""
    return score is not None and score >= _hot_threshold()


# ---------------------------------------------------------------- outbound events


def publish(s: Session, event: str, data: dict[str, Any], now: datetime) -> int:
    """Queue an outbound event for every active endpoint subscribed to it.

    Other features call this for their own events (lead.claimed, lead.released,
    sla.breached). Returns how many messages were queued.
    """
    return publish_all(s, event, [data], now)


def publish_all(s: Session, event: str, items: list[dict[str, Any]], now: datetime) -> int:
    """`publish` for several events of one type (one query for the endpoints)."""
    n = 0
    for ep_id, kind, url, events in txcache.cached(s, "endpoints", lambda: _endpoints(s)):
        if events and event not in events:
            continue
        for data in items:
            enqueue(s, event, kind, data, now, endpoint_id=ep_id, target=url)
            n += 1
    return n


def _endpoints(s: Session) -> list[tuple[int, str, str, list[str]]]:
    """The active endpoints (read once per transaction: every lead publishes events)."""
    query = select(
        WebhookEndpointRow.id, WebhookEndpointRow.kind, WebhookEndpointRow.url,
        WebhookEndpointRow.events,
    ).where(WebhookEndpointRow.active.is_(True))  # fmt: skip
    return [(i, k, u, list(e or [])) for i, k, u, e in s.connection().execute(query)]


def create_endpoint(
    svc: Services,
    name: str,
    kind: str,
    url: str,
    events: list[str],
    secret: str | None = None,
) -> dict[str, Any]:
    """A new endpoint; a webhook's signing secret is generated unless given, shown once."""
    if kind not in ENDPOINT_KINDS:
        raise ValidationError("kind must be `webhook` or `slack`", field="kind")
    _check_url(url, "url")
    for e in events:
        if e not in OUTBOUND_EVENTS:
            raise ValidationError(
                f"unknown event {e!r} (known: {', '.join(OUTBOUND_EVENTS)})", field="events"
            )
    if kind == "webhook" and not secret:
        secret = "whsec_" + secrets.token_urlsafe(24)
    with svc.db.write() as s:
        if s.scalar(select(WebhookEndpointRow.id).where(WebhookEndpointRow.name == name)):
            raise ValidationError(f"an endpoint named {name!r} exists", field="name")
        row = WebhookEndpointRow(
            name=name,
            kind=kind,
            url=url,
            secret=secret or "",
            events=sorted(set(events)),
            active=True,
            created_at=svc.clock.now(),
        )
        s.add(row)
        s.flush()
        view = endpoint_view(row)
    if kind == "webhook":
        view["secret"] = secret  # the only time it is shown
    return view


def endpoint_view(row: WebhookEndpointRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "url": row.url,
        "events": row.events,
        "active": row.active,
        "created_at": row.created_at,
    }


def list_endpoints(svc: Services) -> list[dict[str, Any]]:
    with svc.db.read() as s:
        rows = s.scalars(select(WebhookEndpointRow).order_by(WebhookEndpointRow.id))
        return [endpoint_view(r) for r in rows]


def delete_endpoint(svc: Services, endpoint_id: int) -> None:
    with svc.db.write() as s:
        row = s.get(WebhookEndpointRow, endpoint_id)
        if row is None:
            raise NotFound(f"endpoint {endpoint_id} not found")
        # Deactivated, not deleted: its queued messages keep their history.
        row.active = False


def _check_url(url: str, field: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise ValidationError("must be an http(s) URL of at most 2000 characters", field=field)
