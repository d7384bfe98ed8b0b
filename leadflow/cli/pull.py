"""`leadflow queues …`: see queues, what waits in them, and set reps' performance tiers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from leadflow.domain.pull import Tier
from leadflow.errors import LeadflowError

queues_app = typer.Typer(help="Pull queues and performance tiers.", no_args_is_help=True)


@queues_app.command("list")
def list_queues() -> None:
    """Every queue: mode, lease, policies, leads waiting."""
    from leadflow.cli.main import _services, out
    from leadflow.services import queues

    table = Table("queue", "mode", "lease (min)", "hoarding cap", "steps", "waiting")
    for q in queues.list_queues(_services()):
        p = q["policies"]
        steps = len(p["escalation"]) + (1 if p["auto_assign"] else 0)
        table.add_row(
            q["name"],
            q["mode"],
            f"{q['lease_minutes']:g}",
            str(p["hoarding_cap"]),
            str(steps),
            str(q["waiting"]),
        )
    out.print(table)


@queues_app.command("tier")
def set_tier(
    email: Annotated[str, typer.Argument(help="the rep's e-mail")],
    tier: Annotated[Tier, typer.Argument(help="top, average, new or struggling")],
) -> None:
    """Set a rep's performance tier (who pulls, and what they see)."""
    from sqlalchemy import select

    from leadflow.cli.main import _fail, _services, err, out
    from leadflow.services import queues
    from leadflow.store.models import RepRow

    svc = _services()
    with svc.db.read() as s:
        rep_id = s.scalar(select(RepRow.id).where(RepRow.email == email.lower()))
    if rep_id is None:
        err.print(f"[red]error:[/red] no rep with e-mail {email}", highlight=False)
        raise typer.Exit(code=1)
    try:
        view = queues.set_tier(svc, rep_id, tier)
    except LeadflowError as exc:
        raise _fail(exc) from None
    out.print(f"{email}: tier {view['tier']} ({'pulls' if view['pulls'] else 'auto-assigned'})")


def register(app: typer.Typer) -> None:
    app.add_typer(queues_app, name="queues")
