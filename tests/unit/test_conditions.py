"""Conditions: every operator, all/any/not, dotted paths, and the `when:` spellings."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.domain.conditions import (
    MAX_MATCH_INPUT,
    All,
    AnyOf,
    Compare,
    Condition,
    Not,
    explain,
    explain_result,
)
from leadflow.rules.conditions import ConditionError, parse_condition

LEAD: dict[str, Any] = {
    "email": "jane@acme.example",
    "score": 72,
    "source": "Webinar",
    "company": {"name": "Acme SAS", "country": "FR", "size": 250, "industry": "SaaS"},
    "attributes": {"utm_source": "linkedin", "tags": ["vip", "eu"], "empty": ""},
    "account": {"matched": True, "strategic": False},
}


def holds(when: dict[str, Any], lead: dict[str, Any] = LEAD) -> bool:
    return parse_condition(when).evaluate(lead)


class TestOperators:
    @pytest.mark.parametrize(
        ("when", "expected"),
        [
            ({"company.country": "FR"}, True),
            ({"company.country": "fr"}, True),  # text compares ignore case
            ({"company.country": {"eq": "DE"}}, False),
            ({"company.country": {"ne": "DE"}}, True),
            ({"company.country": {"ne": "FR"}}, False),
            ({"company.country": {"in": ["BE", "FR"]}}, True),
            ({"company.country": ["BE", "LU"]}, False),  # a list is shorthand for `in`
            ({"company.country": {"not_in": ["BE", "LU"]}}, True),
            ({"company.country": {"not_in": ["FR"]}}, False),
            ({"score": {"gt": 71}}, True),
            ({"score": {"gt": 72}}, False),
            ({"score": {"gte": 72}}, True),
            ({"score": {"lt": 72}}, False),
            ({"score": {"lte": 72}}, True),
            ({"company.size": {"between": [250, 499]}}, True),
            ({"company.size": {"between": [251, 499]}}, False),
            ({"company.name": {"contains": "acme"}}, True),
            ({"attributes.tags": {"contains": "VIP"}}, True),
            ({"attributes.tags": {"contains": "us"}}, False),
            ({"email": {"starts_with": "JANE@"}}, True),
            ({"email": {"starts_with": "john"}}, False),
            ({"email": {"matches": r"@acme\.(example|com)$"}}, True),  # unrepeated: fine
            ({"email": {"matches": r"^bob"}}, False),
            ({"attributes.utm_source": {"exists": True}}, True),
            ({"attributes.utm_campaign": {"exists": True}}, False),
            ({"attributes.utm_campaign": {"exists": False}}, True),
            ({"attributes.empty": {"exists": True}}, False),  # empty text counts as absent
            ({"account.matched": True}, True),
            ({"account.strategic": True}, False),
        ],
    )
    def test_operator(self, when: dict[str, Any], expected: bool) -> None:
        """Each operator on present values, case-insensitive for text."""
        assert holds(when) is expected

    @pytest.mark.parametrize("op", ["eq", "gt", "gte", "lt", "lte", "contains", "starts_with"])
    def test_missing_field_fails_positive_operators(self, op: str) -> None:
        """A field the lead does not have never satisfies a positive comparison."""
        assert holds({"attributes.nope": {op: "x"}}) is False

    @pytest.mark.parametrize(
        "when", [{"attributes.nope": {"ne": "x"}}, {"attributes.nope": {"not_in": ["x"]}}]
    )
    def test_missing_field_satisfies_negative_operators(self, when: dict[str, Any]) -> None:
        """`ne` / `not_in` hold when the field is absent: it is not that value."""
        assert holds(when) is True

    def test_ordering_never_mixes_numbers_and_text(self) -> None:
        """`score gt "50"` on a numeric score is false, not a TypeError."""
        assert holds({"score": {"gt": "50"}}) is False
        assert holds({"score": {"gt": 50}}, {"score": None}) is False

    def test_booleans_are_not_numbers(self) -> None:
        """True is not greater than 0 in a rule, although it is in Python."""
        assert holds({"account.strategic": {"gte": 0}}, {"account": {"strategic": True}}) is False

    def test_regex_input_is_bounded(self) -> None:
        """`matches` looks only at the first MAX_MATCH_INPUT characters."""
        lead = {"attributes": {"note": "a" * MAX_MATCH_INPUT + "needle"}}
        assert holds({"attributes.note": {"matches": "needle"}}, lead) is False
        assert holds({"attributes.note": {"matches": "^a+$"}}, lead) is True


class TestCombinators:
    def test_shorthand_keys_are_anded(self) -> None:
        """Several fields in one mapping must all hold."""
        assert holds({"company.country": "FR", "score": {"gte": 70}}) is True
        assert holds({"company.country": "FR", "score": {"gte": 80}}) is False

    def test_several_operators_on_one_field_are_anded(self) -> None:
        """`{gte: 100, lt: 300}` is a range."""
        assert holds({"company.size": {"gte": 100, "lt": 300}}) is True
        assert holds({"company.size": {"gte": 100, "lt": 200}}) is False

    def test_all_any_not(self) -> None:
        """Nested all / any / not combine as boolean logic."""
        when = {
            "all": [
                {"any": [{"source": "fair"}, {"source": "webinar"}]},
                {"not": {"company.country": {"in": ["US", "CA"]}}},
            ]
        }
        assert holds(when) is True
        assert holds({"not": when}) is False
        assert holds({"any": [{"source": "fair"}, {"score": {"lt": 10}}]}) is False

    def test_explicit_field_op_value_form(self) -> None:
        """`{field, op, value}` is the same as the shorthand."""
        assert holds({"field": "company.size", "op": "between", "value": [200, 300]}) is True

    def test_dotted_paths_reach_nested_values(self) -> None:
        """`attributes.utm_source` follows the mapping; a path through a scalar is missing."""
        assert holds({"attributes.utm_source": "LinkedIn"}) is True
        assert holds({"company.country.code": {"exists": True}}) is False

    def test_explain_lists_each_leaf_with_the_value_seen(self) -> None:
        """The decision trace shows field, operator, expected, actual and result per leaf."""
        cond = parse_condition({"company.country": "FR", "not": {"score": {"lt": 50}}})
        rows = explain(cond, LEAD)
        assert rows == [
            {"field": "company.country", "op": "eq", "value": "FR", "actual": "FR", "result": True},
            {"field": "score", "op": "lt", "value": 50, "actual": 72, "result": False},
        ]


_LEAVES = st.sampled_from(
    [
        Compare("company.country", "eq", "FR"),
        Compare("company.country", "in", ("BE", "LU")),
        Compare("score", "gte", 50),
        Compare("score", "lt", 10),
        Compare("attributes.tags", "contains", "vip"),
        Compare("attributes.empty", "exists", True),
        Compare("company.missing", "ne", "x"),
        Compare("company.country.code", "exists", False),
    ]
)
_TREES: st.SearchStrategy[Condition] = st.recursive(
    _LEAVES,
    lambda kids: st.one_of(
        st.lists(kids, max_size=3).map(lambda c: All(tuple(c))),
        st.lists(kids, min_size=1, max_size=3).map(lambda c: AnyOf(tuple(c))),
        kids.map(Not),
    ),
    max_leaves=8,
)


class TestExplainResult:
    @given(_TREES, st.sampled_from([LEAD, {}, {"score": 5, "company": {"country": "be"}}]))
    def test_one_walk_agrees_with_evaluate_and_explain(
        self, cond: Condition, lead: dict[str, Any]
    ) -> None:
        """Routing takes a rule's result from the same walk that explains it: it must be
        what `evaluate` says, with every leaf listed as `explain` lists it."""
        result, leaves = explain_result(cond, lead)
        assert result is cond.evaluate(lead)
        assert leaves == explain(cond, lead)
        assert all(row["result"] is Compare(row["field"], row["op"], row["value"]).evaluate(lead)
                   for row in leaves)  # fmt: skip


class TestParseErrors:
    @pytest.mark.parametrize(
        ("when", "path", "fragment"),
        [
            ({"colour": "red"}, "when", "unknown field 'colour'"),
            ({"company.colour": "red"}, "when.company.colour", "company.* is one of"),
            ({"score": {"approx": 3}}, "when.score", "unknown operator 'approx'"),
            ({"company.country": {"in": []}}, "when.company.country", "non-empty list"),
            ({"company.size": {"between": [1]}}, "when.company.size", "[low, high]"),
            ({"score": {"exists": "yes"}}, "when.score", "true or false"),
            ({"email": {"matches": "(unclosed"}}, "when.email", "invalid regular expression"),
            ({"email": {"matches": "(a+)+$"}}, "when.email", "nested quantifiers"),
            ({"email": {"matches": "^(a|aa)+$"}}, "when.email", "repeated alternatives"),
            ({"email": {"matches": "(x|xy){2,}"}}, "when.email", "repeated alternatives"),
            ({"email": {"matches": "x" * 201}}, "when.email", "longer than 200"),
            ({"all": []}, "when.all", "non-empty list"),
            ({"any": [{"score": {"gt": 1}}, {"nope": 1}]}, "when.any[1]", "unknown field"),
        ],
    )
    def test_error_names_the_path_and_the_reason(
        self, when: dict[str, Any], path: str, fragment: str
    ) -> None:
        """Every mistake is reported with where it is and what is wrong."""
        with pytest.raises(ConditionError) as info:
            parse_condition(when)
        assert info.value.path.startswith(path)
        assert fragment in info.value.message

    def test_depth_is_bounded(self) -> None:
        """Absurdly deep nesting is refused rather than recursed into."""
        when: dict[str, Any] = {"score": 1}
        for _ in range(20):
            when = {"not": when}
        with pytest.raises(ConditionError, match="deeper"):
            parse_condition(when)
