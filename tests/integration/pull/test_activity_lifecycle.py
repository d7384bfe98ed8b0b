"""Activities go through the lifecycle state machine: each status change is a decision,
illegal moves are refused with the machine's reason, the first contact meets the SLA
and ends the claim lease; the metrics read the decisions these paths really write."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from leadflow.errors import Conflict, ValidationError
from leadflow.pull_schemas import ActivityIn
from leadflow.services import activities, claims, lifecycle, metrics, routing, rulebooks, sla
from leadflow.store.models import RepLoadRow
from leadflow.store.pull_models import ActivityRow, ClaimRow
from tests.integration.pull.conftest import Pull

SLA_RULEBOOK = """
rules:
  - name: to-inbound
    when: {source: inbound}
    queue: {name: inbound}
fallback:
  queue: {name: inbound}
lifecycle:
  sla:
    default: {name: standard, within: 1h}
"""


def _claimed(pull: Pull, rep: int = 0) -> int:
    pull.queue("inbound", "pool")
    rulebooks.save(pull.svc, SLA_RULEBOOK)
    [lead] = pull.leads(1)
    claims.claim(pull.svc, lead, pull.rep(rep))
    return lead


def _log(pull: Pull, lead: int, kind: str, note: str | None = None) -> dict[str, Any]:
    return activities.log_activity(pull.svc, lead, ActivityIn(type=kind, note=note), pull.rep(0))


def _status_moves(pull: Pull, lead: int) -> list[tuple[str, str]]:
    return [
        (d["trace"]["from"], d["trace"]["to"])
        for d in routing.get_decisions(pull.svc, lead)
        if d["kind"] == "status"
    ]


def _claim_state(pull: Pull, lead: int) -> str:
    with pull.svc.db.read() as s:
        return s.scalars(select(ClaimRow.state).where(ClaimRow.lead_id == lead)).one()


class TestActivitiesThroughTheLifecycle:
    def test_first_contact_is_a_decision_meets_the_sla_and_ends_the_lease(
        self, pull: Pull
    ) -> None:
        lead = _claimed(pull)
        [timer] = sla.timers(pull.svc, lead)  # the claim started the owner's SLA timer
        assert timer["state"] == "pending" and timer["rep_id"] == pull.reps[0]
        pull.svc.clock.advance(minutes=5)  # type: ignore[attr-defined]
        done = _log(pull, lead, "called")
        assert done["lead_status"] == "contacted"
        assert _status_moves(pull, lead) == [("assigned", "contacted")]
        assert [t["state"] for t in sla.timers(pull.svc, lead)] == ["met"]
        assert _claim_state(pull, lead) == "contacted"
        pull.svc.clock.advance(hours=2)  # type: ignore[attr-defined]
        assert sla.run_due_timers(pull.svc, pull.svc.clock.now()) == 0  # nothing to breach

    def test_won_straight_after_claim_passes_through_contacted(self, pull: Pull) -> None:
        lead = _claimed(pull)
        assert _log(pull, lead, "won")["lead_status"] == "won"
        assert _status_moves(pull, lead) == [("assigned", "contacted"), ("contacted", "won")]

    def test_disqualified_is_disqualified_not_rejected_and_frees_the_slot(
        self, pull: Pull
    ) -> None:
        lead = _claimed(pull)
        done = _log(pull, lead, "disqualified", "student, no budget")
        assert done["lead_status"] == "disqualified"
        last = routing.get_decisions(pull.svc, lead)[-1]
        assert last["trace"]["reason"] == "student, no budget"
        with pull.svc.db.read() as s:
            assert s.get(RepLoadRow, pull.reps[0]).open_count == 0  # type: ignore[union-attr]

    def test_closing_without_a_reason_is_refused_and_nothing_is_stored(self, pull: Pull) -> None:
        lead = _claimed(pull)
        with pytest.raises(ValidationError, match="reason is required") as err:
            _log(pull, lead, "lost")
        assert err.value.field == "note"
        assert routing.get_lead(pull.svc, lead)["status"] == "assigned"
        assert _claim_state(pull, lead) == "held"  # the lease was not ended either
        with pull.svc.db.read() as s:
            assert s.scalars(select(ActivityRow)).all() == []

    def test_illegal_move_is_refused_with_the_machines_reason(self, pull: Pull) -> None:
        lead = _claimed(pull)
        _log(pull, lead, "lost", "went with a competitor")
        with pytest.raises(Conflict, match="a lost lead cannot become won") as err:
            _log(pull, lead, "won")
        assert err.value.field == "type"
        assert routing.get_lead(pull.svc, lead)["status"] == "lost"
        _log(pull, lead, "called")  # a note on a closed lead is fine: it moves nothing
        assert routing.get_lead(pull.svc, lead)["status"] == "lost"

    def test_contact_through_the_status_api_ends_the_lease(self, pull: Pull) -> None:
        lead = _claimed(pull)
        lifecycle.change_status(pull.svc, lead, "contacted", rep_id=pull.reps[0])
        assert _claim_state(pull, lead) == "contacted"
        pull.svc.clock.advance(hours=1)  # type: ignore[attr-defined]
        from leadflow.services.pull_timers import run_due_timers

        run_due_timers(pull.svc, pull.svc.clock.now(), 100)
        assert routing.get_lead(pull.svc, lead)["owner_rep_id"] == pull.reps[0]


class TestMetricsReadTheRealDecisions:
    def test_first_contact_and_claims_come_from_what_the_paths_write(self, pull: Pull) -> None:
        pull.queue("inbound", "pool")
        rulebooks.save(pull.svc, SLA_RULEBOOK)
        a, b = pull.leads(2)
        claims.claim(pull.svc, a, pull.rep(0))
        claims.claim(pull.svc, b, pull.rep(1))
        pull.svc.clock.advance(minutes=2)  # type: ignore[attr-defined]
        _log(pull, a, "meeting")  # an activity: assigned → contacted
        pull.svc.clock.advance(minutes=8)  # type: ignore[attr-defined]
        # Straight to qualified by the status API: a contact the old metric missed.
        lifecycle.change_status(pull.svc, b, "qualified", rep_id=pull.reps[1])
        data = metrics.report(pull.svc, metrics.scope(pull.svc.clock.now()))
        contact = data["latency"]["first_contact"]
        assert contact["available"] is True
        assert contact["within_5min"] == 0.5  # a after 2 min, b after 10 min
        claimed = {r["rep_id"]: r["claims"] for r in data["claims"]["reps"]}
        assert claimed == {pull.reps[0]: 1, pull.reps[1]: 1}

    def test_a_field_edit_on_a_contacted_lead_is_not_a_first_contact(self, pull: Pull) -> None:
        lead = _claimed(pull)
        with pull.svc.db.write() as s:  # contacted before the metrics' decisions existed
            from leadflow.store.models import LeadRow

            s.get(LeadRow, lead).status = "contacted"  # type: ignore[union-attr]
        lifecycle.patch_lead(pull.svc, lead, {"source": "edited"})  # outcome `contacted`
        data = metrics.report(pull.svc, metrics.scope(pull.svc.clock.now()))
        assert data["latency"]["first_contact"]["available"] is False


class TestClosingEndsTheLease:
    def test_lost_straight_from_assigned_ends_the_lease(self, pull: Pull) -> None:
        from leadflow.services.invariants import check_database

        lead = _claimed(pull)
        lifecycle.change_status(pull.svc, lead, "lost", "no budget", rep_id=pull.reps[0])
        assert _claim_state(pull, lead) == "closed"
        assert check_database(pull.svc).ok  # no lease on a closed lead, no pending SLA
