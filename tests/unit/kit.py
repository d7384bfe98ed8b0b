"""Small builders shared by the unit tests: compile a YAML rulebook, route, thread state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import yaml

from leadflow.domain.model import Org, RepLoad
from leadflow.domain.routing import RoutingResult, route
from leadflow.domain.rulebook import Rulebook
from leadflow.domain.strategies import RotationState
from leadflow.rules import OrgRefs, compile_rulebook

MONDAY_10_UTC = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def book(text: str, refs: OrgRefs | None = None) -> Rulebook:
    """Compile a YAML rulebook; references are not checked unless `refs` is given."""
    return compile_rulebook(yaml.safe_load(text), refs or OrgRefs(check=False))


class Router:
    """Routes leads one after another, keeping rotation states like the database would."""

    def __init__(self, rulebook: Rulebook, org: Org, now: datetime = MONDAY_10_UTC) -> None:
        self.rulebook = rulebook
        self.org = org
        self.now = now
        self.states: dict[str, RotationState] = {}
        self.loads: dict[int, RepLoad] = {}

    def route(self, lead: Mapping[str, Any]) -> RoutingResult:
        result = route(self.rulebook, lead, self.org, self.loads, self.states, self.now)
        self.states.update(result.state_updates)
        rep_id = result.outcome.rep_id
        if rep_id is not None:
            old = self.loads.get(rep_id, RepLoad())
            self.loads[rep_id] = RepLoad(old.open + 1, old.today + 1, old.this_week + 1, self.now)
        return result

    def owners(self, lead: Mapping[str, Any], n: int) -> list[int | None]:
        return [self.route(lead).outcome.rep_id for _ in range(n)]


def single(rule: str, fallback: str = "{queue: q}") -> str:
    """A rulebook of one inline YAML rule and a fallback (default: queue `q`)."""
    return f"rules: [{rule}]\nfallback: {fallback}"
