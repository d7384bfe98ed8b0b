"""Rulebook compilation: a valid document compiles; every error names the rule and field."""

from __future__ import annotations

import pytest

from leadflow.domain.rulebook import Assign, Enqueue, Method
from leadflow.errors import RulebookError
from leadflow.rules import OrgRefs, parse_document
from tests.unit.kit import book

REFS = OrgRefs(
    teams=frozenset({"france", "general"}),
    rep_emails=frozenset({"ana@x.example", "bo@x.example"}),
    territories=frozenset({"west"}),
)


def error(text: str, refs: OrgRefs = REFS) -> RulebookError:
    with pytest.raises(RulebookError) as info:
        book(text, refs)
    return info.value


class TestCompiles:
    def test_issue_example_compiles(self) -> None:
        """The rulebook shape from the documentation compiles into ordered rules."""
        rb = book(
            """
rules:
  - name: existing accounts
    when: {account.matched: true}
    assign: {method: account_owner}
  - name: france
    when: {company.country: {in: [FR, BE]}}
    assign: {team: france, method: round_robin}
  - name: named
    assign: {method: direct, rep: Ana@X.example}
fallback:
  assign: {team: general, method: round_robin}
""",
            REFS,
        )
        assert [r.name for r in rb.rules] == ["existing accounts", "france", "named"]
        assert rb.rules[1].action == Assign(Method.ROUND_ROBIN, team="france")
        assert rb.rules[2].action.reps == ("ana@x.example",)  # type: ignore[union-attr]
        assert rb.fallback == Assign(Method.ROUND_ROBIN, team="general")

    def test_queue_shorthand_and_mapping(self) -> None:
        """`queue: name` and `queue: {name: ...}` mean the same."""
        rb = book("rules: [{name: a, queue: triage}]\nfallback: {queue: {name: triage}}", REFS)
        assert rb.rules[0].action == rb.fallback == Enqueue("triage")

    def test_json_documents_are_accepted(self) -> None:
        """A JSON body parses like YAML."""
        doc = parse_document(b'{"rules": [], "fallback": {"queue": "q"}}')
        assert doc == {"rules": [], "fallback": {"queue": "q"}}


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "rule", "field", "fragment"),
        [
            (
                "rules: [{name: r1, queue: q, colour: red}]\nfallback: {queue: q}",
                "r1",
                "colour",
                "unknown field",
            ),
            (
                "rules: [{name: r1, assign: {method: round_robin, team: france, tem: x}}]\n"
                "fallback: {queue: q}",
                "r1",
                "assign.tem",
                "unknown field",
            ),
            (
                "rules: [{name: r1, assign: {method: round_robin, team: spain}}]\n"
                "fallback: {queue: q}",
                "r1",
                "assign.team",
                "unknown team 'spain'",
            ),
            (
                "rules: [{name: r1, assign: {method: round_robin, reps: [zed@x.example]}}]\n"
                "fallback: {queue: q}",
                "r1",
                "assign.reps",
                "unknown rep 'zed@x.example'",
            ),
            (
                "rules: [{name: r1, assign: {method: direct}}]\nfallback: {queue: q}",
                "r1",
                "assign.rep",
                "needs `rep`",
            ),
            (
                "rules: [{name: r1, assign: {method: weighted, team: france,"
                " weights: {zed@x.example: 2}}}]\nfallback: {queue: q}",
                "r1",
                "assign.weights",
                "unknown rep",
            ),
            (
                "rules: [{name: r1, assign: {method: round_robin, team: france,"
                " territory: north}}]\nfallback: {queue: q}",
                "r1",
                "assign.territory",
                "unknown territory 'north'",
            ),
            (
                "rules: [{name: r1, assign: {method: round_robin}}]\nfallback: {queue: q}",
                "r1",
                "assign.team",
                "needs a `team`",
            ),
            (
                "rules: [{name: r1, assign: {method: shuffle, team: france}}]\n"
                "fallback: {queue: q}",
                "r1",
                "assign.method",
                "",
            ),
            (
                "rules: [{name: r1, when: {email: {matches: '[a-'}}, queue: q}]\n"
                "fallback: {queue: q}",
                "r1",
                "when.email",
                "invalid regular expression",
            ),
            (
                "rules: [{name: r1, when: {colour: red}, queue: q}]\nfallback: {queue: q}",
                "r1",
                "when.colour",
                "unknown field 'colour'",
            ),
            (
                "rules: [{name: r1, queue: q, active: {days: [funday]}}]\nfallback: {queue: q}",
                "r1",
                "active.days",
                "unknown weekday",
            ),
            (
                "rules: [{name: r1, queue: q, active: {timezone: Mars/Olympus}}]\n"
                "fallback: {queue: q}",
                "r1",
                "active.timezone",
                "unknown timezone",
            ),
            (
                "rules: [{name: r1, queue: q, active: {hours: '9 to 5'}}]\nfallback: {queue: q}",
                "r1",
                "active.hours",
                "not a range",
            ),
            (
                "rules: [{name: r1, queue: q}, {name: r1, queue: q}]\nfallback: {queue: q}",
                "r1",
                "name",
                "duplicate rule name",
            ),
            (
                "rules: [{name: r1}]\nfallback: {queue: q}",
                "r1",
                "action",
                "exactly one action",
            ),
            (
                "rules: [{name: r1, queue: q, assign: {method: account_owner}}]\n"
                "fallback: {queue: q}",
                "r1",
                "action",
                "found assign, queue",
            ),
            (
                "rules: []\nfallback: {assign: {method: round_robin, team: nowhere}}",
                "fallback",
                "assign.team",
                "unknown team",
            ),
            (
                "rules: [{name: r1, offer: {mode: cascade, team: france}}]\nfallback: {queue: q}",
                "r1",
                "offer",
                "not enabled",
            ),
        ],
    )
    def test_error_names_rule_and_field(
        self, text: str, rule: str, field: str, fragment: str
    ) -> None:
        """The author learns which rule, which field, and what to change."""
        exc = error(text)
        assert exc.rule == rule
        assert exc.field == field
        assert fragment in exc.message
        assert exc.errors == [{"rule": rule, "field": field, "message": exc.errors[0]["message"]}]

    def test_unnamed_rule_is_named_by_position(self) -> None:
        """A rule without a (valid) name is reported as #N."""
        exc = error("rules: [{queue: q}, {name: '', queue: q}]\nfallback: {queue: q}")
        assert exc.rule == "#1"

    def test_missing_fallback_is_an_error(self) -> None:
        """The fallback is mandatory: a lead is never left without an outcome."""
        exc = error("rules: []")
        assert exc.field == "fallback"

    def test_unknown_top_level_field(self) -> None:
        """A typo at the top level is refused, naming the field."""
        exc = error("rules: []\nfallback: {queue: q}\nfalback: {queue: q}")
        assert exc.field == "falback" and "unknown field" in exc.message

    @pytest.mark.parametrize(
        ("text", "fragment"),
        [
            ("rules: [unclosed", "not valid YAML/JSON"),
            ("- a\n- b", "a mapping"),
            (b"\xff\xfe", "UTF-8"),
        ],
    )
    def test_unparseable_documents(self, text: str | bytes, fragment: str) -> None:
        """Text that is not a rulebook mapping is refused before compiling."""
        with pytest.raises(RulebookError, match=fragment):
            parse_document(text)

    def test_oversized_document_is_refused(self) -> None:
        """Documents are bounded."""
        with pytest.raises(RulebookError, match="larger than"):
            parse_document("#" * 1_000_001)

    def test_unchecked_refs_compile_stored_rulebooks(self) -> None:
        """A stored rulebook keeps compiling after a team is removed (empty pool, no crash)."""
        rb = book("rules: []\nfallback: {assign: {method: round_robin, team: gone}}")
        assert rb.fallback == Assign(Method.ROUND_ROBIN, team="gone")
