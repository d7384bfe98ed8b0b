"""YAML 1.2 booleans and error lines for org files and rulebooks."""

from __future__ import annotations

import pytest

from leadflow import yamltext
from leadflow.rules import OrgRefs, compile_rulebook, parse_document


def test_country_codes_and_yes_no_words_stay_text() -> None:
    """`NO` is Norway, `on`/`off`/`yes` are words; only true/false are booleans."""
    doc = yamltext.load("countries: [NO, SE, no, on, off, yes, Y]\nstrategic: true\nx: False")
    assert doc == {
        "countries": ["NO", "SE", "no", "on", "off", "yes", "Y"],
        "strategic": True,
        "x": False,
    }


def test_a_rule_on_norway_matches_norway() -> None:
    book = compile_rulebook(
        parse_document(
            "rules:\n  - name: nordics\n    when: {company.country: {in: [NO, SE]}}\n"
            "    queue: nordics\nfallback: {queue: rest}\n"
        ),
        OrgRefs(check=False),
    )
    assert book.rules[0].when.evaluate({"company": {"country": "NO"}})


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("reps",), 4),
        (("reps", 1), 5),
        (("reps", 1, "email"), 6),
        (("reps", 1, "teams", 0), 7),
        (("reps", 7, "email"), 4),  # no 8th rep: the deepest node that exists (the list)
    ],
)
def test_line_of_points_at_the_field(path: tuple[str | int, ...], line: int) -> None:
    text = (
        "teams:\n  - {name: a}\nreps:\n  - {name: X, email: x@y.example}\n"
        "  - name: Y\n    email: y@y.example\n    teams: [b]\n"
    )
    assert yamltext.line_of(text, path) == line
