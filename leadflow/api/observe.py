"""Per-request plumbing: request id, access log, HTTP metrics; and the `/metrics` page.

The access log names the route, status and duration, never headers, query strings or
bodies: that is where tokens and personal data travel.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadflow.api.headers import SecurityHeaders
from leadflow.api.ratelimit import RateLimits, rules_from_settings
from leadflow.config import Settings
from leadflow.observability import metrics
from leadflow.observability.logs import request_id

log = logging.getLogger("leadflow.access")
_VALID_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
REQUEST_ID_HEADER = b"x-request-id"


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER:
            text = value.decode("latin-1")
            if _VALID_ID.match(text):
                return text
    return uuid.uuid4().hex


def _route_label(scope: Scope) -> str:
    """The route template (`/api/v1/leads/{lead_id}`), never the raw path: label values
    stay few whatever clients send."""
    if "endpoint" not in scope:
        return "unmatched"
    if scope.get("root_path"):
        return str(scope["root_path"])  # a mounted app (static files): one label for all
    names = {str(v): k for k, v in scope.get("path_params", {}).items()}
    return "/".join(f"{{{names[p]}}}" if p in names else p for p in scope["path"].split("/"))


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope)
        reset = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((REQUEST_ID_HEADER, rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_label(scope)
            metrics.HTTP_SECONDS.labels(scope["method"], route, str(status)).observe(elapsed)
            log.info(
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id.reset(reset)


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """The database went away mid-request (restart, failover, network): nothing was
    committed, so the client may safely retry (with its Idempotency-Key). 503, not 500."""
    if isinstance(exc, DBAPIError) and not (
        isinstance(exc, OperationalError | InterfaceError) or exc.connection_invalidated
    ):
        raise exc
    log.warning("database unavailable: %s", type(exc.__cause__ or exc).__name__)
    return JSONResponse(
        {"detail": {"message": "database unavailable: nothing was stored, retry shortly"}},
        status_code=503,
        headers={"Retry-After": "1"},
    )


def install(app: FastAPI, settings: Settings) -> None:
    app.add_exception_handler(DBAPIError, database_unavailable)
    rules = rules_from_settings(
        settings.rate_limit_intake, settings.rate_limit_login, settings.rate_limit_claim
    )
    app.add_middleware(RateLimits, rules=rules)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContext)  # added last: outermost

    async def metrics_page(request: Request) -> Response:
        expected = settings.metrics_token
        if expected is not None:
            given = request.headers.get("authorization", "").partition(" ")[2].strip()
            if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
                return JSONResponse(
                    {"detail": {"message": "metrics need `Authorization: Bearer <token>`"}},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        body = metrics.render(request.app.state.services)
        return Response(body, media_type=metrics.content_type())

    app.add_route("/metrics", metrics_page, methods=["GET"], include_in_schema=False)
