"""Operations commands: `leadflow check`, `leadflow token revoke`, `leadflow db
enforce-append-only`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

out = Console()
err = Console(stderr=True)


def _services():  # type: ignore[no-untyped-def]
    from leadflow.config import Settings
    from leadflow.services.context import Services
    from leadflow.store.db import Database

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


def register(app: typer.Typer) -> None:
    app.command()(check)
