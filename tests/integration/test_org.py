"""Organisation CRUD through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadflow.errors import Conflict, NotFound, ValidationError
from leadflow.schemas import AbsenceIn, AccountIn, CapacityIn, RepIn, RepPatch, TeamIn, TerritoryIn
from leadflow.services import org, routing, rulebooks
from leadflow.services.context import Services
from leadflow.testing import FrozenClock
from tests.integration.conftest import french_team, make_team, post


class TestReps:
    def test_create_read_update(self, svc: Services) -> None:
        """A rep round-trips with normalised fields; a patch changes only what it names."""
        org.create_team(svc, TeamIn(name="france"))
        created = org.create_rep(
            svc,
            RepIn(
                name="Ana",
                email="Ana@X.example",
                teams=["france"],
                skills=["SaaS"],
                languages=["FR"],
                timezone="Europe/Paris",
                working_hours={"monday": ["09:00-18:00"]},
                capacity=CapacityIn(max_open=10),
            ),
        )
        assert created["email"] == "ana@x.example"
        assert created["skills"] == ["saas"] and created["languages"] == ["fr"]
        assert created["working_hours"] == {"mon": ["09:00-18:00"]}
        patched = org.update_rep(
            svc, created["id"], RepPatch(status="away", capacity=CapacityIn(max_per_day=3))
        )
        assert patched["status"] == "away"
        assert patched["capacity"] == {"max_open": 10, "max_per_day": 3, "max_per_week": None}
        assert org.get_rep(svc, created["id"])["timezone"] == "Europe/Paris"
        with pytest.raises(NotFound):
            org.update_rep(svc, 999, RepPatch(status="away"))

    def test_duplicate_email_conflicts(self, svc: Services) -> None:
        """Two reps cannot share an e-mail (it identifies them in rulebooks)."""
        make_team(svc, "france", 1)
        with pytest.raises(Conflict) as info:
            org.create_rep(svc, RepIn(name="Dup", email="france0@x.example"))
        assert info.value.field == "email"

    def test_unknown_team_is_refused_and_nothing_stored(self, svc: Services) -> None:
        """A rep in a team that does not exist is a validation error on `teams`."""
        with pytest.raises(ValidationError) as info:
            org.create_rep(svc, RepIn(name="X", email="x@x.example", teams=["ghosts"]))
        assert info.value.field == "teams"
        assert org.list_reps(svc) == []

    def test_list_filters(self, svc: Services) -> None:
        """Reps filter by team and by active flag."""
        fr = make_team(svc, "france", 2)
        make_team(svc, "spain", 1)
        org.update_rep(svc, fr[1], RepPatch(active=False))
        assert [r["id"] for r in org.list_reps(svc, team="france")] == fr
        assert [r["id"] for r in org.list_reps(svc, team="france", active=True)] == fr[:1]

    def test_out_of_office_takes_effect_on_routing_and_can_be_removed(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """An absence skips the rep at once (caches follow the org revision); deleting it
        brings the rep back."""
        ids = french_team(svc, 2)
        now = clock.now()
        absence = org.add_absence(
            svc, ids[0], AbsenceIn(start=now - timedelta(hours=1), end=now + timedelta(days=2))
        )
        assert org.get_rep(svc, ids[0])["out_of_office"][0]["id"] == absence["id"]
        owners = {post(svc, company={"country": "FR"})["owner_rep_id"] for _ in range(3)}
        assert owners == {ids[1]}
        org.delete_absence(svc, ids[0], absence["id"])
        assert post(svc, company={"country": "FR"})["owner_rep_id"] == ids[0]
        with pytest.raises(NotFound):
            org.delete_absence(svc, ids[0], absence["id"])


class TestTeamsTerritoriesAccounts:
    def test_team_manager(self, svc: Services) -> None:
        """A team's manager can be set and must exist."""
        ids = make_team(svc, "france", 1)
        assert org.set_team_manager(svc, "france", ids[0])["manager_rep_id"] == ids[0]
        with pytest.raises(ValidationError):
            org.set_team_manager(svc, "france", 999)
        with pytest.raises(Conflict):
            org.create_team(svc, TeamIn(name="france"))
        assert [t["name"] for t in org.list_teams(svc)] == ["france"]

    def test_territory_matches_leads(self, svc: Services) -> None:
        """A lead from a territory's country is tagged with it."""
        org.create_territory(svc, TerritoryIn(name="west", countries=["fr", "BE"], priority=5))
        org.create_territory(svc, TerritoryIn(name="world"))
        assert org.list_territories(svc)[0]["countries"] == ["FR", "BE"]
        assert post(svc, company={"country": "BE"})["territory"] == "west"
        assert post(svc, company={"country": "US"})["territory"] == "world"

    def test_accounts_own_their_domains(self, svc: Services) -> None:
        """A domain belongs to one account; a second claim is a conflict."""
        ids = make_team(svc, "france", 1)
        acc = org.create_account(
            svc, AccountIn(name="Acme", domains=["https://www.Acme.com/about"], owner_rep_id=ids[0])
        )
        assert acc["domains"] == ["acme.com"]
        with pytest.raises(Conflict) as info:
            org.create_account(svc, AccountIn(name="Other", domains=["acme.com"]))
        assert info.value.field == "domains"
        with pytest.raises(ValidationError):
            org.create_account(svc, AccountIn(name="X", domains=["x.example"], owner_rep_id=999))
        assert org.counts(svc)["accounts"] == 1


class TestAccountMatching:
    RULES = """
rules:
  - name: accounts
    when: {account.matched: true}
    assign: {method: account_owner}
fallback: {queue: unassigned}
"""

    @pytest.fixture
    def owner(self, svc: Services) -> int:
        ids = make_team(svc, "france", 1)
        org.create_account(svc, AccountIn(name="Acme", domains=["acme.com"], owner_rep_id=ids[0]))
        org.create_account(svc, AccountIn(name="Gmail Inc", domains=["gmail.com"]))
        rulebooks.save(svc, self.RULES)
        return ids[0]

    def test_matching_by_domain(self, svc: Services, owner: int) -> None:
        """E-mail domain (sub-domains too) or company website find the account; a free-mail
        address never does, even when an account claims that domain."""
        lead = post(svc, email="jane@eu.acme.com")
        assert lead["owner_rep_id"] == owner and lead["rule"] == "accounts"
        assert post(svc, company={"domain": "www.acme.com"})["owner_rep_id"] == owner
        free = post(svc, email="jane@gmail.com")
        assert free["status"] == "queued" and free["account_id"] is None

    def test_inactive_owner_goes_to_team_manager(self, svc: Services, owner: int) -> None:
        """The owner left: the lead goes to the manager of the owner's team, reason recorded."""
        boss = org.create_rep(svc, RepIn(name="Boss", email="boss@x.example"))["id"]
        org.set_team_manager(svc, "france", boss)
        org.update_rep(svc, owner, RepPatch(active=False))
        lead = post(svc, email="jane@acme.com")
        assert lead["owner_rep_id"] == boss
        decision = routing.get_decisions(svc, lead["id"])[0]
        assert decision["reason"] == "account owner inactive → team manager"
