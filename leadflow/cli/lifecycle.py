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


def register(app: typer.Typer) -> None:
    app.add_typer(enrich_app, name="enrich")
    app.add_typer(score_app, name="score")
