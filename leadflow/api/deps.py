"""Dependencies: the services handle and the authenticated principal."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Path, Query, Request

from leadflow.errors import Forbidden
from leadflow.schemas import MAX_ID
from leadflow.services import websessions
from leadflow.services.auth import Principal, Role, authenticate
from leadflow.services.context import Services

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A row id in the URL; out of the 64-bit range is a 422, never a database error."""
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


# Dependencies that do no blocking I/O are `async`: FastAPI runs a sync dependency in the
# thread pool, and each such hop cost intake measurable CPU (see docs/performance.md).
async def get_services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


SvcDep = Annotated[Services, Depends(get_services)]


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        return token.strip()
    # The web UI authenticates with a session cookie holding the same kind of token.
    return request.cookies.get("leadflow_session") or None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def current_principal(request: Request, svc: SvcDep) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    admin = request.app.state.settings.admin_token
    admin_token = admin.get_secret_value() if admin else None
    token = bearer(request)
    if admin_token and token and hmac.compare_digest(token.encode(), admin_token.encode()):
        principal = authenticate(svc, token, admin_token)  # no database: no thread needed
    else:
        principal = await anyio.to_thread.run_sync(_identify, request, svc, token, admin_token)
    request.state.principal = principal
    return principal


def _identify(
    request: Request, svc: Services, token: str | None, admin_token: str | None
) -> Principal:
    """A session cookie or an API token, looked up in the database (a worker thread)."""
    if token and token.startswith(websessions.SESSION_PREFIX):
        # A signed-in browser calling the API: its session cookie, and for a change the
        # page's CSRF token in `X-CSRF-Token` (a cookie alone could be a forged request).
        who = websessions.identify(svc, token, admin_token)
        if request.method not in SAFE_METHODS and not websessions.csrf_matches(
            who.csrf, request.headers.get("x-csrf-token")
        ):
            raise Forbidden("missing or wrong X-CSRF-Token header for a session-cookie request")
        return who.principal
    return authenticate(svc, token, admin_token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    allowed = set(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role {principal.role.value!r} may not do this (needs: {names})")
        return principal

    return check


Staff = Annotated[Principal, Depends(require(Role.ADMIN, Role.MANAGER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
AnyUser = Annotated[Principal, Depends(require(Role.ADMIN, Role.MANAGER, Role.REP))]
INTAKE_ROLES = (Role.ADMIN, Role.MANAGER, Role.INTAKE)
Intake = Annotated[Principal, Depends(require(*INTAKE_ROLES))]
