"""Property: random transition sequences never reach an illegal state."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from leadflow.domain import lifecycle
from leadflow.domain.model import LeadStatus

STATUSES = [s.value for s in LeadStatus] + ["bogus"]
steps = st.lists(
    st.tuples(st.sampled_from(STATUSES), st.sampled_from(["", "a reason"]), st.booleans()),
    max_size=40,
)


@given(steps)
def test_random_sequences_only_take_legal_edges(seq: list[tuple[str, str, bool]]) -> None:
    """Whatever is attempted, the status only moves along ALLOWED edges, a won lead never
    moves again, closing always carried a reason, and people never set routing statuses."""
    status = LeadStatus.NEW
    for target, reason, by_routing in seq:
        verdict = lifecycle.check(status, target, reason, by_routing=by_routing)
        if not verdict.allowed:
            assert verdict.reason  # every refusal says why
            continue
        target_status = LeadStatus(target)
        assert target_status in lifecycle.ALLOWED[status]
        assert status is not LeadStatus.WON
        if target_status in lifecycle.NEEDS_REASON:
            assert reason
        if target_status in lifecycle.SET_BY_ROUTING:
            assert by_routing
        status = target_status
