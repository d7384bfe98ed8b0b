"""The rulebook editor points at the line of an error."""

from __future__ import annotations

import pytest

from leadflow.errors import RulebookError
from leadflow.rules import OrgRefs, compile_rulebook, parse_document
from leadflow.web.yamlpos import error_line

BOOK = """\
# comment
rules:
  - name: first
    when: {company.country: FR}
    assign: {team: france, method: round_robin}
  - name: second
    when:
      company.size: {gte: 500}
    assign:
      team: enterprise
      method: telepathy
fallback:
  queue: unassigned
"""


def _error(text: str) -> RulebookError:
    with pytest.raises(RulebookError) as exc:
        compile_rulebook(parse_document(text), OrgRefs(check=False))
    return exc.value


class TestErrorLine:
    def test_bad_field_in_a_named_rule(self) -> None:
        """An unknown method on line 11 is reported on line 11."""
        text = BOOK
        assert error_line(text, _error(text)) == 11

    def test_yaml_syntax_error(self) -> None:
        """A broken flow mapping is reported where the parser stopped (line 5)."""
        text = BOOK.replace("{company.country: FR}", "{company.country: FR")
        with pytest.raises(RulebookError) as exc:
            parse_document(text)
        assert error_line(text, exc.value) == 5

    def test_unknown_key_in_fallback(self) -> None:
        """An unknown `colour:` key in the fallback points at its own line."""
        text = BOOK.replace("method: telepathy", "method: round_robin") + "  colour: red\n"
        assert error_line(text, _error(text)) == 14

    def test_condition_with_dotted_field(self) -> None:
        """A bad operator under `company.size` is found through the dotted key."""
        text = BOOK.replace("method: telepathy", "method: round_robin").replace(
            "{gte: 500}", "{bigger: 500}"
        )
        assert error_line(text, _error(text)) == 8

    def test_unnamed_rule_by_position(self) -> None:
        """A rule without a name is located by its position (#1)."""
        text = "rules:\n  - when: {score: {gte: 1}}\nfallback: {queue: q}\n"
        assert error_line(text, _error(text)) == 2
