"""Sign in (password or API token), sign out, and the home redirect by role."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leadflow.errors import AuthError
from leadflow.services import users, websessions
from leadflow.services.auth import Role, authenticate
from leadflow.web.core import (
    COOKIE,
    AnyForm,
    PageForbidden,
    Viewer,
    field,
    render,
    secret,
    see_other,
)

router = APIRouter()
LOGIN_CSRF = "leadflow_login_csrf"
SESSION_MAX_AGE = int(websessions.LIFETIME.total_seconds())


def _safe_next(target: str | None) -> str:
    # Only our own paths: never `//evil.example` or `https://…` (open redirect).
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target[:500]
    return "/"


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _login_page(request: Request, error: str | None, status_code: int = 200) -> Response:
    # Reuse the browser's token so two open sign-in tabs both work.
    existing = request.cookies.get(LOGIN_CSRF, "")
    token = existing if 20 <= len(existing) <= 64 else secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        None,
        {"error": error, "login_csrf": token, "next": _safe_next(request.query_params.get("next"))},
        status_code=status_code,
    )
    response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict", max_age=3600)
    return response


def _set_session(response: Response, value: str, secure: bool) -> None:
    response.set_cookie(
        COOKIE, value, httponly=True, samesite="strict", secure=secure, max_age=SESSION_MAX_AGE
    )


async def _checked_login_form(request: Request) -> dict[str, str]:
    form = await request.form()
    values = {k: field(form, k, max_length=1100) for k in ("csrf", "email", "token", "next")}
    values["password"] = secret(form, "password")
    expected = request.cookies.get(LOGIN_CSRF)
    if not expected or not websessions.csrf_matches(expected, values["csrf"]):
        raise PageForbidden("the sign-in form's security token is missing or stale; reload")
    return values


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request, None)


@router.post("/login")
async def login(request: Request) -> Response:
    values = await _checked_login_form(request)
    svc = request.app.state.services
    try:
        user = users.sign_in(svc, values["email"], values["password"], client=_client(request))
    except users.TooManyAttempts as exc:
        return _login_page(request, exc.message, status_code=429)
    except AuthError:
        return _login_page(request, "Wrong e-mail or password.", status_code=401)
    session_id = websessions.start(svc, user.id, client=_client(request))
    response = see_other(_safe_next(values["next"]))
    _set_session(response, session_id, request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF)
    return response


@router.post("/login/token")
async def login_with_token(request: Request) -> Response:
    """The original sign-in: paste an API token (kept for automation and the demo)."""
    values = await _checked_login_form(request)
    admin = request.app.state.settings.admin_token
    try:
        principal = authenticate(
            request.app.state.services,
            values["token"][:200],
            admin.get_secret_value() if admin else None,
        )
    except AuthError:
        return _login_page(request, "That token is not valid.", status_code=401)
    if principal.role is Role.INTAKE:
        return _login_page(request, "An intake token may only send leads.", status_code=403)
    response = see_other(_safe_next(values["next"]))
    _set_session(response, values["token"], request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF)
    return response


@router.post("/logout")
def logout(request: Request, _: AnyForm) -> Response:
    cookie = request.cookies.get(COOKIE, "")
    if cookie.startswith(websessions.SESSION_PREFIX):
        websessions.end(request.app.state.services, cookie)
    response = see_other("/login")
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
def home(who: Viewer) -> Response:
    return see_other("/dashboard" if who.principal.is_staff else "/my/leads")
