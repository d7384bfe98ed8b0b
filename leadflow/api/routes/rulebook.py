"""Rulebook: read, validate, replace (new version, activated), list versions, roll back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from leadflow.api.deps import Admin, PathId, Staff, SvcDep
from leadflow.services import rulebooks

router = APIRouter(prefix="/rulebook", tags=["rulebook"])

_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.get("")
def get_rulebook(svc: SvcDep, _: Staff) -> dict[str, Any]:
    return rulebooks.get_active(svc)


@router.put("", openapi_extra=_BODY)
async def put_rulebook(request: Request, svc: SvcDep, principal: Admin) -> dict[str, Any]:
    """Body: the rulebook as YAML or JSON. Validated, stored as a new version, activated."""
    body = await request.body()
    return rulebooks.save(svc, body, actor=principal.name)


@router.post("/validate", openapi_extra=_BODY)
async def validate_rulebook(request: Request, svc: SvcDep, _: Staff) -> dict[str, Any]:
    """Check a rulebook without storing it; 422 names the rule and field at fault."""
    _, compiled = rulebooks.validate(svc, await request.body())
    return {"valid": True, "rules": [r.name for r in compiled.rules]}


@router.get("/versions")
def list_versions(svc: SvcDep, _: Staff) -> list[dict[str, Any]]:
    return rulebooks.list_versions(svc)


@router.get("/versions/{version}")
def get_version(version: PathId, svc: SvcDep, _: Staff) -> dict[str, Any]:
    return rulebooks.get_version(svc, version)


@router.post("/versions/{version}/activate")
def activate_version(version: PathId, svc: SvcDep, _: Admin) -> dict[str, Any]:
    """Roll back (or forward) to a stored version."""
    return rulebooks.activate(svc, version)
