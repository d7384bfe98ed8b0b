"""Rulebook editor (admin): edit YAML, see validation errors at their line, diff against
the active version, dry-run a sample or a recent lead, activate, roll back."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError as PydanticError

from leadflow.domain.rulebook import Rulebook
from leadflow.errors import LeadflowError, NotFound, RulebookError
from leadflow.schemas import LeadIn
from leadflow.services import org, routing, rulebooks
from leadflow.services.auth import Role
from leadflow.web.core import AdminForm, AdminViewer, NavItem, field, render, see_other
from leadflow.web.trace import timeline
from leadflow.web.yamlpos import error_line

router = APIRouter()
NAV = [NavItem("Rulebook", "/admin/rulebook", (Role.ADMIN,), order=40)]
MAX_SOURCE = 1_000_000
SAMPLE_LEAD = {
    "email": "jane@prospect.example",
    "company": {"name": "Prospect", "country": "FR", "size": 120, "industry": "software"},
    "source": "website",
    "score": 70,
}


@dataclass
class Problem:
    message: str
    line: int | None


def _active_source(active: dict[str, Any]) -> str:
    if active.get("source"):
        return str(active["source"])
    return yaml.safe_dump(active["document"], sort_keys=False, allow_unicode=True)


def _diff(old: str, new: str, version: int) -> list[tuple[str, str]]:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), f"active (v{version})", "draft", lineterm="", n=2
    )
    out = []
    for line in lines:
        kind = "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx"
        if line.startswith(("+++", "---", "@@")):
            kind = "hunk"
        out.append((kind, line))
    return out


def _page(request: Request, who: Any, source: str, **extra: Any) -> Response:
    svc = request.app.state.services
    active = rulebooks.get_active(svc)
    ctx = {
        "source": source,
        "lines": source.splitlines(),
        "active": active,
        "versions": rulebooks.list_versions(svc),
        "diff": _diff(_active_source(active), source, active["version"]),
        "sample": json.dumps(SAMPLE_LEAD, indent=2),
        "problem": None,
        "dry": None,
        "lead_id": "",
        "message": None,
    }
    ctx.update(extra)
    status = 422 if ctx["problem"] else 200
    return render(request, "rulebook.html", who, ctx, status_code=status)


@router.get("/admin/rulebook")
def editor(request: Request, who: AdminViewer) -> Response:
    active = rulebooks.get_active(request.app.state.services)
    saved = request.query_params.get("activated")
    message = f"Version {saved} is now active." if saved and saved.isdigit() else None
    return _page(request, who, _active_source(active), message=message)


def _compile(request: Request, source: str) -> Rulebook:
    _, book = rulebooks.validate(request.app.state.services, source)
    return book


def _sample(request: Request, sample: str, lead_id: str) -> LeadIn:
    if lead_id:
        if not lead_id.isdigit():
            raise LeadflowError("a lead id is a number", field="lead_id")
        data = routing.get_lead(request.app.state.services, int(lead_id))
        raw = {k: v for k, v in data.items() if k in LeadIn.model_fields and v is not None}
        raw.pop("external_id", None)
        return LeadIn.model_validate(raw)
    try:
        return LeadIn.model_validate_json(sample or "{}")
    except PydanticError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"]) or "sample"
        raise LeadflowError(f"sample lead: {where}: {e['msg']}", field="sample") from None


def _dry_run(request: Request, book: Rulebook, sample: str, lead_id: str) -> dict[str, Any]:
    svc = request.app.state.services
    result = routing.dry_run(svc, _sample(request, sample, lead_id), book=book)
    names = {r["id"]: r["name"] for r in org.list_reps(svc)}
    decision = {
        "id": 0,
        "kind": "dry-run",
        "outcome": result["outcome"],
        "rule": result["rule"],
        "method": result["method"],
        "rep_id": result["owner_rep_id"],
        "queue": result["queue"],
        "reason": result["reason"],
        "actor": "dry-run (nothing stored)",
        "created_at": svc.clock.now(),
        "trace": result["trace"],
    }
    return {"result": result, "events": timeline([decision], names)}


@router.post("/admin/rulebook")
def submit(request: Request, form: AdminForm) -> Response:
    """One form, three buttons: check (validate + diff), dry-run, activate."""
    who, data = form
    source = field(data, "source", max_length=MAX_SOURCE)
    action = field(data, "action", max_length=20)
    sample = field(data, "sample", max_length=20_000)
    lead_id = field(data, "lead_id", max_length=20)
    keep = {"sample": sample or json.dumps(SAMPLE_LEAD, indent=2), "lead_id": lead_id}
    svc = request.app.state.services
    try:
        book = _compile(request, source)
        if action == "activate":
            view = rulebooks.save(svc, source, actor=who.principal.name)
            return see_other(f"/admin/rulebook?activated={view['version']}")
        if action == "dry_run":
            return _page(request, who, source, dry=_dry_run(request, book, sample, lead_id), **keep)
    except RulebookError as exc:
        return _page(
            request, who, source, problem=Problem(exc.message, error_line(source, exc)), **keep
        )
    except (NotFound, LeadflowError) as exc:
        return _page(request, who, source, problem=Problem(exc.message, None), **keep)
    return _page(
        request,
        who,
        source,
        message="Valid: " + ", ".join([r.name for r in book.rules] + ["fallback"]),
        **keep,
    )


@router.post("/admin/rulebook/versions/{version}/activate")
def roll_back(version: int, request: Request, form: AdminForm) -> Response:
    svc = request.app.state.services
    try:
        rulebooks.activate(svc, version)
    except LeadflowError as exc:
        active = rulebooks.get_active(svc)
        return _page(request, form[0], _active_source(active), problem=Problem(exc.message, None))
    return see_other(f"/admin/rulebook?activated={version}")
