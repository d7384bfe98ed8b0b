"""The `leadflow` command line, run in-process with Typer's CliRunner on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadflow.cli.main import app
from leadflow.services import auth, org, routing
from leadflow.services.context import Services
from leadflow.store.db import Database

ORG = """
teams: [{name: france}]
reps:
  - {name: Ana, email: ana@x.example, teams: [france]}
  - {name: Bo, email: bo@x.example, teams: [france]}
"""
RULEBOOK = """
rules:
  - name: france
    when: {company.country: FR}
    assign: {team: france, method: round_robin}
fallback: {queue: unassigned}
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("COLUMNS", "200")  # keep Rich from wrapping messages mid-word
    return CliRunner()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "org.yaml").write_text(ORG)
    (tmp_path / "rulebook.yaml").write_text(RULEBOOK)
    (tmp_path / "bad_rulebook.yaml").write_text(RULEBOOK.replace("team: france", "team: spain"))
    (tmp_path / "lead.json").write_text(json.dumps({"company": {"country": "FR"}}))
    (tmp_path / "leads.csv").write_text(
        "external_id,email,company_country\nc-1,a@p.example,FR\nc-2,b@p.example,FR\n"
    )
    (tmp_path / "bad.csv").write_text(
        "external_id,email,company_country\nc-1,a@p.example,FR\nc-2,oops,FR\nc-3,,ZZ\n"
    )
    return tmp_path


def services(tmp_path: Path) -> Services:
    return Services(Database(f"sqlite:///{tmp_path / 'cli.db'}"))


def run(cli: CliRunner, *args: str | Path, code: int = 0) -> str:
    result = cli.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout + result.stderr


def test_load_validate_activate_import_route(cli: CliRunner, files: Path) -> None:
    """The documented path: load the org, check and activate a rulebook, import, route."""
    assert "Loaded: 1 teams, 0 territories, 2 reps" in run(cli, "load", files / "org.yaml")
    assert "Valid: 1 rule(s)" in run(cli, "rulebook", "validate", files / "rulebook.yaml")
    assert "version 1" in run(cli, "rulebook", "activate", files / "rulebook.yaml")
    assert "Imported 2 lead(s)" in run(cli, "import", files / "leads.csv")
    assert "0 lead(s); 2 already present" in run(cli, "import", files / "leads.csv")
    routed = cli.invoke(app, ["route", str(files / "lead.json")])
    assert json.loads(routed.stdout)["status"] == "assigned"
    svc = services(files)
    assert len(routing.list_leads(svc)["items"]) == 3
    svc.db.dispose()


def test_load_error_gives_the_line_and_loads_nothing(cli: CliRunner, files: Path) -> None:
    (files / "bad_org.yaml").write_text(
        ORG.replace("teams: [france]}\n  - {name: Bo", "teams: [spain]}\n  - {name: Bo")
    )
    output = run(cli, "load", files / "bad_org.yaml", code=1)
    assert "line 4: reps.0.teams.0: unknown team 'spain'" in output
    svc = services(files)
    assert org.counts(svc)["reps"] == 0
    svc.db.dispose()


def test_import_with_a_bad_line_names_it_and_imports_nothing(cli: CliRunner, files: Path) -> None:
    run(cli, "load", files / "org.yaml")
    output = run(cli, "import", files / "bad.csv", code=1)
    assert "nothing imported" in output
    assert "bad.csv:line 3: email:" in output
    assert "bad.csv:line 4: company.country:" in output
    svc = services(files)
    assert routing.list_leads(svc)["items"] == []
    svc.db.dispose()


def test_route_dry_run_explains_and_stores_nothing(cli: CliRunner, files: Path) -> None:
    run(cli, "load", files / "org.yaml")
    run(cli, "rulebook", "activate", files / "rulebook.yaml")
    result = cli.invoke(app, ["route", "--dry-run", str(files / "lead.json")])
    assert result.exit_code == 0, result.stderr
    decision = json.loads(result.stdout)
    assert (decision["outcome"], decision["rule"], decision["owner_name"]) == (
        "assigned",
        "france",
        "Ana",
    )
    assert "france" in result.stderr  # the trace table
    svc = services(files)
    assert routing.list_leads(svc)["items"] == []
    svc.db.dispose()


def test_invalid_rulebook_is_refused_naming_rule_and_field(cli: CliRunner, files: Path) -> None:
    run(cli, "load", files / "org.yaml")
    for command in ("validate", "activate"):
        output = run(cli, "rulebook", command, files / "bad_rulebook.yaml", code=1)
        assert "rule 'france': assign.team: unknown team 'spain'" in output
    assert "yes" not in run(cli, "rulebook", "versions")


def test_bad_lead_file_names_the_field(cli: CliRunner, files: Path) -> None:
    (files / "bad.json").write_text('{"email": "nope"}')
    assert "email:" in run(cli, "route", "--dry-run", files / "bad.json", code=1)
    assert "no such file" in run(cli, "route", files / "missing.json", code=2)


def test_token_create_prints_a_working_token(cli: CliRunner, files: Path) -> None:
    """The printed token authenticates with its role; only its digest is stored."""
    token = run(cli, "token", "create", "--role", "intake", "--name", "form").strip()
    svc = services(files)
    principal = auth.authenticate(svc, token, None)
    assert (principal.role, principal.name) == (auth.Role.INTAKE, "form")
    assert token not in json.dumps(auth.list_tokens(svc), default=str)
    svc.db.dispose()
    assert "--role must be one of" in run(cli, "token", "create", "--role", "king", code=2)
    assert "no rep with e-mail" in run(
        cli, "token", "create", "--role", "rep", "--rep-email", "x@y.example", code=1
    )
