"""Property: whatever the accepts, declines and timeouts, an offered lead ends with
exactly one outcome, an owner or the `then` action, and never two owners on the way."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.errors import Conflict
from leadflow.services import offers, routing
from leadflow.services.context import Services
from leadflow.testing import FrozenClock
from tests.integration.offer_helpers import make_team, new_lead, offer_rulebook, offers_of

MODES = st.sampled_from(
    ["{mode: cascade}", "{mode: broadcast, size: 2}", "{mode: broadcast}", "{mode: rotating}"]
)
STEPS = st.lists(
    st.tuples(st.sampled_from(["accept", "decline", "timeout", "stale_accept"]), st.integers(0, 5)),
    max_size=12,
)


def _spec(mode: str, rounds: int) -> str:
    return mode.replace(
        "}", f", team: sales, timeout: 30s, max_rounds: {rounds}, then: {{queue: triage}}}}"
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mode=MODES, rounds=st.integers(1, 3), steps=STEPS)
def test_an_offered_lead_ends_owned_or_with_its_then_action(
    svc: Services, clock: FrozenClock, mode: str, rounds: int, steps: list[tuple[str, int]]
) -> None:
    if not svc.extras.get("team"):
        svc.extras["team"] = make_team(svc, 3)
    offer_rulebook(svc, _spec(mode, rounds))
    svc.extras["n"] = n = svc.extras.get("n", 0) + 1
    lead_id = new_lead(svc, n)["id"]
    for action, pick in steps:
        _step(svc, clock, lead_id, action, pick)
        _at_most_one_owner(svc, lead_id)
    for _ in range(20):  # nobody answers any more: timeouts run the campaign out
        if not any(o.status == "pending" for o in offers_of(svc, lead_id)):
            break
        offers.run_due_timers(svc, clock.advance(seconds=30), 100)
    _ended_once(svc, lead_id)


def _step(svc: Services, clock: FrozenClock, lead_id: int, action: str, pick: int) -> None:
    all_offers = offers_of(svc, lead_id)
    live = [o for o in all_offers if o.status == "pending"]
    if action == "timeout":
        offers.run_due_timers(svc, clock.advance(seconds=30), 100)
    elif action == "stale_accept" and all_offers:
        o = all_offers[pick % len(all_offers)]  # maybe expired, declined, withdrawn, taken
        with contextlib.suppress(Conflict):
            offers.accept(svc, o.id, o.rep_id)
    elif live:
        o = live[pick % len(live)]
        if action == "accept":
            offers.accept(svc, o.id, o.rep_id)
        else:
            offers.decline(svc, o.id, o.rep_id, "no")


def _at_most_one_owner(svc: Services, lead_id: int) -> None:
    accepted = [o for o in offers_of(svc, lead_id) if o.status == "accepted"]
    assert len(accepted) <= 1
    lead = routing.get_lead(svc, lead_id)
    if accepted:
        assert lead["status"] == "assigned" and lead["owner_rep_id"] == accepted[0].rep_id


def _ended_once(svc: Services, lead_id: int) -> None:
    lead = routing.get_lead(svc, lead_id)
    all_offers = offers_of(svc, lead_id)
    assert not [o for o in all_offers if o.status == "pending"]
    accepted = [o for o in all_offers if o.status == "accepted"]
    kinds = [d["kind"] for d in routing.get_decisions(svc, lead_id)]
    if accepted:
        assert len(accepted) == 1
        assert lead["status"] == "assigned" and lead["owner_rep_id"] == accepted[0].rep_id
        assert kinds == ["route", "offer_accept"]
    else:
        assert lead["status"] == "queued" and lead["queue"] == "triage"
        assert lead["owner_rep_id"] is None
        assert kinds == ["route", "offer_fallback"]
