"""Admin: reps, teams, territories and accounts (add by form, import from CSV), and web
users. A form is a one-row CSV: both go through the same validation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from leadflow.errors import LeadflowError
from leadflow.services import org, org_csv, users
from leadflow.services.auth import Role
from leadflow.web.core import AdminForm, AdminViewer, NavItem, field, render, secret, see_other

router = APIRouter()
NAV = [
    NavItem("Organisation", "/admin/org", (Role.ADMIN,), order=35),
    NavItem("Users", "/admin/users", (Role.ADMIN,), order=45),
]
MAX_UPLOAD = 5_000_000


def _org_page(request: Request, who: Any, **extra: Any) -> Response:
    svc = request.app.state.services
    ctx: dict[str, Any] = {
        "reps": org.list_reps(svc),
        "teams": org.list_teams(svc),
        "territories": org.list_territories(svc),
        "accounts": org.list_accounts(svc, limit=200),
        "columns": org_csv.COLUMNS,
        "errors": [],
        "done": request.query_params.get("done"),
        "kind": None,
    }
    ctx.update(extra)
    return render(request, "admin_org.html", who, ctx, status_code=422 if ctx["errors"] else 200)


@router.get("/admin/org")
def org_page(request: Request, who: AdminViewer) -> Response:
    return _org_page(request, who)


def _summary(stats: dict[str, int]) -> str:
    return ", ".join(f"{v} {k}" for k, v in stats.items() if v) or "nothing new"


@router.post("/admin/org/{kind}")
def add_one(kind: str, request: Request, form: AdminForm) -> Response:
    """Add (or update) one rep / team / territory / account from its form."""
    who, data = form
    if kind not in org_csv.KINDS:
        return _org_page(request, who, errors=[f"unknown kind {kind!r}"])
    row = {c: field(data, c, max_length=2000) for c in org_csv.COLUMNS[kind]}
    try:
        stats = org_csv.import_rows(
            request.app.state.services, org_csv.validate_rows(kind, [(1, row)])
        )
    except org_csv.OrgImportError as exc:
        return _org_page(
            request, who, kind=kind, errors=[f"{e.field}: {e.message}" for e in exc.errors]
        )
    except LeadflowError as exc:
        return _org_page(request, who, kind=kind, errors=[exc.message])
    return see_other(f"/admin/org?done={_summary(stats)}")


@router.post("/admin/org-import")
async def import_csv(request: Request, form: AdminForm) -> Response:
    who, data = form
    kind = field(data, "kind", max_length=20)
    upload = data.get("file")
    if not isinstance(upload, UploadFile):
        return _org_page(request, who, errors=["choose a CSV file to import"])
    content = await upload.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        return _org_page(request, who, errors=[f"file larger than {MAX_UPLOAD} bytes"])
    try:
        stats = org_csv.import_rows(request.app.state.services, org_csv.parse_csv(kind, content))
    except org_csv.OrgImportError as exc:
        name = upload.filename or "file"
        return _org_page(request, who, kind=kind, errors=[f"{name}: {e}" for e in exc.errors[:50]])
    except LeadflowError as exc:
        return _org_page(request, who, kind=kind, errors=[exc.message])
    return see_other(f"/admin/org?done={_summary(stats)}")


@router.get("/admin/users")
def users_page(request: Request, who: AdminViewer) -> Response:
    return _users_page(request, who)


def _users_page(request: Request, who: Any, error: str | None = None) -> Response:
    svc = request.app.state.services
    return render(
        request,
        "admin_users.html",
        who,
        {
            "users": users.list_users(svc),
            "reps": org.list_reps(svc),
            "error": error,
            "roles": [r.value for r in users.WEB_ROLES],
            "done": request.query_params.get("done"),
        },
        status_code=422 if error else 200,
    )


@router.post("/admin/users")
def add_user(request: Request, form: AdminForm) -> Response:
    who, data = form
    rep = field(data, "rep_id", max_length=20)
    try:
        view = users.create_user(
            request.app.state.services,
            email=field(data, "email", max_length=320),
            password=secret(data, "password", max_length=users.MAX_PASSWORD + 1),
            role=field(data, "role", max_length=16),
            rep_id=int(rep) if rep.isdigit() else None,
            name=field(data, "name", max_length=200),
            replace=field(data, "replace") == "1",
        )
    except LeadflowError as exc:
        return _users_page(request, who, exc.message)
    return see_other(f"/admin/users?done={view['email']}")
