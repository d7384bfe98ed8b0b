from __future__ import annotations

from typing import Any

from fastapi import APIRouter
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
