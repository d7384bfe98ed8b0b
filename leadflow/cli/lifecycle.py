"""`leadflow enrich …` and `leadflow score …` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

enrich_app = typer.Typer(help="Enrichment data (firmographics).", no_args_is_help=True)
score_app = typer.Typer(help="Lead scoring models.", no_args_is_help=True)


@enrich_app.command("import")
def enrich_import(
    path: Annotated[
        Path, typer.Argument(help="firmographics.csv: domain,name,size,industry,country,state")
    ],
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Import the good rows, write the bad ones out")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Where --skip-bad-rows writes rejected rows (CSV)")
    ] = None,
) -> None:
    """Import company data by domain. Any bad line → nothing imported (unless --skip-bad-rows)."""
    from leadflow.cli.main import _read, _services, err, out
    from leadflow.services.enrichment import (
        ImportFailed,
        import_firmographics,
        reject_file,
    )

    data = _read(path)
    try:
        stats = import_firmographics(_services(), data, skip_bad_rows=skip_bad_rows)
    except ImportFailed as exc:
        err.print(
            f"[red]error:[/red] {len(exc.line_errors)} problem(s) in {path}; nothing imported."
        )
        for e in exc.line_errors[:50]:
            err.print(f"  {path}:{e}", highlight=False)
        raise typer.Exit(code=1) from None
    for e in stats["errors"][:50]:
        err.print(f"  skipped {path}:{e}", highlight=False)
    if stats["bad_rows"]:
        target = rejects or path.with_name(path.stem + ".rejects.csv")
        target.write_text(reject_file(stats["bad_rows"], stats["errors"]), encoding="utf-8")
        err.print(f"{stats['rejected']} rejected row(s) written to {target}")
    out.print(f"Imported {stats['imported']} firmographic record(s).")


@score_app.command("train")
def score_train(
    path: Annotated[Path, typer.Argument(help="history.csv: lead columns + converted (1/0)")],
    activate: Annotated[
        bool, typer.Option("--activate", help="Use this model as the scorer from now on")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the train/test shuffle")] = 7,
    holdout: Annotated[float, typer.Option(min=0.1, max=0.5, help="Share held out")] = 0.25,
) -> None:
    """Fit a logistic regression on past outcomes; report its AUC on held-out rows."""
    from leadflow.cli.main import _fail, _read, _services, out
    from leadflow.errors import LeadflowError
    from leadflow.services.scoring_train import train

    try:
        report = train(_services(), _read(path), activate=activate, seed=seed, holdout=holdout)
    except LeadflowError as exc:
        raise _fail(exc) from None
    out.print(
        f"Model {report.model_id}: {report.rows} rows ({report.train_rows} train, "
        f"{report.test_rows} held out); held-out AUC {report.auc:.3f}"
        + (
            " — active"
            if report.active
            else f" (activate: leadflow score activate {report.model_id})"
        )
    )
    for name, weight in report.top_features:
        out.print(f"  {weight:+.3f}  {name}", highlight=False)


@score_app.command("activate")
def score_activate(
    model_id: Annotated[
        int | None, typer.Argument(help="Model id; omit to use points again")
    ] = None,
) -> None:
    """Make a trained model the scorer (or, without an id, go back to the points model)."""
    from leadflow.cli.main import _fail, _services, out
    from leadflow.errors import LeadflowError
    from leadflow.services.scoring_train import activate

    try:
        activate(_services(), model_id)
    except LeadflowError as exc:
        raise _fail(exc) from None
    out.print(f"Scorer: {'model ' + str(model_id) if model_id else 'points model'}.")


def redistribute(
    rep_email: Annotated[str, typer.Argument(help="E-mail of the rep whose leads move")],
    reason: Annotated[str, typer.Option(help="Why (kept in every decision)")] = "",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the batch, change nothing")
    ] = False,
) -> None:
    """Send every open lead of a leaving rep back through the rules, as one batch."""
    from rich.table import Table
    from sqlalchemy import select

    from leadflow.cli.main import _fail, _services, err, out
    from leadflow.errors import LeadflowError
    from leadflow.services.reassign import redistribute as run
    from leadflow.store.models import RepRow

    svc = _services()
    with svc.db.read() as s:
        rep_id = s.scalar(select(RepRow.id).where(RepRow.email == rep_email.lower()))
    if rep_id is None:
        err.print(f"[red]error:[/red] no rep with e-mail {rep_email}")
        raise typer.Exit(code=1)
    try:
        report = run(svc, rep_id, reason=reason, dry_run=dry_run, actor="cli")
    except LeadflowError as exc:
        raise _fail(exc) from None
    table = Table("lead", "outcome", "to rep", "queue", "rule", "status")
    for item in report["items"]:
        table.add_row(*(str(item[k] if item[k] is not None else "") for k in
                        ("lead_id", "outcome", "rep_id", "queue", "rule", "status")))  # fmt: skip
    out.print(table)
    verb = "Would move" if dry_run else "Moved"
    out.print(f"{verb} {report['total']} lead(s): {report['assigned']} assigned, "
              f"{report['queued']} queued, {report['offered']} offered.")  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("redistribute")(redistribute)
    app.add_typer(enrich_app, name="enrich")
    app.add_typer(score_app, name="score")
