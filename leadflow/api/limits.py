"""Input bounds enforced before any route runs: body size, integer range."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit():
                if int(value) > self.max_bytes:
                    await self._refuse(send)
                    return
                # The server holds the body to its declared length: nothing more to check.
                await self.app(scope, receive, send)
                return
        # No length declared (chunked): read up to the limit first, then replay. Raising
        # from inside `receive` instead would reach the framework's body parser, which
        # turns any error into a 400.
        chunks: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await _answer(send, 413, f"request body larger than {self.max_bytes} bytes", "body")


INT64_MAX = 2**63 - 1
_INTEGER = re.compile(r"^[+-]?\d+$")


def _out_of_range(text: str) -> bool:
    return bool(_INTEGER.match(text)) and abs(int(text)) > INT64_MAX


class IntegerBounds:
    """Integers in query strings beyond 64 bits can name nothing stored: every id column
    is at most BIGINT. Answer that here, for every route present and future, instead of
    letting the database driver overflow into a 500. (Path ids are typed `PathId`, whose
    bound gives a 422 naming the parameter.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            for name, value in parse_qsl(query, keep_blank_values=True):
                if _out_of_range(value):
                    await _answer(send, 422, f"{name}: must be a 64-bit integer", name)
                    return
        await self.app(scope, receive, send)


async def _answer(send: Send, status: int, message: str, field: str) -> None:
    errors = [{"field": field, "message": message}]
    payload = json.dumps({"detail": {"message": message, "field": field, "errors": errors}})
    body = payload.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
