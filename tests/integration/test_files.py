"""Loading an organisation from YAML and importing leads from CSV: all or nothing."""

from __future__ import annotations

import pytest

from leadflow.errors import ValidationError
from leadflow.services import imports, loader, org, routing, rulebooks
from leadflow.services.context import Services

ORG_YAML = """
teams:
  - {name: france, manager: boss@x.example}
territories:
  - {name: west, team: france, countries: [FR]}
reps:
  - {name: Boss, email: boss@x.example}
  - {name: Ana, email: ana@x.example, teams: [france], territories: [west]}
  - {name: Bo, email: bo@x.example, teams: [france], capacity: {max_open: 5}}
accounts:
  - {name: Acme, domains: [acme.com], owner: ana@x.example}
rulebook:
  rules:
    - {name: accounts, when: {account.matched: true}, assign: {method: account_owner}}
    - {name: france, when: {company.country: FR}, assign: {team: france, method: round_robin}}
  fallback: {queue: unassigned}
"""

CSV_OK = (
    "external_id,email,company_country,company_size,score,attr_utm_source\n"
    "c-1,jane@acme.com,FR,120,55,linkedin\n"
    "c-2,,FR,,,\n"
    ",max@prospect.example,US,10,,\n"
)


def _load(svc: Services, text: str) -> dict[str, int]:
    return loader.load(svc, loader.parse(text))


class TestLoad:
    def test_load_creates_everything_and_rerun_is_idempotent(self, svc: Services) -> None:
        """A first load creates; running it again updates reps and creates nothing new."""
        stats = _load(svc, ORG_YAML)
        expected = {"teams": 1, "territories": 1, "reps": 3, "accounts": 1, "queues": 0}
        assert stats == {**expected, "updated": 0}
        boss = next(r for r in org.list_reps(svc) if r["email"] == "boss@x.example")
        assert org.list_teams(svc)[0]["manager_rep_id"] == boss["id"]
        assert rulebooks.get_active(svc)["version"] == 1
        again = _load(svc, ORG_YAML)
        assert again == {**dict.fromkeys(expected, 0), "updated": 3}
        assert org.counts(svc)["reps"] == 3

    @pytest.mark.parametrize(
        ("text", "field", "line"),
        [
            ("reps: [{name: X, email: not-an-email}]", "reps.0.email", 1),
            ("teams:\n  - {name: t}\n  - {name: u, colour: red}", "teams.1.colour", 3),
            (
                "reps:\n  - name: X\n    email: x@x.example\n    capacity: {max_open: -1}",
                "reps.0.capacity.max_open",
                4,
            ),
            ("reps:\n  - {name: X}", "reps.0.email", 2),
        ],
    )
    def test_invalid_document_names_the_field_and_line(
        self, text: str, field: str, line: int
    ) -> None:
        """Schema errors name the path in the document and its line."""
        with pytest.raises(ValidationError) as info:
            loader.parse(text)
        assert info.value.field == field
        assert info.value.message.startswith(f"line {line}: {field}: ")

    def test_yaml_syntax_error_gives_the_line(self) -> None:
        with pytest.raises(ValidationError, match=r"line 3"):
            loader.parse("teams:\n  - {name: a}\n  - {name: [b\n")

    @pytest.mark.parametrize(
        ("old", "new", "field"),
        [
            ("manager: boss@x.example", "manager: nobody@x.example", "teams.0.manager"),
            ("owner: ana@x.example", "owner: nobody@x.example", "accounts.0.owner"),
            ("territories: [west]", "territories: [east]", "reps.1.territories.0"),
            ("rulebook:", "  - {name: Copy, domains: [acme.com]}\nrulebook:", "accounts.1.domains"),
            ("team: france, method", "team: spain, method", "assign.team"),
        ],
        ids=["unknown-manager", "unknown-owner", "unknown-territory", "dup-domain", "rulebook"],
    )
    def test_a_bad_reference_late_in_the_file_changes_nothing(
        self, svc: Services, old: str, new: str, field: str
    ) -> None:
        """References are checked before the first write: nothing half-loaded."""
        before = org.counts(svc)
        with pytest.raises(ValidationError) as info:
            _load(svc, ORG_YAML.replace(old, new))
        assert info.value.field == field
        if field.startswith("teams.0"):
            assert info.value.message.startswith("line 3: teams.0.manager: unknown rep")
        assert org.counts(svc) == before
        assert rulebooks.list_versions(svc) == []


class TestImport:
    def test_import_routes_every_line(self, svc: Services) -> None:
        """Each CSV row becomes a routed lead; company_* and attr_* columns map to fields."""
        _load(svc, ORG_YAML)
        stats = imports.import_leads(svc, CSV_OK.encode())
        assert stats == {"rows": 3, "created": 3, "already_present": 0}
        leads = routing.list_leads(svc)["items"]
        by_ext = {x["external_id"]: x for x in leads}
        assert by_ext["c-1"]["rule"] == "accounts"
        assert by_ext["c-1"]["attributes"] == {"utm_source": "linkedin"}
        assert by_ext["c-1"]["company"]["size"] == 120
        assert by_ext["c-2"]["rule"] == "france"
        assert by_ext[None]["queue"] == "unassigned"

    def test_rerunning_an_import_creates_no_duplicates(self, svc: Services) -> None:
        """Rows with and without external_id are recognised on a second run."""
        _load(svc, ORG_YAML)
        imports.import_leads(svc, CSV_OK.encode())
        again = imports.import_leads(svc, CSV_OK.encode())
        assert again == {"rows": 3, "created": 0, "already_present": 3}
        assert len(routing.list_leads(svc)["items"]) == 3

    @pytest.mark.parametrize(
        ("csv_text", "line", "field"),
        [
            (CSV_OK + "c-9,bad-email,FR,,,\n", 5, "email"),
            (CSV_OK.replace("US,10", "USA,10"), 4, "company.country"),
            (CSV_OK.replace(",55,", ",500,"), 2, "score"),
            (CSV_OK + "c-9,a@b.example,FR,1,2,x,extra\n", 5, "row"),
            ("external_id,colour\nx,red\n", 1, "colour"),
        ],
        ids=["email", "country", "score-range", "extra-cell", "unknown-column"],
    )
    def test_a_bad_line_is_named_by_number_and_field(
        self, csv_text: str, line: int, field: str
    ) -> None:
        """Every line is validated first; the error carries the line number and field."""
        _, errors = imports.parse_csv(csv_text.encode())
        assert (errors[0].line, errors[0].field) == (line, field)

    def test_one_bad_line_imports_nothing(self, svc: Services) -> None:
        """The good lines before and after a bad one are not imported either."""
        _load(svc, ORG_YAML)
        with pytest.raises(imports.ImportFailed) as info:
            imports.import_leads(svc, (CSV_OK + "c-9,bad-email,FR,,,\nc-10,,FR,,,\n").encode())
        assert "line 5: email" in str(info.value)
        assert info.value.errors[0]["line"] == 5
        assert routing.list_leads(svc)["items"] == []

    def test_quoted_multiline_cells_keep_true_line_numbers(self) -> None:
        """A cell spanning two physical lines does not shift later line numbers down."""
        text = 'external_id,email\n"a\nb",x@y.example\nc,broken\n'
        _, errors = imports.parse_csv(text.encode())
        assert [(e.line, e.field) for e in errors] == [(4, "email")]

    def test_non_utf8_file_is_refused(self) -> None:
        _, errors = imports.parse_csv(b"external_id\n\xff\n")
        assert errors[0].field == "file" and "UTF-8" in errors[0].message
