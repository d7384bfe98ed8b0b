"""Conditions: small predicates over a lead, compiled once, evaluated many times.

A condition is a tree of `All`, `Any`, `Not` and `Compare` nodes. `evaluate` returns
the boolean and `explain` returns a readable trace for the decision record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_MATCH_INPUT = 1000
"""Regex input is truncated to this many characters: a bound on matching time."""

_MISSING = object()


def resolve(data: Mapping[str, Any], path: str) -> Any:
    """Follow a dotted path (`company.country`) into nested mappings; missing → sentinel."""
    return _resolve_parts(data, _parts(path))


@lru_cache(maxsize=4096)
def _parts(path: str) -> tuple[str, ...]:
    # Rules read the same few paths for every lead: split each once.
    return tuple(path.split("."))


def _resolve_parts(data: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    current: Any = data
    for part in parts:
        # A lead is plain dicts: the exact type test spares the abstract `Mapping` check,
        # which costs several times more, on every step of every path of every rule.
        if type(current) is not dict and not isinstance(current, Mapping):
            return _MISSING
        current = current.get(part, _MISSING)
        if current is _MISSING:
            return _MISSING
    return current


def _norm(value: Any) -> Any:
    # Comparisons on text ignore case: "fr" and "FR" are the same country to a human.
    return value.casefold() if isinstance(value, str) else value


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        if actual is None or isinstance(actual, bool) or isinstance(expected, bool):
            return False
        if isinstance(actual, int | float) and isinstance(expected, int | float):
            return op(actual, expected)
        if isinstance(actual, str) and isinstance(expected, str):
            return op(actual.casefold(), expected.casefold())
        return False

    return compare


def _eq(actual: Any, expected: Any) -> bool:
    return bool(_norm(actual) == _norm(expected))


def _in(actual: Any, expected: Any) -> bool:
    return any(_eq(actual, e) for e in expected)


def _between(actual: Any, expected: Any) -> bool:
    low, high = expected
    return _ordered(lambda a, b: a >= b)(actual, low) and _ordered(lambda a, b: a <= b)(
        actual, high
    )


def _contains(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return expected.casefold() in actual.casefold()
    if isinstance(actual, list | tuple | set | frozenset):
        return any(_eq(item, expected) for item in actual)
    return False


def _starts_with(actual: Any, expected: Any) -> bool:
    return isinstance(actual, str) and actual.casefold().startswith(str(expected).casefold())


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": _eq,
    "ne": lambda a, e: not _eq(a, e),
    "in": _in,
    "not_in": lambda a, e: not _in(a, e),
    "gt": _ordered(lambda a, b: a > b),
    "gte": _ordered(lambda a, b: a >= b),
    "lt": _ordered(lambda a, b: a < b),
    "lte": _ordered(lambda a, b: a <= b),
    "between": _between,
    "contains": _contains,
    "starts_with": _starts_with,
}
ALL_OPERATORS = frozenset([*OPERATORS, "matches", "exists"])


@dataclass(frozen=True, slots=True)
class Compare:
    field: str
    op: str
    value: Any
    pattern: re.Pattern[str] | None = None

    def evaluate(self, data: Mapping[str, Any]) -> bool:
        return self.test(_resolve_parts(data, _parts(self.field)))

    def test(self, actual: Any) -> bool:
        """This comparison on the value already read at `field` (`_MISSING` if absent)."""
        if self.op == "exists":
            present = actual is not _MISSING and actual is not None and actual != ""
            return present == bool(self.value)
        if actual is _MISSING:
            # A missing field matches only negative operators.
            return self.op in ("ne", "not_in")
        if self.op == "matches":
            assert self.pattern is not None
            return isinstance(actual, str) and bool(self.pattern.search(actual[:MAX_MATCH_INPUT]))
        return OPERATORS[self.op](actual, self.value)

    def describe(self) -> str:
        return f"{self.field} {self.op} {self.value!r}"


@dataclass(frozen=True, slots=True)
class All:
    children: tuple[Condition, ...]

    def evaluate(self, data: Mapping[str, Any]) -> bool:
        return all(c.evaluate(data) for c in self.children)

    def describe(self) -> str:
        return (
            "(" + " and ".join(c.describe() for c in self.children) + ")"
            if self.children
            else "always"
        )


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Condition, ...]

    def evaluate(self, data: Mapping[str, Any]) -> bool:
        return any(c.evaluate(data) for c in self.children)

    def describe(self) -> str:
        return "(" + " or ".join(c.describe() for c in self.children) + ")"


@dataclass(frozen=True, slots=True)
class Not:
    child: Condition

    def evaluate(self, data: Mapping[str, Any]) -> bool:
        return not self.child.evaluate(data)

    def describe(self) -> str:
        return f"not {self.child.describe()}"


Condition = Compare | All | AnyOf | Not

ALWAYS: Condition = All(())


def explain(condition: Condition, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each leaf comparison with the value seen and its result, for the decision trace."""
    return explain_result(condition, data)[1]


def explain_result(
    condition: Condition, data: Mapping[str, Any]
) -> tuple[bool, list[dict[str, Any]]]:
    """`evaluate` and `explain` in one walk: every leaf is tested once, and the tree's
    result is combined from the leaves' (the trace shows every leaf, so nothing is
    short-circuited here; the result is the same as `evaluate`'s)."""
    out: list[dict[str, Any]] = []

    def walk(node: Condition) -> bool:
        if isinstance(node, Compare):
            actual = resolve(data, node.field)
            result = node.test(actual)
            out.append(
                {
                    "field": node.field,
                    "op": node.op,
                    "value": node.value,
                    "actual": None if actual is _MISSING else actual,
                    "result": result,
                }
            )
            return result
        if isinstance(node, Not):
            return not walk(node.child)
        results = [walk(child) for child in node.children]
        return all(results) if isinstance(node, All) else any(results)

    return walk(condition), out
