"""`leadflow queues list` and `leadflow queues tier` on the parametrised database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from leadflow.cli.main import app
from leadflow.services import queues
from tests.integration.pull.conftest import Pull


@pytest.fixture
def cli(pull: Pull, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", pull.svc.db.url)
    return CliRunner()


def test_queues_list_shows_modes_and_waiting(pull: Pull, cli: CliRunner) -> None:
    pull.queue("inbound", "blind", policies={"auto_assign": {"after_minutes": 5}})
    pull.route_to("inbound")
    pull.leads(2)
    result = cli.invoke(app, ["queues", "list"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "inbound" in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells == ["inbound", "blind", "15", "10", "1", "2"]


def test_queues_tier_sets_and_refuses_unknown_reps(pull: Pull, cli: CliRunner) -> None:
    ok = cli.invoke(app, ["queues", "tier", "r1@team.example", "new"])
    assert ok.exit_code == 0 and "tier new (auto-assigned)" in ok.output
    assert queues.get_tier(pull.svc, pull.reps[1])["tier"] == "new"
    bad = cli.invoke(app, ["queues", "tier", "ghost@team.example", "top"])
    assert bad.exit_code == 1
    assert "no rep with e-mail ghost@team.example" in bad.output
