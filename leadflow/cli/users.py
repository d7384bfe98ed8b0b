"""`leadflow user create|list`: web sign-ins (password hashed with argon2)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadflow.config import Settings
from leadflow.errors import LeadflowError
from leadflow.services.context import Services
from leadflow.store.db import Database

out = Console()
err = Console(stderr=True)


def _rep_id(svc: Services, rep: str | None) -> int | None:
    from sqlalchemy import select

    from leadflow.store.models import RepRow

    if rep is None:
        return None
    with svc.db.read() as s:
        if rep.isdigit():
            found = s.scalar(select(RepRow.id).where(RepRow.id == int(rep)))
        else:
            found = s.scalar(select(RepRow.id).where(RepRow.email == rep.strip().lower()))
    if found is None:
        raise LeadflowError(f"no rep with id or e-mail {rep!r} (see GET /api/v1/reps)")
    return int(found)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    env = os.environ.get("LEADFLOW_PASSWORD")
    if env:
        return env
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _services() -> Services:
    db = Database(Settings().database_url)
    db.upgrade()
    return Services(db)


def _fail(exc: LeadflowError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message}", highlight=False)
    return typer.Exit(code=1)


def register(app: typer.Typer) -> None:

    user_app = typer.Typer(
        help="Web users (sign in with e-mail and password).", no_args_is_help=True
    )
    app.add_typer(user_app, name="user")

    @user_app.command("create")
    def create(
        email: Annotated[str, typer.Option(help="Sign-in e-mail")],
        role: Annotated[str, typer.Option(help="admin, manager or rep")],
        rep: Annotated[str | None, typer.Option(help="The rep this user is (id or e-mail)")] = None,
        name: Annotated[str, typer.Option(help="Display name (default: the rep's)")] = "",
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="Read the password from stdin")
        ] = False,
        replace: Annotated[bool, typer.Option(help="Reset an existing user")] = False,
    ) -> None:
        """Create a web user. The password is prompted for (or LEADFLOW_PASSWORD, or
        --password-stdin); it is stored only as an argon2 hash."""
        from leadflow.services import users

        svc = _services()
        try:
            view = users.create_user(
                svc,
                email=email,
                password=_password(password_stdin),
                role=role,
                rep_id=_rep_id(svc, rep),
                name=name,
                replace=replace,
            )
        except LeadflowError as exc:
            raise _fail(exc) from None
        out.print(f"User {view['email']} ({view['role']}) ready; sign in at /login.")

    @user_app.command("list")
    def list_() -> None:
        """List web users."""
        from leadflow.services import users

        table = Table("id", "email", "role", "rep", "last sign-in")
        for u in users.list_users(_services()):
            table.add_row(
                str(u["id"]),
                u["email"],
                u["role"],
                str(u["rep_id"] or ""),
                str(u["last_login_at"] or ""),
            )
        out.print(table)
