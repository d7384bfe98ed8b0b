"""The lifecycle state machine: legal moves, refusals with reasons."""

from __future__ import annotations

import itertools

import pytest

from leadflow.domain import lifecycle
from leadflow.domain.model import LeadStatus as S


class TestTransitions:
    def test_the_happy_path_is_allowed(self) -> None:
        """assigned → contacted → qualified → won, each step legal."""
        path = [S.ASSIGNED, S.CONTACTED, S.QUALIFIED, S.WON]
        for cur, nxt in itertools.pairwise(path):
            assert lifecycle.check(cur, nxt).allowed, (cur, nxt)

    def test_won_is_final(self) -> None:
        """Nothing follows a won lead, not even recycling."""
        verdict = lifecycle.check(S.WON, S.RECYCLED, "back to nurture")
        assert not verdict.allowed
        assert "final" in verdict.reason

    @pytest.mark.parametrize("target", [S.LOST, S.DISQUALIFIED, S.RECYCLED])
    def test_closing_needs_a_reason(self, target: S) -> None:
        """lost / disqualified / recycled without a reason are refused, with one allowed."""
        assert "reason is required" in lifecycle.check(S.CONTACTED, target, "  ").reason
        assert lifecycle.check(S.CONTACTED, target, "budget").allowed

    def test_routing_statuses_are_not_for_people(self) -> None:
        """A person cannot set `assigned`; routing can."""
        verdict = lifecycle.check(S.QUEUED, S.ASSIGNED)
        assert not verdict.allowed and "set by routing" in verdict.reason
        assert lifecycle.check(S.QUEUED, S.ASSIGNED, by_routing=True).allowed

    def test_refusal_lists_what_is_possible(self) -> None:
        """Skipping contact to win from `queued` is refused and the message says what may follow."""
        verdict = lifecycle.check(S.QUEUED, S.WON)
        assert not verdict.allowed
        assert "disqualified" in verdict.reason and "recycled" in verdict.reason

    def test_unknown_status_is_named(self) -> None:
        assert "unknown status 'done'" in lifecycle.check(S.NEW, "done").reason

    def test_same_status_twice_is_refused(self) -> None:
        assert "already contacted" in lifecycle.check(S.CONTACTED, S.CONTACTED).reason

    def test_closing_an_open_lead_releases_capacity(self) -> None:
        """Only leaving the open statuses frees a slot; reassignments do not."""
        assert lifecycle.releases_capacity(S.CONTACTED, S.LOST)
        assert lifecycle.releases_capacity(S.ASSIGNED, S.RECYCLED)
        assert not lifecycle.releases_capacity(S.QUEUED, S.DISQUALIFIED)
        assert not lifecycle.releases_capacity(S.ASSIGNED, S.QUEUED)
        assert not lifecycle.releases_capacity(S.ASSIGNED, S.CONTACTED)

    def test_recycled_lead_can_be_routed_again(self) -> None:
        assert lifecycle.check(S.RECYCLED, S.ASSIGNED, by_routing=True).allowed
        assert lifecycle.next_statuses(S.LOST) == ["recycled"]
