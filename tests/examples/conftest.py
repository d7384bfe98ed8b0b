"""Install a worked example (examples/<name>/) into a real database and route leads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leadflow.schemas import LeadIn
from leadflow.services import loader, org, routing, rulebooks
from leadflow.services.context import Services

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Routed:
    """One routed lead: where it went, by which rule, and the decision trace."""

    owner: str | None  # the owner's e-mail
    rule: str
    method: str | None
    queue: str | None
    reason: str
    trace: dict[str, Any]

    def step(self, rule: str) -> dict[str, Any]:
        return next(s for s in self.trace["steps"] if s["rule"] == rule)

    def skipped(self, rule: str) -> dict[str, str | None]:
        """Candidate name → skip reason (None = eligible) in `rule`'s step."""
        return {c["name"]: c["skipped"] for c in self.step(rule).get("candidates", [])}


class Example:
    def __init__(self, svc: Services, name: str) -> None:
        self.svc = svc
        folder = EXAMPLES / name
        loader.load(svc, loader.parse((folder / "org.yaml").read_text("utf-8")))
        rulebooks.save(svc, (folder / "rulebook.yaml").read_text("utf-8"), actor="test")
        self.ids = {r["email"]: r["id"] for r in org.list_reps(svc)}
        self.emails = {i: e for e, i in self.ids.items()}

    def route(self, **lead: Any) -> Routed:
        view, created = routing.intake(self.svc, LeadIn(**lead))
        assert created
        decision = routing.get_decisions(self.svc, view["id"])[-1]
        owner = view["owner_rep_id"]
        return Routed(
            self.emails[owner] if owner is not None else None,
            decision["rule"],
            decision["method"],
            decision["queue"],
            decision["reason"],
            decision["trace"],
        )


@pytest.fixture
def install(svc: Services) -> Any:
    return lambda name: Example(svc, name)
