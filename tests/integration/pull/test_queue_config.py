"""Queues are configured through the services/API and the org YAML; rulebooks may only
send leads to queues that exist (plus the built-in `unassigned`)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticError

from leadflow.errors import Conflict, ValidationError
from leadflow.pull_schemas import QueueIn
from leadflow.services import loader, queues, rulebooks
from leadflow.services.context import Services
from tests.integration.pull.conftest import Pull


class TestQueueConfig:
    def test_created_queue_is_listed_with_defaults(self, pull: Pull) -> None:
        """A queue gets the documented defaults: 15 min lease, hoarding cap 10, previews."""
        pull.queue("inbound", "pool")
        made, builtin = queues.list_queues(pull.svc)  # by name
        assert builtin["name"] == "unassigned" and builtin["mode"] == "triage"
        assert made["name"] == "inbound"
        assert made["lease_minutes"] == 15
        assert made["policies"]["hoarding_cap"] == 10
        assert "company.name" in made["preview_fields"]

    def test_duplicate_name_is_a_conflict(self, pull: Pull) -> None:
        pull.queue("inbound")
        with pytest.raises(Conflict, match="already exists"):
            pull.queue("inbound")

    def test_unknown_team_is_refused_and_nothing_stored(self, pull: Pull) -> None:
        with pytest.raises(ValidationError, match="unknown team 'nope'"):
            pull.queue("x", team="nope")
        assert [q["name"] for q in queues.list_queues(pull.svc)] == ["unassigned"]

    def test_diversity_needs_a_choosing_mode(self) -> None:
        """Diversity on a blind queue could never be met by choice: refused with the field."""
        with pytest.raises(PydanticError, match="pool or cherry_pick"):
            QueueIn(name="b", mode="blind", policies={"diversity": {}})

    def test_skip_limit_only_for_cherry_pick(self) -> None:
        with pytest.raises(PydanticError, match="cherry_pick queues only"):
            QueueIn(name="p", mode="pool", policies={"skip_limit": 3})

    def test_escalation_target_must_exist(self, pull: Pull) -> None:
        with pytest.raises(ValidationError, match="unknown queue 'ghost'") as err:
            pull.queue(
                "inbound",
                policies={
                    "escalation": [{"after_minutes": 5, "action": "queue", "queue": "ghost"}]
                },
            )
        assert err.value.field == "policies.escalation.0.queue"

    def test_queue_with_waiting_leads_cannot_be_deleted(self, pull: Pull) -> None:
        pull.queue("inbound")
        pull.route_to("inbound")
        pull.lead()
        with pytest.raises(Conflict, match="still holds 1 leads"):
            queues.delete_queue(pull.svc, "inbound")

    def test_queue_used_by_active_rulebook_cannot_be_deleted(self, pull: Pull) -> None:
        pull.queue("inbound")
        pull.route_to("inbound")
        with pytest.raises(Conflict, match="active rulebook sends leads to queue 'inbound'"):
            queues.delete_queue(pull.svc, "inbound")

    def test_builtin_unassigned_cannot_be_deleted(self, pull: Pull) -> None:
        with pytest.raises(Conflict, match="built-in"):
            queues.delete_queue(pull.svc, "unassigned")


class TestRulebookReferences:
    def test_an_unconfigured_queue_is_created_as_triage(self, pull: Pull) -> None:
        """A queue named only by the rulebook is created for managers only, and reported."""
        saved = rulebooks.save(pull.svc, "rules: []\nfallback:\n  queue: {name: nowhere}\n")
        assert saved["created_queues"] == ["nowhere"]
        assert queues.get_queue(pull.svc, "nowhere")["mode"] == "triage"
        again = rulebooks.save(pull.svc, "rules: []\nfallback:\n  queue: {name: nowhere}\n")
        assert again["created_queues"] == []

    def test_known_and_builtin_queues_are_accepted(self, pull: Pull) -> None:
        pull.queue("inbound")
        doc = (
            "rules:\n  - name: pooled\n    when: {score: {lt: 80}}\n    queue: {name: inbound}\n"
            "fallback:\n  queue: unassigned\n"
        )
        assert rulebooks.save(pull.svc, doc)["active"] is True


ORG_YAML = """
teams:
  - name: inbound
reps:
  - {name: Ann, email: ann@x.example, teams: [inbound]}
  - {name: Bob, email: bob@x.example, teams: [inbound]}
tiers:
  ann@x.example: top
  bob@x.example: new
queues:
  - name: inbound
    mode: pool
    team: inbound
    lease_minutes: 20
    policies:
      hoarding_cap: 3
      escalation:
        - {after_minutes: 60, action: queue, queue: managers}
  - name: managers
    mode: triage
rulebook:
  rules:
    - name: pooled
      queue: {name: inbound}
  fallback:
    queue: unassigned
"""


class TestYaml:
    def test_org_file_creates_queues_tiers_and_a_rulebook_using_them(self, svc: Services) -> None:
        """Queues load before the rulebook (which refers to them), targets before users."""
        stats = loader.load(svc, loader.parse(ORG_YAML))
        assert stats["queues"] == 2
        inbound = queues.get_queue(svc, "inbound")
        assert inbound["lease_minutes"] == 20
        assert inbound["policies"]["hoarding_cap"] == 3
        tiers = {queues.get_tier(svc, rid)["tier"] for rid in (1, 2)}
        assert tiers == {"top", "new"}

    def test_loading_twice_updates_in_place(self, svc: Services) -> None:
        loader.load(svc, loader.parse(ORG_YAML))
        loader.load(svc, loader.parse(ORG_YAML.replace("lease_minutes: 20", "lease_minutes: 5")))
        assert queues.get_queue(svc, "inbound")["lease_minutes"] == 5

    def test_bad_mode_names_the_path(self) -> None:
        with pytest.raises(ValidationError) as err:
            loader.parse(ORG_YAML.replace("mode: pool", "mode: buffet"))
        assert err.value.field == "queues.0.mode"


HYBRID = """
rules:
  - name: hot-pushed
    when: {score: {gte: 80}}
    assign: {team: inbound, method: round_robin}
  - name: strategic-pushed
    when: {account.strategic: true}
    assign: {method: account_owner}
  - name: rest-pooled
    queue: {name: inbound}
fallback:
  queue: unassigned
"""


class TestHybrids:
    def test_hot_leads_pushed_strategic_accounts_pushed_the_rest_pooled(self, pull: Pull) -> None:
        """The article's hybrids are ordinary rules: push what matters, pool the rest."""
        from leadflow.schemas import AccountIn
        from leadflow.services import org, routing

        pull.queue("inbound", "pool")
        org.create_account(
            pull.svc,
            AccountIn(
                name="Big", domains=["big.example"], owner_rep_id=pull.reps[3], strategic=True
            ),
        )
        rulebooks.save(pull.svc, HYBRID)
        hot = routing.get_lead(pull.svc, pull.lead(score=92))
        strategic = routing.get_lead(pull.svc, pull.lead(score=10, email="cio@big.example"))
        warm = routing.get_lead(pull.svc, pull.lead(score=50))
        assert (hot["status"], hot["rule"]) == ("assigned", "hot-pushed")
        assert (strategic["owner_rep_id"], strategic["rule"]) == (pull.reps[3], "strategic-pushed")
        assert (warm["status"], warm["queue"]) == ("queued", "inbound")
