"""Fixtures for pull distribution: a team of reps, queues, leads routed into them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from leadflow.pull_schemas import QueueIn
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import org, queues, routing, rulebooks
from leadflow.services.auth import Principal, Role
from leadflow.services.context import Services

ADMIN = Principal(Role.ADMIN, "admin")


@dataclass
class Pull:
    """A small org: team `inbound` with reps r0..r3 and a manager; helpers around it."""

    svc: Services
    reps: list[int]
    manager: Principal

    def rep(self, i: int) -> Principal:
        return Principal(Role.REP, f"R{i}", self.reps[i])

    def queue(self, name: str = "inbound", mode: str = "pool", **over: Any) -> dict[str, Any]:
        over.setdefault("team", "inbound")
        return queues.create_queue(self.svc, QueueIn(name=name, mode=mode, **over))

    def route_to(self, *names: str) -> None:
        """Rulebook: leads with `source` = a queue name go there; others to the first."""
        rules = "\n".join(
            f"  - name: to-{n}\n    when: {{source: {n}}}\n    queue: {{name: {n}}}" for n in names
        )
        rulebooks.save(self.svc, f"rules:\n{rules}\nfallback:\n  queue: {{name: {names[0]}}}\n")

    def lead(self, **fields: Any) -> int:
        fields.setdefault("email", "jane.doe@secretcorp.example")
        fields.setdefault(
            "company", {"name": "SecretCorp", "industry": "software", "size": 120, "country": "FR"}
        )
        view, _ = routing.intake(self.svc, LeadIn(**fields))
        return int(view["id"])

    def leads(self, n: int, **fields: Any) -> list[int]:
        ids = []
        for _ in range(n):
            ids.append(self.lead(**fields))
            self.svc.clock.advance(seconds=1)  # type: ignore[attr-defined]
        return ids


def build_pull(svc: Services) -> Pull:
    org.create_team(svc, TeamIn(name="inbound"))
    ids = [
        org.create_rep(svc, RepIn(name=f"R{i}", email=f"r{i}@team.example", teams=["inbound"]))[
            "id"
        ]
        for i in range(4)
    ]
    boss = org.create_rep(svc, RepIn(name="Boss", email="boss@team.example"))["id"]
    return Pull(svc, ids, Principal(Role.MANAGER, "Boss", boss))


@pytest.fixture
def pull(svc: Services) -> Pull:
    return build_pull(svc)
