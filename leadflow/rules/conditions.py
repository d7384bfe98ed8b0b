"""Parse the `when:` mini-language into condition trees.

Three spellings, freely nested:

    when: {company.country: FR, score: {gte: 50}}          # shorthand, keys are ANDed
    when: {field: company.size, op: between, value: [50, 499]}  # explicit
    when: {any: [{source: webinar}, {not: {attributes.utm_source: {exists: true}}}]}
"""

from __future__ import annotations

import re
from typing import Any

from leadflow.domain.conditions import ALL_OPERATORS, All, AnyOf, Compare, Condition, Not

MAX_PATTERN = 200
MAX_DEPTH = 12
LEAD_ROOTS = {
    "external_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "language",
    "company",
    "source",
    "score",
    "value",
    "attributes",
    "account",
    "territory",
    "email_domain",
    "enrichment",
}
COMPANY_FIELDS = {"name", "domain", "size", "industry", "country", "state", "region", "postcode"}
ACCOUNT_FIELDS = {"matched", "id", "name", "strategic", "owner_rep_id", "team"}
TERRITORY_FIELDS = {"matched", "name", "team"}
_NESTED_QUANTIFIER = re.compile(r"\([^)]*[+*][^)]*\)[+*{]")
_REPEATED_ALTERNATION = re.compile(r"\([^)]*\|[^)]*\)[+*{]")


class ConditionError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def parse_condition(raw: Any, path: str = "when", depth: int = 0) -> Condition:
    if depth > MAX_DEPTH:
        raise ConditionError(path, f"conditions nest deeper than {MAX_DEPTH} levels")
    if not isinstance(raw, dict) or not raw:
        raise ConditionError(path, "a condition is a non-empty mapping")
    keys = set(raw)
    if keys in ({"all"}, {"any"}):
        (key,) = keys
        items = raw[key]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"{path}.{key}", "expects a non-empty list of conditions")
        children = tuple(
            parse_condition(c, f"{path}.{key}[{i}]", depth + 1) for i, c in enumerate(items)
        )
        return All(children) if key == "all" else AnyOf(children)
    if keys == {"not"}:
        return Not(parse_condition(raw["not"], f"{path}.not", depth + 1))
    if "field" in keys and "op" in keys and keys <= {"field", "op", "value"}:
        return _compare(str(raw["field"]), str(raw["op"]), raw.get("value", True), path)
    parts: list[Condition] = []
    for field, spec in raw.items():
        if field in ("all", "any", "not"):
            parts.append(parse_condition({field: spec}, path, depth + 1))
            continue
        if isinstance(spec, dict):
            if not spec:
                raise ConditionError(f"{path}.{field}", "empty operator mapping")
            parts.extend(_compare(field, op, v, f"{path}.{field}") for op, v in spec.items())
        elif isinstance(spec, list):
            parts.append(_compare(field, "in", spec, f"{path}.{field}"))
        else:
            parts.append(_compare(field, "eq", spec, f"{path}.{field}"))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _check_field(field: str, path: str) -> None:
    root, _, rest = field.partition(".")
    if root not in LEAD_ROOTS:
        known = ", ".join(sorted(LEAD_ROOTS))
        raise ConditionError(path, f"unknown field {field!r}; fields start with one of: {known}")
    allowed = {"company": COMPANY_FIELDS, "account": ACCOUNT_FIELDS, "territory": TERRITORY_FIELDS}
    if root in allowed and rest and rest.split(".")[0] not in allowed[root]:
        names = ", ".join(sorted(allowed[root]))
        raise ConditionError(path, f"unknown field {field!r}; {root}.* is one of: {names}")


def _compare(field: str, op: str, value: Any, path: str) -> Compare:
    _check_field(field, path)
    if op not in ALL_OPERATORS:
        ops = ", ".join(sorted(ALL_OPERATORS))
        raise ConditionError(path, f"unknown operator {op!r}; use one of: {ops}")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ConditionError(path, f"{op} expects a non-empty list")
        return Compare(field, op, tuple(value))
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            raise ConditionError(path, "between expects [low, high]")
        return Compare(field, op, tuple(value))
    if op in ("gt", "gte", "lt", "lte") and not isinstance(value, int | float | str):
        raise ConditionError(path, f"{op} expects a number or text")
    if op == "exists" and not isinstance(value, bool):
        raise ConditionError(path, "exists expects true or false")
    if op == "matches":
        return Compare(field, op, value, _pattern(value, path))
    if isinstance(value, dict | list):
        raise ConditionError(path, f"{op} expects a single value")
    return Compare(field, op, value)


def _pattern(value: Any, path: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ConditionError(path, "matches expects a regular expression as text")
    if len(value) > MAX_PATTERN:
        raise ConditionError(path, f"pattern longer than {MAX_PATTERN} characters")
    if _NESTED_QUANTIFIER.search(value):
        # (a+)+ and friends backtrack exponentially: refuse them up front.
        raise ConditionError(path, "nested quantifiers such as (a+)+ are not allowed")
    if _REPEATED_ALTERNATION.search(value):
        # (a|aa)+ backtracks exponentially too, on inputs a web form can send.
        raise ConditionError(
            path, "repeated alternatives such as (a|aa)+ are not allowed; use [ab]+ or a list"
        )
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ConditionError(path, f"invalid regular expression: {exc}") from exc
