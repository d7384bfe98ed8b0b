"""Notifications: a rep's live event stream and channel choices; admins' outbound
event endpoints; staff's view of the outbox."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from leadflow.api.deps import Admin, CurrentPrincipal, PathId, Staff, SvcDep
from leadflow.api.streams import MAX_STREAMS_PER_REP, hub_for
from leadflow.errors import Forbidden, ValidationError
from leadflow.services import notifications, outbox
from leadflow.services.auth import Principal
from leadflow.services.context import Services

router = APIRouter(tags=["notifications"])

KEEPALIVE_SECONDS = 15.0  # a comment line keeps proxies from closing an idle stream
BATCH = 100


def rep_of(principal: Principal) -> int:
    if principal.rep_id is None:
        raise Forbidden("this is a rep's own view: use a rep token")
    return principal.rep_id


@router.get("/me/events", response_class=StreamingResponse)
async def events(
    request: Request,
    svc: SvcDep,
    principal: CurrentPrincipal,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Server-sent events: the rep's in-app messages, live. Resumes after `Last-Event-ID`
    (or `?after=`); without either, starts with messages from now on."""
    rep_id = rep_of(principal)
    if hub_for(request.app.state, svc).open_streams(rep_id) >= MAX_STREAMS_PER_REP:
        message = f"at most {MAX_STREAMS_PER_REP} open event streams per rep; close one first"
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, {"message": message})
    start = after
    if last_event_id is not None:
        if not last_event_id.isdigit():
            raise ValidationError("Last-Event-ID must be a message id", field="Last-Event-ID")
        start = int(last_event_id)
    if start is None:
        start = await run_in_threadpool(_latest_id, svc, rep_id)
    return StreamingResponse(
        _stream(request, svc, rep_id, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _latest_id(svc: Services, rep_id: int) -> int:
    items = outbox.inapp_after(svc, rep_id, 0, limit=1, newest=True)
    return int(items[0]["id"]) if items else 0


async def _stream(request: Request, svc: Services, rep_id: int, cursor: int) -> AsyncIterator[str]:
    hub = hub_for(request.app.state, svc)
    sent = _Recent()
    with hub.subscribe(rep_id) as sub:
        yield "retry: 2000\n\n"
        await hub.ready()  # from here the hub delivers whatever the catch-up read misses
        while True:  # catch up from the database: a reconnect misses nothing
            items = await run_in_threadpool(outbox.inapp_after, svc, rep_id, cursor, BATCH)
            for item in items:
                cursor = item["id"]
                sent.add(item["id"])
                yield outbox.sse_frame(item)
            if len(items) < BATCH:
                break
        while not sub.overflowed or not sub.queue.empty():
            try:
                item = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            if sent.add(item["id"]):
                yield outbox.sse_frame(item)


class _Recent:
    """Ids already sent (bounded): the catch-up read and the hub may both deliver one."""

    def __init__(self, size: int = 2000) -> None:
        self._ids: deque[int] = deque(maxlen=size)
        self._set: set[int] = set()

    def add(self, i: int) -> bool:
        if i in self._set:
            return False
        if len(self._ids) == self._ids.maxlen:
            self._set.discard(self._ids[0])
        self._ids.append(i)
        self._set.add(i)
        return True


Channel = Literal["inapp", "email", "slack"]


class PrefsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channels: dict[str, list[Channel]] = Field(default_factory=dict, max_length=20)
    slack_url: str | None = Field(default=None, max_length=2000)


@router.get("/me/notifications")
def get_prefs(svc: SvcDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return notifications.get_prefs(svc, rep_of(principal))


@router.put("/me/notifications")
def set_prefs(body: PrefsIn, svc: SvcDep, principal: CurrentPrincipal) -> dict[str, Any]:
    chosen: dict[str, list[str]] = {k: [str(c) for c in v] for k, v in body.channels.items()}
    return notifications.set_prefs(svc, rep_of(principal), chosen, body.slack_url)


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["webhook", "slack"] = "webhook"
    url: str = Field(max_length=2000)
    events: list[str] = Field(default_factory=list, max_length=50)
    secret: str | None = Field(default=None, min_length=16, max_length=200)


@router.post("/webhooks", status_code=status.HTTP_201_CREATED)
def create_endpoint(body: EndpointIn, svc: SvcDep, _: Admin) -> dict[str, Any]:
    """A webhook's signing `secret` is in this answer only."""
    return notifications.create_endpoint(
        svc, body.name, body.kind, body.url, body.events, body.secret
    )


@router.get("/webhooks")
def list_endpoints(svc: SvcDep, _: Admin) -> list[dict[str, Any]]:
    return notifications.list_endpoints(svc)


@router.delete("/webhooks/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: PathId, svc: SvcDep, _: Admin) -> Response:
    notifications.delete_endpoint(svc, endpoint_id)
    return Response(status_code=204)


@router.get("/outbox")
def list_outbox(
    svc: SvcDep,
    _: Staff,
    status: Literal["pending", "sent", "dead"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    return outbox.list_messages(svc, status=status, limit=limit)
