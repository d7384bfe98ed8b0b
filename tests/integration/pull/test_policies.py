"""Queue policies: each refusal is checked with its reason; timers with a frozen clock."""

from __future__ import annotations

import re

import pytest

from leadflow.domain.pull import Tier
from leadflow.errors import Conflict
from leadflow.pull_schemas import ActivityIn
from leadflow.services import activities, claims, queues, routing
from leadflow.services.pull_timers import run_due_timers
from leadflow.services.queue_listing import lead_details
from leadflow.store.models import RotationRow
from tests.integration.pull.conftest import Pull


def _tick(pull: Pull, **delta: float) -> int:
    pull.svc.clock.advance(**delta)  # type: ignore[attr-defined]
    return run_due_timers(pull.svc, pull.svc.clock.now(), 100)


class TestHoarding:
    def test_cap_refuses_the_next_claim_with_its_reason(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", policies={"hoarding_cap": 2})
        pull.route_to("inbound")
        a, b, c = pull.leads(3)
        claims.claim(pull.svc, a, pull.rep(0))
        claims.claim(pull.svc, b, pull.rep(0))
        with pytest.raises(Conflict) as err:
            claims.claim(pull.svc, c, pull.rep(0))
        assert err.value.field == "hoarding_cap"
        assert err.value.message == (
            "hoarding cap: you hold 2 claimed leads not yet contacted (limit 2); "
            "log a contact on one or release one before claiming more"
        )
        assert routing.get_lead(pull.svc, c)["status"] == "queued"  # nothing changed

    def test_contacting_a_lead_frees_a_slot(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", policies={"hoarding_cap": 1})
        pull.route_to("inbound")
        a, b = pull.leads(2)
        claims.claim(pull.svc, a, pull.rep(0))
        activities.log_activity(pull.svc, a, ActivityIn(type="emailed"), pull.rep(0))
        assert claims.claim(pull.svc, b, pull.rep(0))["owner_rep_id"] == pull.reps[0]


class TestDiversity:
    def test_percentage_rule_refuses_a_fourth_high_claim(self, pull: Pull) -> None:
        """30% of the last 10 below 50: after three highs, a fourth high is refused."""
        pull.queue("inbound", "pool", policies={"diversity": {}, "hoarding_cap": 50})
        pull.route_to("inbound")
        highs = pull.leads(4, score=90)
        [low] = pull.leads(1, score=20)
        for lead in highs[:3]:
            claims.claim(pull.svc, lead, pull.rep(0))
        with pytest.raises(Conflict) as err:
            claims.claim(pull.svc, highs[3], pull.rep(0))
        assert err.value.field == "diversity"
        assert err.value.message == (
            "diversity policy: at least 30% of your last 10 claims must score below 50; "
            "your next claim must score below 50"
        )
        claims.claim(pull.svc, low, pull.rep(0))
        assert claims.claim(pull.svc, highs[3], pull.rep(0))["owner_rep_id"] == pull.reps[0]

    def test_ratio_rule_alternates(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", policies={"diversity": {"ratio": 1, "score_below": 60}})
        pull.route_to("inbound")
        h1, h2 = pull.leads(2, score=80)
        [low] = pull.leads(1, score=10)
        claims.claim(pull.svc, h1, pull.rep(0))
        with pytest.raises(Conflict, match="claim one lead scoring below 60 for every 1 above"):
            claims.claim(pull.svc, h2, pull.rep(0))
        claims.claim(pull.svc, low, pull.rep(0))
        claims.claim(pull.svc, h2, pull.rep(0))

    def test_claim_next_skips_to_a_lead_that_fits_the_mix(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", policies={"diversity": {"ratio": 1}})
        pull.route_to("inbound")
        h1, _ = pull.leads(2, score=90)
        [low] = pull.leads(1, score=5)
        assert claims.claim_next(pull.svc, "inbound", pull.rep(0))["id"] == h1
        assert claims.claim_next(pull.svc, "inbound", pull.rep(0))["id"] == low


class TestSkipLimit:
    def test_after_k_views_the_rep_must_claim(self, pull: Pull) -> None:
        pull.queue("inbound", "cherry_pick", policies={"skip_limit": 2})
        pull.route_to("inbound")
        a, b, c = pull.leads(3)
        rep = pull.rep(0)
        lead_details(pull.svc, "inbound", a, rep)
        lead_details(pull.svc, "inbound", b, rep)
        lead_details(pull.svc, "inbound", a, rep)  # re-opening is free
        with pytest.raises(Conflict) as err:
            lead_details(pull.svc, "inbound", c, rep)
        assert err.value.field == "skip_limit"
        assert err.value.message == (
            "skip limit: you opened 2 leads without claiming one (limit 2); "
            "claim a lead before opening more"
        )
        pull.svc.clock.advance(seconds=1)  # type: ignore[attr-defined]
        claims.claim(pull.svc, b, rep)
        pull.svc.clock.advance(seconds=1)  # type: ignore[attr-defined]
        assert lead_details(pull.svc, "inbound", c, rep)["id"] == c

    def test_pool_details_are_for_top_reps_only(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        with pytest.raises(Conflict, match="shows no lead details before a claim"):
            lead_details(pull.svc, "inbound", lead, pull.rep(0))
        queues.set_tier(pull.svc, pull.reps[0], Tier.TOP)
        assert lead_details(pull.svc, "inbound", lead, pull.rep(0))["company"]["name"]


class TestMinimumClaims:
    def test_daily_check_alerts_reps_below_the_minimum(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", policies={"min_claims_per_day": 2})
        pull.route_to("inbound")
        a, b, c = pull.leads(3)
        for lead in (a, b):
            claims.claim(pull.svc, lead, pull.rep(0))
        claims.claim(pull.svc, c, pull.rep(1))
        queues.set_tier(pull.svc, pull.reps[3], Tier.NEW)  # does not pull: not measured
        stats = queues.stats(pull.svc, "inbound")
        assert [(r["name"], r["claims_today"], r["below_minimum"]) for r in stats["reps"]] == [
            ("R0", 2, False),
            ("R1", 1, True),
            ("R2", 0, True),
        ]
        _tick(pull, hours=14)  # past midnight
        alerts = queues.list_alerts(pull.svc, 10)
        assert sorted(a["message"] for a in alerts) == [
            "R1 claimed 1 leads from queue 'inbound' on 2026-03-02 (minimum 2)",
            "R2 claimed 0 leads from queue 'inbound' on 2026-03-02 (minimum 2)",
        ]

    def test_catch_up_after_downtime_checks_each_missed_day_in_order(self, pull: Pull) -> None:
        pull.queue(
            "inbound",
            "pool",
            policies={"min_claims_per_day": 1},
            team=None,
            reps=["r0@team.example"],
        )
        _tick(pull, days=3)
        alerts = reversed(queues.list_alerts(pull.svc, 10))  # oldest first
        days = [re.search(r"on (\S+) ", a["message"]).group(1) for a in alerts]  # type: ignore[union-attr]
        assert days == ["2026-03-02", "2026-03-03", "2026-03-04"]


class TestAgeSteps:
    def test_unclaimed_lead_is_auto_assigned_by_round_robin(self, pull: Pull) -> None:
        """After T unclaimed, round robin among the queue's reps, through the rotation table."""
        pull.queue("inbound", "pool", policies={"auto_assign": {"after_minutes": 30}})
        pull.route_to("inbound")
        ids = pull.leads(4)  # the 4th arrives 3 s after the first
        assert _tick(pull, minutes=29) == 0
        assert _tick(pull, minutes=1) == 4
        owners = [routing.get_lead(pull.svc, i)["owner_rep_id"] for i in ids]
        assert sorted(owners) == sorted(pull.reps)  # each rep once
        last = routing.get_decisions(pull.svc, ids[0])[-1]
        assert last["kind"] == "auto_assign" and last["method"] == "round_robin"
        assert "unclaimed for 30 min in 'inbound'" in last["reason"]
        with pull.svc.db.read() as s:
            assert s.get(RotationRow, "round_robin:team:inbound") is not None
        assert len(queues.list_alerts(pull.svc, 10)) == 4

    def test_new_reps_get_the_auto_assignments_too(self, pull: Pull) -> None:
        pull.queue(
            "inbound",
            "pool",
            team=None,
            reps=["r3@team.example"],
            policies={"auto_assign": {"after_minutes": 5}},
        )
        queues.set_tier(pull.svc, pull.reps[3], Tier.NEW)
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        _tick(pull, minutes=5)
        assert routing.get_lead(pull.svc, lead)["owner_rep_id"] == pull.reps[3]

    def test_claimed_lead_is_not_auto_assigned(self, pull: Pull) -> None:
        pull.queue("inbound", "pool", policies={"auto_assign": {"after_minutes": 30}})
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        claims.claim(pull.svc, lead, pull.rep(2))
        activities.log_activity(pull.svc, lead, ActivityIn(type="called"), pull.rep(2))
        _tick(pull, minutes=31)
        assert routing.get_lead(pull.svc, lead)["owner_rep_id"] == pull.reps[2]

    def test_escalation_chain_auto_assign_then_triage(self, pull: Pull) -> None:
        """30 min → auto-assign (nobody eligible: stays), 60 min → managers' triage queue."""
        from leadflow.schemas import RepPatch
        from leadflow.services import org

        pull.queue("managers", "triage")
        pull.queue(
            "inbound",
            "pool",
            policies={
                "escalation": [
                    {"after_minutes": 30, "action": "auto_assign"},
                    {"after_minutes": 60, "action": "queue", "queue": "managers"},
                ]
            },
        )
        pull.route_to("inbound")
        for rep_id in pull.reps:
            org.update_rep(pull.svc, rep_id, RepPatch(status="offline"))
        [lead] = pull.leads(1)
        _tick(pull, minutes=30)
        assert routing.get_lead(pull.svc, lead)["queue"] == "inbound"
        _tick(pull, minutes=30)
        moved = routing.get_lead(pull.svc, lead)
        assert (moved["status"], moved["queue"]) == ("queued", "managers")
        kinds = [d["kind"] for d in routing.get_decisions(pull.svc, lead)]
        assert kinds == ["route", "auto_assign_none", "escalate"]
        messages = [a["message"] for a in queues.list_alerts(pull.svc, 10)]
        assert "unclaimed for 60 min in 'inbound': escalated to queue 'managers'" in messages

    def test_returned_lead_keeps_its_age_for_the_steps(self, pull: Pull) -> None:
        """A lease that ends after the lead's auto-assign age hands it straight to a rep."""
        pull.queue(
            "inbound", "pool", lease_minutes=20, policies={"auto_assign": {"after_minutes": 10}}
        )
        pull.route_to("inbound")
        [lead] = pull.leads(1)
        claims.claim(pull.svc, lead, pull.rep(0))
        _tick(pull, minutes=21)
        kinds = [d["kind"] for d in routing.get_decisions(pull.svc, lead)]
        assert kinds == ["route", "claim", "return", "auto_assign"]
