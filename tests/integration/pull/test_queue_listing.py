"""What each viewer sees of a queue: the mode caps it, the rep's tier refines it."""

from __future__ import annotations

import json

import pytest

from leadflow.domain.pull import Tier
from leadflow.errors import Conflict, Forbidden, LeadflowError, NotFound, ValidationError
from leadflow.services import claims, queues
from leadflow.services.auth import Principal, Role
from leadflow.services.queue_listing import Filters, lead_details, list_queue
from tests.integration.pull.conftest import Pull

SECRETS = ("SecretCorp", "jane.doe", "secretcorp", "software", "+33", "Jane", "Doe")


def _leaks(payload: object) -> list[str]:
    text = json.dumps(payload, default=str)
    return [s for s in SECRETS if s in text]


class TestBlind:
    def test_blind_listing_shows_only_age_and_count(self, pull: Pull) -> None:
        """Before a claim a blind queue reveals nothing but ids, ages and the count."""
        pull.queue("inbound", "blind")
        pull.route_to("inbound")
        pull.leads(3, first_name="Jane", last_name="Doe", phone="+33612345678", score=90)
        page = list_queue(pull.svc, "inbound", pull.rep(0), Filters())
        assert page["count"] == 3 and page["view"] == "age_only"
        assert all(set(item) == {"id", "age_seconds"} for item in page["items"])
        assert page["items"][0]["age_seconds"] == 3  # oldest first
        assert _leaks(page) == []

    def test_no_error_about_a_blind_lead_carries_its_fields(self, pull: Pull) -> None:
        """Searching, opening, racing for or probing a blind lead: no message leaks it."""
        pull.queue("inbound", "blind")
        pull.route_to("inbound")
        [lead] = pull.leads(1, first_name="Jane", last_name="Doe", score=90)
        messages = []
        for attempt in (
            lambda: list_queue(pull.svc, "inbound", pull.rep(1), Filters(q="SecretCorp")),
            lambda: list_queue(pull.svc, "inbound", pull.rep(1), Filters(min_score=80)),
            lambda: lead_details(pull.svc, "inbound", lead, pull.rep(1)),
        ):
            with pytest.raises(LeadflowError) as err:
                attempt()
            messages.append(err.value.as_detail())
        claims.claim(pull.svc, lead, pull.rep(0))
        with pytest.raises(Conflict) as lost:
            claims.claim(pull.svc, lead, pull.rep(1))
        messages.append(lost.value.as_detail())
        assert lost.value.message == f"lead {lead} is not available to claim"
        assert "R0" not in json.dumps(messages)  # who won is not told
        assert _leaks(messages) == []

    def test_details_visible_after_the_claim(self, pull: Pull) -> None:
        pull.queue("inbound", "blind")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        view = claims.claim(pull.svc, lead, pull.rep(0))
        assert view["company"]["name"] == "SecretCorp"


