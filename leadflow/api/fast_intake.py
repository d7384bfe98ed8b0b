"""`POST /api/v1/leads` without FastAPI's per-request machinery, when nothing can go wrong.

Intake is the API's hottest route, and in one process it competes for the same core with
the routing it triggers. FastAPI's generic handling of a request (matching every route,
parsing the content type with the e-mail package, solving the dependency graph) cost
about as much as routing a lead. This route sits first in the router: a well-formed
request (a JSON object body, a Bearer token or session a caller of an intake role holds,
a valid `Idempotency-Key` if any) is validated with the same `LeadIn` model, and handed
to the same `take_lead` as `create_lead`. Anything else — a body that does not validate,
a missing or refused token, another content type — goes on, body untouched, to the
FastAPI route, which answers exactly as it always did (the 401, 403 or 422 with the field
and the reason). Every middleware and exception handler applies to both paths alike.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.requests import Request
from starlette.routing import BaseRoute, Match
from starlette.types import Message, Receive, Scope, Send

from leadflow.api.deps import INTAKE_ROLES, current_principal
from leadflow.api.routes.leads import create_lead, take_lead
from leadflow.errors import LeadflowError
from leadflow.schemas import LeadIn
from leadflow.services.auth import Principal

PATH = "/api/v1/leads"
SKIP = "leadflow.fast_intake.skip"
MAX_KEY = 200  # create_lead's `Idempotency-Key` bound


class FastIntake(BaseRoute):
    # What route listings read (it is left out of the schema: `create_lead` documents it).
    path = path_format = PATH
    methods = frozenset({"POST"})
    name = "create_lead_fast"
    include_in_schema = False

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"][len(scope.get("root_path", "")) :] == PATH
            and not scope.get(SKIP)
        ):
            return Match.FULL, {"endpoint": create_lead, "path_params": {}}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        messages: list[Message] = []
        body = await _read_body(receive, messages)
        taken = await _well_formed(scope, body) if body is not None else None
        if taken is None:
            await _generic(scope, receive, send, messages)
            return
        lead, key, principal = taken
        response = await take_lead(scope["app"].state.services, lead, principal, key)
        await response(scope, receive, send)


async def _read_body(receive: Receive, messages: list[Message]) -> bytes | None:
    """The whole body (kept in `messages` for the generic route); None on a disconnect."""
    chunks = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _well_formed(
    scope: Scope, body: bytes
) -> tuple[LeadIn, str | None, Principal] | None:
    """(lead, idempotency key, caller) when this request cannot fail before intake."""
    content_type = key = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            if content_type is not None:
                return None
            content_type = value
        elif name == b"idempotency-key":
            if key is not None:
                return None
            key = value.decode("latin-1")
    if content_type is None or content_type.split(b";")[0].strip().lower() != b"application/json":
        return None
    if key is not None and not 1 <= len(key) <= MAX_KEY:
        return None
    try:
        doc: Any = orjson.loads(body)
        if not isinstance(doc, dict):
            return None
        lead = LeadIn.model_validate(doc, from_attributes=True)
    except (orjson.JSONDecodeError, ValidationError):
        return None
    request = Request(scope)
    try:
        principal = await current_principal(request, request.app.state.services)
    except LeadflowError:
        return None
    if principal.role not in INTAKE_ROLES:
        return None
    return lead, key, principal


async def _generic(scope: Scope, receive: Receive, send: Send, messages: list[Message]) -> None:
    """The FastAPI route, with the body this route already read."""

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    scope[SKIP] = True
    await scope["router"].app(scope, replay, send)


def install(app: FastAPI) -> None:
    app.router.routes.insert(0, FastIntake())
