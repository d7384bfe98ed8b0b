"""Intake and push routing through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import org, routing, rulebooks
from leadflow.services.context import Services

RULEBOOK = """
rules:
  - name: france
    when: {company.country: {in: [FR, BE]}}
    assign: {team: france, method: round_robin}
fallback:
  queue: unassigned
"""


def _setup(svc: Services) -> list[int]:
    org.create_team(svc, TeamIn(name="france"))
    ids = [
        org.create_rep(svc, RepIn(name=f"R{i}", email=f"r{i}@x.example", teams=["france"]))["id"]
        for i in range(3)
    ]
    rulebooks.save(svc, RULEBOOK)
    return ids


class TestIntake:
    def test_lead_is_assigned_by_round_robin_and_explained(self, svc: Services) -> None:
        """Three French leads go to three different reps, each with its decision."""
        ids = _setup(svc)
        owners = []
        for n in range(3):
            view, created = routing.intake(
                svc, LeadIn(email=f"a{n}@p.example", company={"country": "FR"})
            )
            assert created and view["status"] == "assigned"
            owners.append(view["owner_rep_id"])
            decisions = routing.get_decisions(svc, view["id"])
            assert decisions[-1]["rule"] == "france"
            assert decisions[-1]["id"] == view["decision_id"]
        assert sorted(owners) == sorted(ids)

    def test_unmatched_lead_falls_back_to_queue(self, svc: Services) -> None:
        """A lead no rule matches lands in the fallback queue, never nowhere."""
        _setup(svc)
        view, _ = routing.intake(svc, LeadIn(company={"country": "US"}))
        assert view["status"] == "queued"
        assert view["queue"] == "unassigned"

    def test_same_external_id_returns_the_same_lead(self, svc: Services) -> None:
        """Idempotent intake: a retried POST does not create a second lead."""
        _setup(svc)
        first, created1 = routing.intake(
            svc, LeadIn(external_id="crm-1", company={"country": "FR"})
        )
        again, created2 = routing.intake(
            svc, LeadIn(external_id="crm-1", company={"country": "FR"})
        )
        assert created1 and not created2
        assert again["id"] == first["id"]
        assert len(routing.list_leads(svc)["items"]) == 1
