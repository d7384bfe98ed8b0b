"""The `leadflow` command line (Typer)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from leadflow.config import Settings
from leadflow.errors import LeadflowError
from leadflow.services.context import Services
from leadflow.store.db import Database

app = typer.Typer(
    help="leadflow: route every lead to the right rep, and say why.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
rulebook_app = typer.Typer(help="Validate and activate rulebooks.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(rulebook_app, name="rulebook")
app.add_typer(token_app, name="token")

out = Console()
err = Console(stderr=True)


def _services(url: str | None = None) -> Services:
    db = Database(url or Settings().database_url)
    db.upgrade()
    return Services(db)


def _fail(exc: LeadflowError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message}", highlight=False)
    for item in getattr(exc, "errors", [])[1:20]:
        err.print(f"  {item}", highlight=False)
    return typer.Exit(code=1)


def _read(path: Path) -> bytes:
    if not path.exists():
        err.print(f"[red]error:[/red] {path}: no such file")
        raise typer.Exit(code=2)
    return path.read_bytes()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: LEADFLOW_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default: LEADFLOW_PORT or 8000")] = None,
    workers: Annotated[int, typer.Option(help="HTTP worker processes")] = 1,
    intake_writer: Annotated[
        bool,
        typer.Option(
            help="SQLite: route and commit leads in a process of their own, beside the HTTP"
            " worker(s), so the two use separate cores"
        ),
    ] = True,
) -> None:
    """Run the HTTP API and web UI."""
    import uvicorn

    from leadflow.cli import intake_process
    from leadflow.observability.logs import configure_logging
    from leadflow.observability.metrics import prepare_multiprocess

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    _services(settings.database_url).db.dispose()  # migrate once, before workers start
    if workers > 1:
        prepare_multiprocess()
    writer = (
        intake_process.running_writer()
        if intake_writer and intake_process.wanted(settings.database_url)
        else contextlib.nullcontext()
    )
    with writer:
        uvicorn.run(
            "leadflow.api.app:create_app",
            factory=True,
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            log_level=settings.log_level,
            log_config=None,  # leadflow's JSON handler (secrets scrubbed) formats everything
            access_log=False,  # replaced by leadflow.access lines, which carry the request id
            proxy_headers=True,
        )


@app.command("intake-writer", hidden=True)
def intake_writer_process(
    socket_path: Annotated[Path, typer.Option("--socket", help="Unix socket to listen on")],
) -> None:
    """The intake writer process that `leadflow serve` starts on SQLite (internal)."""
    import gc
    import signal

    from leadflow.observability.logs import configure_logging
    from leadflow.services import decision_metrics, intake_writer

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    decision_metrics.counted_on_commit = False  # counted by the HTTP process (/metrics)
    svc = Services(Database(settings.database_url))  # `serve` migrated it before
    parent = os.environ.get("LEADFLOW_PARENT_PID")

    def stop(*_: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    # Ctrl-C in a terminal reaches the whole process group: the HTTP process then finishes
    # its requests, which need this one; it stops the writer (SIGTERM) once it is done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()  # modules, mappers: kept for the process's life, out of collections
    try:
        # Orphaned (the server was killed): stop, rather than hold the database open.
        intake_writer.serve(svc, socket_path, lambda: parent is None or os.getppid() == int(parent))
    finally:
        svc.db.dispose()  # lets the group commit finish and answer what it holds


@app.command()
def demo(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    rate: Annotated[float, typer.Option(help="Demo leads per second")] = 0.5,
    database: Annotated[str | None, typer.Option(help="Database URL")] = None,
) -> None:
    """Start a server with a demo organisation and a live stream of demo leads."""
    import uvicorn

    from leadflow.api.app import create_app
    from leadflow.demo.run import seed, stream
    from leadflow.services.auth import Role, create_token

    settings = Settings()
    if database is None and "LEADFLOW_DATABASE_URL" not in os.environ:
        database = f"sqlite:///{Path.cwd() / 'leadflow-demo.db'}"
    url = database or settings.database_url
    svc = _services(url)
    if seed(svc):
        out.print("Seeded the demo organisation (20 reps, 5 teams, 3 territories, 5 accounts).")
    token, _ = create_token(svc, Role.ADMIN, name="demo admin")
    host = host or settings.host
    port = port or settings.port
    out.print(f"\n[bold]leadflow demo[/bold] on http://{host}:{port}/")
    out.print("Sign in at /login with one of these (passwords are new at every start):")
    from leadflow.demo.users import ensure_demo_users

    for email, role, password in ensure_demo_users(svc):
        out.print(f"  {role:<8} [bold]{email}[/bold]  password [bold]{password}[/bold]")
    out.print(f"or with this admin API token: [bold]{token}[/bold]")
    out.print(f"API docs: http://{host}:{port}/docs · database: {url}\n")
    stop = threading.Event()
    if rate > 0:
        stream(svc, stop, per_second=rate)
    try:
        uvicorn.run(create_app(settings, svc), host=host, port=port, log_level="warning")
    finally:
        stop.set()


@app.command()
def worker(
    interval: Annotated[float, typer.Option(help="Seconds between polls when idle")] = 1.0,
    once: Annotated[bool, typer.Option("--once", help="Run due timers once and exit")] = False,
) -> None:
    """Run due timers (claim expiry, offer timeouts, escalations, SLAs) in a loop.

    Run as many workers as you like on PostgreSQL: they coordinate through row locks.
    """
    import logging
    import time

    from leadflow.observability.logs import configure_logging
    from leadflow.services.timers import run_all_due

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    svc = _services(settings.database_url)
    logging.getLogger("leadflow.worker").info("worker started", extra={"interval_s": interval})
    while True:
        done = run_all_due(svc)
        if once:
            out.print(done)
            return
        if not any(done.values()):
            time.sleep(interval)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    svc = _services()
    out.print(f"Schema up to date ({svc.db.engine.dialect.name}).")


@app.command()
def load(
    path: Annotated[Path, typer.Argument(help="org.yaml: teams, territories, reps, accounts")],
) -> None:
    """Load (or update) the organisation from a YAML file."""
    from leadflow.services import loader

    svc = _services()
    try:
        stats = loader.load(svc, loader.parse(_read(path).decode("utf-8")))
    except LeadflowError as exc:
        raise _fail(exc) from None
    out.print("Loaded: " + ", ".join(f"{v} {k}" for k, v in stats.items()))


@app.command("import")
def import_(path: Annotated[Path, typer.Argument(help="leads.csv with a header row")]) -> None:
    """Import and route leads from CSV. Any bad line → nothing is imported."""
    from leadflow.services.imports import ImportFailed, import_leads, parse_csv

    data = _read(path)
    leads, errors = parse_csv(data)
    if errors:
        err.print(f"[red]error:[/red] {len(errors)} problem(s) in {path}; nothing imported.")
        for e in errors[:50]:
            err.print(f"  {path}:{e}", highlight=False)
        raise typer.Exit(code=1)
    svc = _services()
    with Progress(console=err) as progress:
        task = progress.add_task("routing", total=len(leads))
        try:
            stats = import_leads(svc, data, progress=lambda n: progress.advance(task, n))
        except ImportFailed as exc:
            raise _fail(exc) from None
    out.print(f"Imported {stats['created']} lead(s); {stats['already_present']} already present.")


@app.command()
def route(
    path: Annotated[Path, typer.Argument(help="lead.json")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide without storing")] = False,
) -> None:
    """Route one lead from a JSON file (with --dry-run: only show where it would go)."""
    from pydantic import ValidationError as PydanticError

    from leadflow.schemas import LeadIn
    from leadflow.services import routing

    try:
        lead = LeadIn.model_validate_json(_read(path))
    except PydanticError as exc:
        e = exc.errors()[0]
        err.print(f"[red]error:[/red] {'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}")
        raise typer.Exit(code=1) from None
    svc = _services()
    if dry_run:
        result = routing.dry_run(svc, lead)
        _print_trace(result)
        out.print_json(json.dumps(result, default=str))
    else:
        view, _ = routing.intake(svc, lead, actor="cli")
        out.print_json(json.dumps(view, default=str))


def _print_trace(result: dict[str, object]) -> None:
    trace = result["trace"]
    assert isinstance(trace, dict)
    table = Table(title=f"→ {result['outcome']} by rule {result['rule']!r}: {result['reason']}")
    table.add_column("rule")
    table.add_column("matched")
    table.add_column("result")
    for step in trace["steps"]:
        table.add_row(step["rule"], str(step.get("matched", "")), str(step.get("result", "")))
    err.print(table)


@rulebook_app.command("validate")
def rulebook_validate(path: Path) -> None:
    """Check a rulebook against the current organisation; nothing is stored."""
    from leadflow.services import rulebooks

    try:
        _, compiled = rulebooks.validate(_services(), _read(path))
    except LeadflowError as exc:
        raise _fail(exc) from None
    out.print(f"Valid: {len(compiled.rules)} rule(s) + fallback.")


@rulebook_app.command("activate")
def rulebook_activate(path: Path) -> None:
    """Validate, store as a new version, and activate."""
    from leadflow.services import rulebooks

    try:
        view = rulebooks.save(_services(), _read(path), actor="cli")
    except LeadflowError as exc:
        raise _fail(exc) from None
    out.print(f"Activated rulebook version {view['version']}.")


@rulebook_app.command("versions")
def rulebook_versions() -> None:
    """List stored versions (newest first)."""
    from leadflow.services import rulebooks

    table = Table("version", "active", "rules", "created", "by")
    for v in rulebooks.list_versions(_services()):
        table.add_row(
            str(v["version"]),
            "yes" if v["active"] else "",
            str(v["rules"]),
            str(v["created_at"]),
            v["created_by"],
        )
    out.print(table)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin, manager, rep or intake")],
    name: Annotated[str, typer.Option()] = "",
    rep_email: Annotated[str | None, typer.Option(help="For a rep token: whose")] = None,
    expires_in_days: Annotated[
        float | None, typer.Option(help="Refuse the token after this many days")
    ] = None,
) -> None:
    """Create an API token; it is printed once and only its digest is stored."""
    from sqlalchemy import select

    from leadflow.services.auth import Role, create_token
    from leadflow.store.models import RepRow

    try:
        role_value = Role(role)
    except ValueError:
        err.print(f"[red]error:[/red] --role must be one of: {', '.join(r.value for r in Role)}")
        raise typer.Exit(code=2) from None
    svc = _services()
    rep_id = None
    if rep_email:
        with svc.db.read() as s:
            rep_id = s.scalar(select(RepRow.id).where(RepRow.email == rep_email.lower()))
        if rep_id is None:
            err.print(f"[red]error:[/red] no rep with e-mail {rep_email}")
            raise typer.Exit(code=1)
    try:
        expires_at = None
        if expires_in_days is not None:
            from datetime import timedelta

            expires_at = svc.clock.now() + timedelta(days=expires_in_days)
        token, _ = create_token(svc, role_value, name=name, rep_id=rep_id, expires_at=expires_at)
    except LeadflowError as exc:
        raise _fail(exc) from None
    sys.stdout.write(token + "\n")


def _register_feature_commands() -> None:
    """Each `leadflow/cli/<feature>.py` with a `register(app)` adds its own commands."""
    import importlib
    import pkgutil

    import leadflow.cli

    for info in sorted(pkgutil.iter_modules(leadflow.cli.__path__), key=lambda i: i.name):
        if info.name == "main":
            continue
        module = importlib.import_module(f"leadflow.cli.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(app)


_register_feature_commands()

if __name__ == "__main__":
    app()
