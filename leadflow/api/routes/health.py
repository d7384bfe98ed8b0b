from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from leadflow import __version__
from leadflow.api.deps import SvcDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(svc: SvcDep) -> dict[str, Any]:
    """Liveness and database reachability; needs no token."""
    with svc.db.read() as s:
        s.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "database": svc.db.engine.dialect.name}


@cache
def _code_heads() -> frozenset[str]:
    """The migration heads this code expects (read once: they ship with the code)."""
    from alembic.script import ScriptDirectory

    from leadflow.store.db import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


@router.get(
    "/ready",
    responses={503: {"description": "database unreachable or schema not at the code's heads"}},
)
def ready(svc: SvcDep) -> JSONResponse:
    """Readiness for a load balancer: the database answers and its schema is exactly at
    the migration heads of this code (`leadflow db upgrade` done). 503 otherwise; no token."""
    expected = _code_heads()
    try:
        with svc.db.read() as s:
            current = frozenset(s.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception as exc:  # any driver error means "not ready", never a 500
        body = {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__}
        return JSONResponse(body, status_code=503)
    body = {
        "status": "ready" if current == expected else "unavailable",
        "database": svc.db.engine.dialect.name,
        "migrations": {"current": sorted(current), "expected": sorted(expected)},
    }
    return JSONResponse(body, status_code=200 if current == expected else 503)
