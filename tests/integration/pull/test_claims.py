"""Claiming, leases, release, activities and manual assignment (frozen clock)."""

from __future__ import annotations

import pytest

from leadflow.errors import Conflict, Forbidden, NotFound
from leadflow.pull_schemas import ActivityIn
from leadflow.services import activities, claims, handback, routing
from leadflow.services.pull_timers import run_due_timers
from leadflow.services.queue_listing import Filters, list_queue, my_claims
from tests.integration.pull.conftest import Pull


def _kinds(pull: Pull, lead: int) -> list[str]:
    return [d["kind"] for d in routing.get_decisions(pull.svc, lead)]


def _tick(pull: Pull, **delta: float) -> int:
    pull.svc.clock.advance(**delta)  # type: ignore[attr-defined]
    return run_due_timers(pull.svc, pull.svc.clock.now(), 100)


class TestClaim:
    def test_claim_assigns_and_records_a_decision(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        view = claims.claim(pull.svc, lead, pull.rep(0))
        assert view["status"] == "assigned" and view["owner_rep_id"] == pull.reps[0]
        assert view["claim"]["claimed_at"] == pull.svc.clock.now()
        assert (view["claim"]["lease_until"] - view["claim"]["claimed_at"]).total_seconds() == 900
        last = routing.get_decisions(pull.svc, lead)[-1]
        assert last["trace"]["held_before"] == 0 and last["trace"]["hoarding_cap"] == 10
        assert (last["kind"], last["outcome"], last["rep_id"], last["queue"]) == (
            "claim",
            "assigned",
            pull.reps[0],
            "inbound",
        )

    def test_second_claim_in_a_pool_says_who_and_when(self, pull: Pull) -> None:
        """Outside blind queues the loser learns who holds the lead."""
        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        claims.claim(pull.svc, lead, pull.rep(0))
        with pytest.raises(Conflict, match=f"lead {lead} was claimed by R0 at "):
            claims.claim(pull.svc, lead, pull.rep(1))

    def test_fifo_refuses_claims_by_id(self, pull: Pull) -> None:
        pull.queue("inbound", "fifo")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        with pytest.raises(Conflict, match="first-in first-out: take the next lead with POST"):
            claims.claim(pull.svc, lead, pull.rep(0))

    def test_fifo_claim_next_follows_arrival_order(self, pull: Pull) -> None:
        pull.queue("inbound", "fifo")
        pull.route_to("inbound")
        ids = pull.leads(3, score=10)
        got = [claims.claim_next(pull.svc, "inbound", pull.rep(i))["id"] for i in range(3)]
        assert got == ids

    def test_priority_order_takes_highest_score_first(self, pull: Pull) -> None:
        pull.queue("inbound", "fifo", order="priority")
        pull.route_to("inbound")
        low, high, mid = pull.lead(score=10), pull.lead(score=90), pull.lead(score=50)
        got = [claims.claim_next(pull.svc, "inbound", pull.rep(i))["id"] for i in range(3)]
        assert got == [high, mid, low]

    def test_claim_next_on_empty_queue_is_a_conflict(self, pull: Pull) -> None:
        pull.queue("inbound", "fifo")
        with pytest.raises(Conflict, match="queue 'inbound' has no lead you can claim right now"):
            claims.claim_next(pull.svc, "inbound", pull.rep(0))

    def test_admin_without_rep_cannot_claim(self, pull: Pull) -> None:
        from tests.integration.pull.conftest import ADMIN

        pull.queue("inbound", "pool")
        with pytest.raises(Forbidden, match="needs a rep's token"):
            claims.claim_next(pull.svc, "inbound", ADMIN)

    def test_away_rep_cannot_claim(self, pull: Pull) -> None:
        from leadflow.schemas import RepPatch
        from leadflow.services import org

        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        org.update_rep(pull.svc, pull.reps[0], RepPatch(status="away"))
        with pytest.raises(Conflict, match="you cannot take leads right now: away"):
            claims.claim(pull.svc, lead, pull.rep(0))


class TestLease:
    def test_lease_expiry_returns_the_lead_with_its_original_age(self, pull: Pull) -> None:
        """No activity within the lease → back in the queue, same age, a `return` decision."""
        pull.queue("inbound", "pool", lease_minutes=10)
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        created = routing.get_lead(pull.svc, lead)["created_at"]
        claims.claim(pull.svc, lead, pull.rep(0))
        assert _tick(pull, minutes=9, seconds=58) == 0  # not yet due
        assert _tick(pull, seconds=5) == 1
        back = routing.get_lead(pull.svc, lead)
        assert (back["status"], back["queue"], back["owner_rep_id"]) == ("queued", "inbound", None)
        assert back["created_at"] == created
        age = list_queue(pull.svc, "inbound", pull.rep(1), Filters())["items"][0]["age_seconds"]
        assert age == int((pull.svc.clock.now() - created).total_seconds())
        last = routing.get_decisions(pull.svc, lead)[-1]
        assert (
            last["kind"] == "return" and "lease of 10 min ended with no contact" in last["reason"]
        )
        assert my_claims(pull.svc, pull.reps[0]) == []

    def test_expiry_runs_once_even_if_run_again(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", lease_minutes=1)
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        claims.claim(pull.svc, lead, pull.rep(0))
        _tick(pull, minutes=2)
        assert _tick(pull, minutes=2) == 0
        assert _kinds(pull, lead) == ["route", "claim", "return"]

    def test_first_contact_ends_the_lease_and_stamps_time_to_contact(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", lease_minutes=10)
        pull.route_to("inbound")
        [lead] = pull.leads(1)  # arrives, then the clock moves 1 s
        pull.svc.clock.advance(minutes=4)  # type: ignore[attr-defined]
        claims.claim(pull.svc, lead, pull.rep(0))
        pull.svc.clock.advance(minutes=3)  # type: ignore[attr-defined]
        done = activities.log_activity(pull.svc, lead, ActivityIn(type="called"), pull.rep(0))
        assert done["lead_status"] == "contacted"
        assert done["first_contact"]["seconds_after_arrival"] == 7 * 60 + 1
        assert _tick(pull, minutes=30) == 0  # the lease timer was retired
        assert routing.get_lead(pull.svc, lead)["owner_rep_id"] == pull.reps[0]
        again = activities.log_activity(pull.svc, lead, ActivityIn(type="won"), pull.rep(0))
        assert again["lead_status"] == "won"
        assert again["first_contact"]["seconds_after_arrival"] == 7 * 60 + 1

    def test_manual_release_returns_the_lead(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        claims.claim(pull.svc, lead, pull.rep(0))
        with pytest.raises(NotFound, match="no claim of yours"):
            handback.release(pull.svc, lead, pull.rep(1))
        back = handback.release(pull.svc, lead, pull.rep(0))
        assert back["status"] == "queued"
        assert _kinds(pull, lead) == ["route", "claim", "release"]
        assert claims.claim(pull.svc, lead, pull.rep(1))["owner_rep_id"] == pull.reps[1]

    def test_claim_and_release_keep_open_counts_straight(self, pull: Pull) -> None:
        from leadflow.store.models import RepLoadRow

        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        claims.claim(pull.svc, lead, pull.rep(0))
        with pull.svc.db.read() as s:
            assert s.get(RepLoadRow, pull.reps[0]).open_count == 1  # type: ignore[union-attr]
        handback.release(pull.svc, lead, pull.rep(0))
        with pull.svc.db.read() as s:
            assert s.get(RepLoadRow, pull.reps[0]).open_count == 0  # type: ignore[union-attr]


class TestActivitiesAndAssign:
    def test_rep_cannot_log_on_someone_elses_lead(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        claims.claim(pull.svc, lead, pull.rep(0))
        with pytest.raises(NotFound):
            activities.log_activity(pull.svc, lead, ActivityIn(type="called"), pull.rep(1))
        assert activities.list_activities(pull.svc, lead, pull.rep(0)) == []

    def test_manager_assigns_from_triage(self, pull: Pull) -> None:
        pull.queue("managers", "triage")
        pull.route_to("managers")
        [lead] = pull.leads(1)
        view = handback.assign(pull.svc, lead, pull.reps[2], pull.manager)
        assert view["owner_rep_id"] == pull.reps[2]
        last = routing.get_decisions(pull.svc, lead)[-1]
        assert (last["kind"], last["method"], last["actor"]) == ("assign", "manual", "Boss")
        with pytest.raises(Conflict, match="not waiting in a queue"):
            handback.assign(pull.svc, lead, pull.reps[1], pull.manager)
