"""Make the OpenAPI document say what the API really answers on errors.

leadflow's errors are `{"detail": {"message", "field"?, "errors"?}}` (api/errors.py),
not FastAPI's default validation list; and any operation may answer 401/403/404/409/
413/429 (auth, ownership, state changes, body and rate limits). Clients generated from
the document, and the schema fuzzer, rely on this being true.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
}
_REF = {"$ref": "#/components/schemas/Error"}
COMMON = {
    "401": "missing, invalid, expired or revoked token",
    "403": "this role may not do this",
    "404": "not found (or not yours to see)",
    "409": "conflict with the current state",
    "413": "request body too large",
    "422": "invalid input: `detail.errors` names each field and the reason",
    "429": "rate limit: retry after `Retry-After` seconds",
    "503": "database unavailable: nothing was stored; retry after `Retry-After` seconds",
}
PUBLIC = {"/api/v1/health", "/api/v1/ready"}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas["Error"] = ERROR_SCHEMA
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for path, operations in doc.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, text in COMMON.items():
                    if path in PUBLIC and code in ("401", "403", "404", "409", "422"):
                        continue
                    responses[code] = {
                        "description": text,
                        "content": {"application/json": {"schema": _REF}},
                    }
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
