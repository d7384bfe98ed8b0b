"""Map leadflow errors and validation failures to JSON 4xx answers naming the field."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from leadflow.errors import AuthError, LeadflowError, Unavailable


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def leadflow_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LeadflowError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
    if isinstance(exc, Unavailable):
        headers = {"Retry-After": "1"}
    return JSONResponse({"detail": exc.as_detail()}, status_code=exc.status_code, headers=headers)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid")}
        for e in exc.errors()[:20]
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return JSONResponse(
        {"detail": {"message": f"{first['field']}: {first['message']}", "errors": errors}},
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(LeadflowError, leadflow_error)
    app.add_exception_handler(RequestValidationError, validation_error)
