"""The remaining refusals, each with its reason text (the others sit with their feature)."""

from __future__ import annotations

import pytest

from leadflow.errors import Conflict, ValidationError
from leadflow.pull_schemas import QueueIn
from leadflow.schemas import RepPatch
from leadflow.services import claims, handback, org, queues
from leadflow.services.queue_listing import Filters, list_queue
from tests.integration.pull.conftest import Pull


class TestRefusals:
    def test_blind_queue_refuses_filters_naming_the_first(self, pull: Pull) -> None:
        pull.queue("inbound", "blind")
        with pytest.raises(ValidationError) as err:
            list_queue(pull.svc, "inbound", pull.rep(0), Filters(sort="-age"))
        assert (
            err.value.message
            == "queue 'inbound' is blind: it cannot be filtered, sorted or searched"
        )
        assert err.value.field == "sort"

    def test_unknown_sort_is_refused(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        with pytest.raises(ValidationError, match=r"sort must be one of \['-age', '-score'"):
            list_queue(pull.svc, "inbound", pull.rep(0), Filters(sort="company"))

    def test_claim_next_says_when_only_the_mix_blocks_it(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", policies={"diversity": {"ratio": 1}})
        pull.route_to("inbound")
        pull.leads(2, score=95)
        claims.claim_next(pull.svc, "inbound", pull.rep(0))
        with pytest.raises(Conflict) as err:
            claims.claim_next(pull.svc, "inbound", pull.rep(0))
        assert err.value.message == (
            "queue 'inbound' has no lead you can claim right now that fits the diversity policy"
        )

    def test_manager_release_without_a_live_claim(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        with pytest.raises(Conflict, match=f"lead {lead} has no live claim to release"):
            handback.release(pull.svc, lead, pull.manager)

    def test_assign_to_an_inactive_rep(self, pull: Pull) -> None:
        pull.queue("managers", "triage")
        pull.route_to("managers")
        [lead] = pull.leads(1)
        org.update_rep(pull.svc, pull.reps[0], RepPatch(active=False))
        with pytest.raises(ValidationError, match=f"rep {pull.reps[0]} not found or inactive"):
            handback.assign(pull.svc, lead, pull.reps[0], pull.manager)

    def test_escalation_to_its_own_queue(self, pull: Pull) -> None:
        step = {"after_minutes": 5, "action": "queue", "queue": "inbound"}
        with pytest.raises(ValidationError, match="cannot move a lead to its own queue"):
            pull.queue("inbound", policies={"escalation": [step]})

    def test_put_with_a_different_name(self, pull: Pull) -> None:
        spec = QueueIn(name="other", mode="pool")
        with pytest.raises(ValidationError, match="the body's name must match the URL"):
            queues.put_queue(pull.svc, "inbound", spec)

    def test_tiers_for_unknown_reps_in_the_org_file(self, pull: Pull) -> None:
        with pytest.raises(ValidationError, match=r"tiers: ghost@x\.example is not among the reps"):
            queues.load_section(pull.svc, [], {"ghost@x.example": "top"}, {})  # type: ignore[dict-item]
