"""Enrichment before routing and the firmographic import, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadflow.cli.main import app
from leadflow.errors import ValidationError
from leadflow.services import routing
from leadflow.services.context import Services
from leadflow.services.enrichment import import_firmographics
from leadflow.services.imports import ImportFailed
from leadflow.store.lifecycle_models import FirmographicRow
from tests.integration.lifecycle.conftest import activate, add_lead, make_org

FIRMO = b"""domain,name,size,industry,country,state
acme.com,Acme Corp,1200,software,FR,
globex.de,Globex GmbH,80,manufacturing,DE,
"""

BAD = b"""domain,name,size,industry,country,state
acme.com,Acme Corp,1200,software,FR,
not a domain,X,10,retail,FR,
initech.com,Initech,lots,software,US,CA
"""


def _count(svc: Services) -> int:
    with svc.db.read() as s:
        return s.query(FirmographicRow).count()


class TestFirmographicImport:
    def test_bad_rows_are_reported_by_line_and_nothing_is_imported(self, svc: Services) -> None:
        with pytest.raises(ImportFailed) as info:
            import_firmographics(svc, BAD)
        assert [str(e) for e in info.value.line_errors] == [
            "line 3: domain: 'not a domain' is not a domain like acme.com",
            "line 4: size: 'lots' is not a whole number of employees",
        ]
        assert _count(svc) == 0

    def test_skip_bad_rows_imports_the_rest(self, svc: Services) -> None:
        stats = import_firmographics(svc, BAD, skip_bad_rows=True)
        assert (stats["imported"], stats["rejected"]) == (1, 2)
        assert _count(svc) == 1

    def test_reimport_updates_by_domain(self, svc: Services) -> None:
        import_firmographics(svc, FIRMO)
        import_firmographics(svc, b"domain,size\nacme.com,1500\n")
        with svc.db.read() as s:
            row = s.get(FirmographicRow, "acme.com")
            assert row is not None and row.size == 1500
        assert _count(svc) == 2

    def test_cli_import_reports_lines_and_writes_rejects(
        self, svc: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("LEADFLOW_DATABASE_URL", svc.db.url)
        path = tmp_path / "firmographics.csv"
        path.write_bytes(BAD)
        runner = CliRunner()
        result = runner.invoke(app, ["enrich", "import", str(path)])
        assert result.exit_code == 1
        unwrapped = result.output.replace("\n", "")  # the console wraps long lines
        assert "firmographics.csv:line 3: domain" in unwrapped
        result = runner.invoke(app, ["enrich", "import", str(path), "--skip-bad-rows"])
        assert result.exit_code == 0, result.output
        rejects = (tmp_path / "firmographics.rejects.csv").read_text()
        assert "lots" in rejects and "line,domain" in rejects
        assert _count(svc) == 1


class TestEnrichmentBeforeRouting:
    def test_company_fields_filled_from_firmographics_and_traced(self, svc: Services) -> None:
        """A lead with only an e-mail gets the company's country, so the FR rule routes it."""
        make_org(svc)
        activate(svc)
        import_firmographics(svc, FIRMO)
        lead = add_lead(svc, email="jane@eu.acme.com", company={})
        assert lead["status"] == "assigned"
        assert lead["company"]["name"] == "Acme Corp" and lead["company"]["size"] == 1200
        assert lead["language"] == "fr"
        trace = routing.get_decisions(svc, lead["id"])[0]["trace"]
        steps = trace["before_routing"]
        assert {"step": "enrich", "firmographics": "acme.com",
                "filled": ["name", "size", "industry", "country"]} in steps  # fmt: skip

    def test_country_and_timezone_from_phone(self, svc: Services) -> None:
        make_org(svc)
        activate(svc)
        lead = add_lead(svc, phone="+49 30 1234567", company={})
        assert lead["company"]["country"] == "DE"
        assert lead["enrichment"]["timezone"] == "Europe/Berlin"
        assert lead["language"] == "de"

    def test_free_mail_is_flagged(self, svc: Services) -> None:
        make_org(svc)
        activate(svc)
        assert add_lead(svc, email="joe@gmail.com")["enrichment"]["free_mail"] is True
        assert add_lead(svc, email="joe@acme.com")["enrichment"]["free_mail"] is False

    def test_unparseable_phone_is_kept_and_flagged_when_allowed(self, svc: Services) -> None:
        make_org(svc)
        activate(svc, {"enrichment": {"require_valid_phone": False}})
        lead = add_lead(svc, phone="call after 5pm")
        assert "phone" not in lead
        assert lead["enrichment"]["phone_raw"] == "call after 5pm"
        assert lead["enrichment"]["phone_flag"] == "unparseable"

    def test_an_invalid_phone_is_refused_by_default(self, svc: Services) -> None:
        make_org(svc)
        activate(svc)
        with pytest.raises(ValidationError) as info:
            add_lead(svc, phone="12")
        assert info.value.field == "phone"
        assert routing.list_leads(svc)["items"] == []

    def test_rules_can_test_enrichment(self, svc: Services) -> None:
        """`enrichment.free_mail` is a field rules may route on."""
        make_org(svc)
        extra = {
            "rules": [
                {"name": "consumers", "when": {"enrichment.free_mail": True}, "queue": "b2c"},
                {"name": "sales", "assign": {"team": "sales", "method": "round_robin"}},
            ]
        }
        activate(svc, None, **extra)
        assert add_lead(svc, email="joe@gmail.com")["queue"] == "b2c"
        assert add_lead(svc, email="joe@acme.com")["status"] == "assigned"


class TestLeadImportWithRulebookChecks:
    def test_required_phone_refuses_the_whole_file_by_line(self, svc: Services) -> None:
        """A rulebook requiring valid phones makes a bad line fail the file: nothing stored."""
        from leadflow.services.imports import ImportFailed as LeadImportFailed
        from leadflow.services.imports import import_leads

        make_org(svc)
        activate(svc, {"enrichment": {"require_valid_phone": True}})
        data = b"email,phone,company_country\na@x.example,+33142685300,FR\nb@x.example,12,FR\n"
        with pytest.raises(LeadImportFailed) as info:
            import_leads(svc, data)
        assert [str(e) for e in info.value.line_errors] == [
            "line 3: phone: '12' is not a valid phone number; write it with its country code (+33…)"
        ]
        assert routing.list_leads(svc)["items"] == []
