"""Server-rendered pages. Every asset is served by leadflow itself (no CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from leadflow.errors import AuthError
from leadflow.services import org, routing
from leadflow.services.auth import Role, authenticate

HERE = Path(__file__).parent
COOKIE = "leadflow_session"
templates = Jinja2Templates(directory=str(HERE / "templates"))


def _principal(request: Request) -> Any:
    token = request.cookies.get(COOKIE)
    admin = request.app.state.settings.admin_token
    try:
        return authenticate(
            request.app.state.services, token, admin.get_secret_value() if admin else None
        )
    except AuthError:
        return None


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.get("/", include_in_schema=False, response_model=None)
    def home(request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return RedirectResponse("/login", status_code=303)
        if principal.role is Role.INTAKE:
            # A web-form token has no rep to filter by: it must not see everyone's leads.
            return templates.TemplateResponse(
                request,
                "login.html",
                {"error": "This token may only create leads."},
                status_code=403,
            )
        svc = request.app.state.services
        leads = routing.list_leads(
            svc, owner=None if principal.is_staff else principal.rep_id, limit=25
        )
        reps = org.list_reps(svc) if principal.is_staff else []
        return templates.TemplateResponse(
            request,
            "home.html",
            {"principal": principal, "leads": leads["items"], "reps": reps},
        )

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "login.html", {"error": None})

    @app.post("/login", include_in_schema=False, response_model=None)
    def login(request: Request, token: str = Form(max_length=200)) -> Response:
        admin = request.app.state.settings.admin_token
        try:
            authenticate(
                request.app.state.services, token, admin.get_secret_value() if admin else None
            )
        except AuthError:
            return templates.TemplateResponse(
                request, "login.html", {"error": "That token is not valid."}, status_code=401
            )
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", max_age=8 * 3600)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout() -> RedirectResponse:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response
