"""What every page shares: templates, who is signed in, CSRF checks, the navigation.

A page handler depends on `Viewer` (any signed-in user) or `require_page(roles)`;
a form handler on `form_of(...)`, which also checks the form's CSRF token. Page
errors render as HTML, never as JSON.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from leadflow.errors import AuthError
from leadflow.services.auth import Role
from leadflow.services.websessions import WebIdentity, csrf_matches, identify
from leadflow.web.format import FILTERS

HERE = Path(__file__).parent
COOKIE = "leadflow_session"
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(FILTERS)
ALL_ROLES = (Role.ADMIN, Role.MANAGER, Role.REP)
STAFF = (Role.ADMIN, Role.MANAGER)


@dataclass(frozen=True, slots=True)
class NavItem:
    """A link in the top bar, shown to the given roles; `order` sorts the bar."""

    label: str
    href: str
    roles: tuple[Role, ...]
    order: int = 50
    needs_rep: bool = False
    """Only for users who are a rep (e.g. "My leads")."""


class LoginRequired(Exception):
    pass


class PageForbidden(Exception):
    status_code = 403
    title = "Not allowed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PageNotFound(PageForbidden):
    status_code = 404
    title = "Not found"


def _identity(request: Request) -> WebIdentity:
    cached = getattr(request.state, "web_identity", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    admin = request.app.state.settings.admin_token
    try:
        who = identify(
            request.app.state.services,
            request.cookies.get(COOKIE),
            admin.get_secret_value() if admin else None,
        )
    except AuthError:
        raise LoginRequired from None
    if who.principal.role not in ALL_ROLES:
        raise PageForbidden("this token may only send leads; sign in as a user")
    request.state.web_identity = who
    return who


Viewer = Annotated[WebIdentity, Depends(_identity)]


def require_page(*roles: Role) -> Callable[[WebIdentity], WebIdentity]:
    def check(who: Viewer) -> WebIdentity:
        if who.principal.role not in roles:
            raise PageForbidden(f"the {who.principal.role.value} role may not open this page")
        return who

    return check


StaffViewer = Annotated[WebIdentity, Depends(require_page(*STAFF))]
AdminViewer = Annotated[WebIdentity, Depends(require_page(Role.ADMIN))]


def form_of(*roles: Role) -> Callable[[Request], Awaitable[tuple[WebIdentity, FormData]]]:
    """A POSTed form from a signed-in user of `roles`, with its CSRF token checked."""
    allowed = require_page(*roles)

    async def read(request: Request) -> tuple[WebIdentity, FormData]:
        who = allowed(_identity(request))
        form = await request.form()
        if not csrf_matches(who.csrf, _text(form.get("csrf"))):
            raise PageForbidden("the form's security token is missing or stale; reload the page")
        return who, form

    return read


FormOf = tuple[WebIdentity, FormData]
AnyForm = Annotated[FormOf, Depends(form_of(*ALL_ROLES))]
StaffForm = Annotated[FormOf, Depends(form_of(*STAFF))]
AdminForm = Annotated[FormOf, Depends(form_of(Role.ADMIN))]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def field(form: FormData, name: str, *, max_length: int = 1000) -> str:
    """A text field of a form, stripped and bounded (files and missing → "")."""
    value = form.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


def secret(form: FormData, name: str, *, max_length: int = 1100) -> str:
    """A password field: bounded but not stripped (spaces may be part of it)."""
    value = form.get(name)
    return value[:max_length] if isinstance(value, str) else ""


def render(
    request: Request,
    template: str,
    who: WebIdentity | None,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    role = who.principal.role if who else None
    rep_id = who.principal.rep_id if who else None
    nav = [
        n
        for n in request.app.state.web_nav
        if role in n.roles and (rep_id is not None or not n.needs_rep)
    ]
    ctx = {
        "who": who,
        "principal": who.principal if who else None,
        "csrf": who.csrf if who else "",
        "nav": nav,
        "path": request.url.path,
        **(context or {}),
    }
    return templates.TemplateResponse(request, template, ctx, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def discover_views() -> list[Any]:
    import leadflow.web.views as views

    modules = []
    for info in sorted(pkgutil.iter_modules(views.__path__), key=lambda i: i.name):
        modules.append(importlib.import_module(f"{views.__name__}.{info.name}"))
    return modules


def install(app: FastAPI) -> None:
    # Security headers (CSP on pages, nosniff, no framing) come from leadflow.api.headers,
    # installed once for the API and the pages alike.
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    nav: list[NavItem] = []
    for module in discover_views():
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            app.include_router(router, include_in_schema=False)
        nav.extend(getattr(module, "NAV", ()))
    app.state.web_nav = sorted(nav, key=lambda n: (n.order, n.label))

    async def login_required(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/"):
            raise exc
        target = request.url.path if request.method == "GET" else "/"
        response = see_other(f"/login?next={target}")
        return response

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageForbidden)
        who = getattr(request.state, "web_identity", None)
        return render(
            request,
            "error.html",
            who,
            {"title": exc.title, "message": exc.message},
            status_code=exc.status_code,
        )

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(PageForbidden, forbidden)
