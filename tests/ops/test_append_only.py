"""The decision log is append-only: no endpoint rewrites it, and once enforced in the
database (`leadflow db enforce-append-only`) not even SQL can — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from leadflow.cli.main import app as cli
from leadflow.schemas import LeadIn
from leadflow.services import routing
from leadflow.services.context import Services
from leadflow.services.invariants import check_database
from leadflow.store.models import DecisionRow
from tests.ops.conftest import TestClient, World


def test_no_endpoint_updates_or_deletes_decisions(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path, operations in doc["paths"].items():
        if "decision" in path:
            assert set(operations) == {"get"}, path


def test_triggers_refuse_rewrites_but_routing_goes_on(
    svc: Services, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", svc.db.url)
    result = CliRunner().invoke(cli, ["db", "enforce-append-only"])
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(cli, ["db", "enforce-append-only"])
    assert again.exit_code == 0, again.output  # idempotent
    decision_id = world.lead_a["decision_id"]
    for statement in (
        update(DecisionRow).where(DecisionRow.id == decision_id).values(reason="rewritten"),
        delete(DecisionRow).where(DecisionRow.id == decision_id),
    ):
        with pytest.raises(DBAPIError, match="append-only"), svc.db.write() as s:
            s.execute(statement)
    if not svc.db.is_sqlite:
        with pytest.raises(DBAPIError, match="append-only"), svc.db.write() as s:
            s.execute(text("TRUNCATE decisions CASCADE"))
    # appending still works: intake writes new decisions as before
    view, created = routing.intake(svc, LeadIn(company={"country": "FR"}))
    assert created and view["decision_id"] > decision_id
    assert routing.get_decisions(svc, world.lead_a["id"])[0]["reason"] != "rewritten"
    assert check_database(svc).ok