class TestModes:
    def test_pool_shows_only_the_preview_fields(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", preview_fields=["company.industry", "score"])
        pull.route_to("inbound")
        pull.leads(2, score=40)
        page = list_queue(pull.svc, "inbound", pull.rep(0), Filters())
        assert page["view"] == "preview"
        assert page["items"][0] == {
            "id": page["items"][0]["id"],
            "age_seconds": 2,
            "company.industry": "software",
            "score": 40.0,
        }
        assert "SecretCorp" not in json.dumps(page)

    def test_pool_filter_on_a_hidden_field_is_refused(self, pull: Pull) -> None:
        """Filtering by a field the rep cannot see would reveal it through the count."""
        pull.queue("inbound", "pool", preview_fields=["company.name"])
        with pytest.raises(ValidationError, match="score is not among queue 'inbound'") as err:
            list_queue(pull.svc, "inbound", pull.rep(0), Filters(min_score=50))
        assert err.value.field == "min_score"

    def test_pool_search_and_score_filter(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        pull.lead(score=30, company={"name": "Acme", "industry": "retail"})
        pull.lead(score=70, company={"name": "Globex", "industry": "software"})
        rep = pull.rep(0)
        assert [
            i["company.name"]
            for i in list_queue(pull.svc, "inbound", rep, Filters(q="glob"))["items"]
        ] == ["Globex"]
        found = list_queue(pull.svc, "inbound", rep, Filters(min_score=50))["items"]
        assert [i["company.name"] for i in found] == ["Globex"]
        by_score = list_queue(pull.svc, "inbound", rep, Filters(sort="-score"))["items"]
        assert [i["score"] for i in by_score] == [70.0, 30.0]

    def test_cherry_pick_shows_full_details(self, pull: Pull) -> None:
        pull.queue("inbound", "cherry_pick")
        pull.route_to("inbound")
        pull.leads(1)
        page = list_queue(pull.svc, "inbound", pull.rep(0), Filters())
        assert page["view"] == "full"
        assert page["items"][0]["email"] == "jane.doe@secretcorp.example"

    def test_triage_is_for_managers_only(self, pull: Pull) -> None:
        pull.queue("managers", "triage")
        pull.route_to("managers")
        pull.leads(1)
        with pytest.raises(Forbidden, match="only managers see and assign"):
            list_queue(pull.svc, "managers", pull.rep(0), Filters())
        page = list_queue(pull.svc, "managers", pull.manager, Filters())
        assert page["view"] == "full" and page["count"] == 1
        with pytest.raises(NotFound, match="not found"):  # not even which queue it is in
            claims.claim(pull.svc, page["items"][0]["id"], pull.rep(0))

    def test_rep_outside_the_queue_team_is_refused(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        outsider = Principal(Role.REP, "Boss", pull.manager.rep_id)
        with pytest.raises(Forbidden, match="not among the reps of queue 'inbound'"):
            list_queue(pull.svc, "inbound", outsider, Filters())
        assert list_queue(pull.svc, "inbound", pull.manager, Filters())["view"] == "full"

    def test_unknown_queue_is_404(self, pull: Pull) -> None:
        with pytest.raises(NotFound, match="queue 'ghost' not found"):
            list_queue(pull.svc, "ghost", pull.rep(0), Filters())


class TestTiers:
    def test_top_rep_sees_pool_details_average_sees_previews(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        pull.leads(1)
        queues.set_tier(pull.svc, pull.reps[0], Tier.TOP)
        assert list_queue(pull.svc, "inbound", pull.rep(0), Filters())["view"] == "full"
        assert list_queue(pull.svc, "inbound", pull.rep(1), Filters())["view"] == "preview"

    def test_average_rep_sees_the_filtered_view(self, pull: Pull) -> None:
        """Average reps see only leads matching the queue's `average_filter`."""
        pull.queue("inbound", "pool", average_filter={"score": {"lt": 80}})
        pull.route_to("inbound")
        pull.lead(score=50)
        hot = pull.lead(score=95)
        queues.set_tier(pull.svc, pull.reps[0], Tier.TOP)
        assert list_queue(pull.svc, "inbound", pull.rep(0), Filters())["count"] == 2
        assert list_queue(pull.svc, "inbound", pull.rep(1), Filters())["count"] == 1
        with pytest.raises(Conflict, match="not available to claim"):
            claims.claim(pull.svc, hot, pull.rep(1))

    @pytest.mark.parametrize("tier", [Tier.NEW, Tier.STRUGGLING])
    def test_new_and_struggling_reps_do_not_pull(self, pull: Pull, tier: Tier) -> None:
        pull.queue("inbound", "pool")
        queues.set_tier(pull.svc, pull.reps[2], tier)
        with pytest.raises(Forbidden, match="receive leads by automatic assignment"):
            list_queue(pull.svc, "inbound", pull.rep(2), Filters())
        with pytest.raises(Forbidden, match="do not pull leads"):
            claims.claim_next(pull.svc, "inbound", pull.rep(2))
