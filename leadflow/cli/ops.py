"""Operations commands: `leadflow check`, `leadflow token revoke`, `leadflow db
enforce-append-only`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadflow.config import Settings
from leadflow.services.context import Services
from leadflow.store.db import Database

out = Console()
err = Console(stderr=True)


def _services() -> Services:
    db = Database(Settings().database_url)
    db.upgrade()
    return Services(db)


def check(
    timer_grace: Annotated[
        float, typer.Option(help="Seconds a due timer may wait before it counts as not fired")
    ] = 300.0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
    show: Annotated[int, typer.Option(help="Violations listed per check")] = 20,
) -> None:
    """Scan the database for invariant violations (two owners, counters, caps, leads
    without outcome, orphan or stuck timers). Exit code 1 when any is found."""
    from leadflow.services.invariants import check_database

    svc = _services()
    try:
        report = check_database(svc, timer_grace=timedelta(seconds=timer_grace))
    finally:
        svc.db.dispose()
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
    else:
        scanned = ", ".join(f"{n} {what}" for what, n in report.scanned.items())
        out.print(f"Scanned {scanned}.")
        for name, items in report.by_check().items():
            table = Table(title=f"{name}: {len(items)} violation(s)", title_justify="left")
            table.add_column("subject")
            table.add_column("detail")
            for v in items[:show]:
                table.add_row(v.subject, v.detail)
            if len(items) > show:
                table.add_row("…", f"{len(items) - show} more")
            out.print(table)
        out.print("[green]OK: no violation.[/green]" if report.ok else
                  f"[red]FAILED: {len(report.violations)} violation(s).[/red]")
    if not report.ok:
        raise typer.Exit(code=1)


def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see GET /api/v1/tokens)")],
) -> None:
    """Revoke an API token: every request with it is refused from now on."""
    from leadflow.errors import LeadflowError
    from leadflow.services.auth import revoke_token

    svc = _services()
    try:
        view = revoke_token(svc, token_id)
    except LeadflowError as exc:
        err.print(f"[red]error:[/red] {exc.message}", highlight=False)
        raise typer.Exit(code=1) from None
    finally:
        svc.db.dispose()
    who = f"{view['id']} ({view['name']}, {view['role']})"
    out.print(f"Token {who} revoked at {view['revoked_at']}.")


def enforce_append_only() -> None:
    """Make the decision log append-only in the database itself (triggers refusing
    UPDATE, DELETE and TRUNCATE on `decisions`). Idempotent; see docs/deploy.md."""
    from leadflow.store.append_only import enforce_append_only as enforce

    svc = _services()
    try:
        enforce(svc.db)
    finally:
        svc.db.dispose()
    out.print(f"Decision log is append-only ({svc.db.engine.dialect.name} triggers installed).")


def _group(app: typer.Typer, name: str) -> typer.Typer:
    for group in app.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    raise LookupError(f"no `{name}` command group")


def register(app: typer.Typer) -> None:
    app.command()(check)
    _group(app, "token").command("revoke")(token_revoke)
    _group(app, "db").command("enforce-append-only")(enforce_append_only)
