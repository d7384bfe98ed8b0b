"""Builders for integration tests: a team of reps and an active rulebook, via the services."""

from __future__ import annotations

from typing import Any

from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import org, routing, rulebooks
from leadflow.services.context import Services

ROUND_ROBIN_FR = """
rules:
  - name: france
    when: {company.country: {in: [FR, BE]}}
    assign: {team: france, method: round_robin}
fallback:
  queue: unassigned
"""


def make_team(svc: Services, team: str, n: int, **rep_fields: Any) -> list[int]:
    """Create `team` with n reps (e-mails `<team><i>@x.example`); returns their ids."""
    org.create_team(svc, TeamIn(name=team))
    return [
        org.create_rep(
            svc, RepIn(name=f"{team} {i}", email=f"{team}{i}@x.example", teams=[team], **rep_fields)
        )["id"]
        for i in range(n)
    ]


def post(svc: Services, **lead: Any) -> dict[str, Any]:
    view, _ = routing.intake(svc, LeadIn.model_validate(lead))
    return view


def french_team(svc: Services, n: int = 3, **rep_fields: Any) -> list[int]:
    ids = make_team(svc, "france", n, **rep_fields)
    rulebooks.save(svc, ROUND_ROBIN_FR)
    return ids
