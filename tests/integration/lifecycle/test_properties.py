"""Properties on the real store: capacity follows the lifecycle; dedup never leaves two
open leads for one normalised e-mail."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from leadflow.domain import lifecycle as machine
from leadflow.domain.enrichment import normalise_email
from leadflow.errors import Conflict, ValidationError
from leadflow.services import lifecycle, routing
from leadflow.services.context import Services
from leadflow.store.models import LeadRow, RepLoadRow
from leadflow.testing import FrozenClock
from tests.integration.lifecycle.conftest import activate, add_lead, make_org

FIXTURE_ONCE = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TARGETS = ["contacted", "qualified", "won", "lost", "disqualified", "recycled", "queued", "x"]


def _assert_capacity_matches(svc: Services) -> None:
    """Each rep's open counter equals the leads they own in open statuses."""
    with svc.db.read() as s:
        counters = {r.rep_id: r.open_count for r in s.scalars(select(RepLoadRow))}
        owned: dict[int, int] = {}
        for lead in s.scalars(select(LeadRow)):
            if lead.owner_rep_id is not None and machine.is_open(lead.status):
                owned[lead.owner_rep_id] = owned.get(lead.owner_rep_id, 0) + 1
    assert {k: v for k, v in counters.items() if v} == owned


class TestProperties:
    @FIXTURE_ONCE
    @given(st.lists(st.tuples(st.sampled_from(TARGETS), st.booleans()), max_size=8))
    def test_random_status_sequences_keep_state_legal_and_capacity_true(
        self, svc: Services, seq: list[tuple[str, bool]]
    ) -> None:
        if not svc.extras.get("ready"):
            make_org(svc)
            activate(svc)
            svc.extras["ready"] = True
        lead = add_lead(svc)
        status = lead["status"]
        for target, with_reason in seq:
            try:
                view = lifecycle.change_status(svc, lead["id"], target, "r" if with_reason else "")
            except (Conflict, ValidationError):
                assert routing.get_lead(svc, lead["id"])["status"] == status  # unchanged
                continue
            assert machine.check(status, target, "r" if with_reason else "").allowed
            status = view["status"]
        _assert_capacity_matches(svc)

    @FIXTURE_ONCE
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["ann", "bob", "cy"]),
                st.sampled_from(["", "+a", "+promo"]),
                st.booleans(),
                st.booleans(),
            ),
            min_size=1,
            max_size=8,
        )
    )
    def test_dedup_never_leaves_two_open_leads_for_one_email(
        self, svc: Services, subs: list[tuple[str, str, bool, bool]]
    ) -> None:
        if not svc.extras.get("ready"):
            make_org(svc)
            activate(svc, {"dedup": {"enabled": True}})
            svc.extras["ready"] = True
        for name, tag, upper, close in subs:
            email = f"{name}{tag}@Acme.example"
            lead = add_lead(svc, email=email.upper() if upper else email)
            if close and lead["status"] == "assigned":
                lifecycle.change_status(svc, lead["id"], "lost", "no budget")
        with svc.db.read() as s:
            open_by_email: dict[str, int] = {}
            for row in s.scalars(select(LeadRow)):
                if row.email and not machine.is_closed(row.status):
                    key = normalise_email(row.email)
                    open_by_email[key] = open_by_email.get(key, 0) + 1
        assert all(n == 1 for n in open_by_email.values()), open_by_email


SLA = {
    "sla": {
        "default": {"name": "std", "within": "5m"},
        "max_reassignments": 3,
        "away_after_misses": None,
    }
}
ACTIONS = st.lists(
    st.tuples(st.sampled_from(["lead", "wait", "contact", "close"]), st.integers(0, 7)),
    max_size=14,
)


class TestSlaProperty:
    @FIXTURE_ONCE
    @given(ACTIONS)
    def test_breaches_never_return_a_lead_to_a_previous_owner(
        self, svc: Services, clock: FrozenClock, actions: list[tuple[str, int]]
    ) -> None:
        """Whatever mix of new leads, waits, contacts and closes: one pending timer at
        most per lead, owned leads never go back to a rep who had them, counters true."""
        from leadflow.services import sla
        from leadflow.store.lifecycle_models import SlaTimerRow

        if not svc.extras.get("ready"):
            make_org(svc, reps=4)
            activate(svc, SLA)
            svc.extras["ready"] = True
            svc.extras["leads"] = []
        leads: list[int] = svc.extras["leads"]
        for action, n in actions:
            if action == "lead" or not leads:
                leads.append(add_lead(svc)["id"])
            elif action == "wait":
                clock.advance(minutes=n + 1)
                sla.run_due_timers(svc, clock.now())
            else:
                target = "contacted" if action == "contact" else "lost"
                with contextlib.suppress(Conflict, ValidationError):
                    lifecycle.change_status(svc, leads[n % len(leads)], target, "r")
        with svc.db.read() as s:
            pending: dict[int, int] = {}
            for t in s.scalars(select(SlaTimerRow).where(SlaTimerRow.state == "pending")):
                pending[t.lead_id] = pending.get(t.lead_id, 0) + 1
        assert all(n == 1 for n in pending.values())
        for lead_id in leads:
            owners = [
                d["rep_id"]
                for d in routing.get_decisions(svc, lead_id)
                if d["outcome"] == "assigned" and d["kind"] in ("route", "sla_reassign")
            ]
            assert len(owners) == len(set(owners)), owners
        _assert_capacity_matches(svc)
