"""Pure pull rules: who sees what, and the policy checks at claim time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.domain.pull import (
    Diversity,
    Mode,
    Policy,
    Queue,
    Step,
    Tier,
    View,
    claim_by_id_refusal,
    diversity_refusal,
    due_steps,
    hoarding_refusal,
    may_open_details,
    next_day_start,
    preview,
    pull_refusal,
    rep_view,
    skip_refusal,
)


def _queue(mode: Mode, **over: object) -> Queue:
    return Queue("q", mode, **over)  # type: ignore[arg-type]


class TestViews:
    @pytest.mark.parametrize(
        ("mode", "tier", "view"),
        [
            (Mode.BLIND, Tier.TOP, View.AGE_ONLY),
            (Mode.BLIND, Tier.AVERAGE, View.AGE_ONLY),
            (Mode.POOL, Tier.TOP, View.FULL),
            (Mode.POOL, Tier.AVERAGE, View.PREVIEW),
            (Mode.FIFO, Tier.AVERAGE, View.PREVIEW),
            (Mode.CHERRY_PICK, Tier.AVERAGE, View.FULL),
        ],
    )
    def test_mode_caps_and_tier_refines(self, mode: Mode, tier: Tier, view: View) -> None:
        """Blind stays blind even for top reps; top reps see pools in full."""
        assert rep_view(_queue(mode), tier) is view

    def test_cherry_pick_with_skip_limit_lists_previews(self) -> None:
        q = _queue(Mode.CHERRY_PICK, policy=Policy(skip_limit=3))
        assert rep_view(q, Tier.TOP) is View.PREVIEW
        assert may_open_details(q, Tier.AVERAGE)

    def test_blind_never_opens_details(self) -> None:
        assert not may_open_details(_queue(Mode.BLIND), Tier.TOP)

    def test_preview_has_only_the_configured_fields(self) -> None:
        lead = {"email": "a@b.c", "company": {"name": "Acme", "size": 5}, "score": 3}
        assert preview(lead, ("company.name", "company.industry", "score")) == {
            "company.name": "Acme",
            "company.industry": None,
            "score": 3,
        }

    def test_triage_refuses_everyone_pulling(self) -> None:
        assert "triage" in (pull_refusal(_queue(Mode.TRIAGE), Tier.TOP, True) or "")

    def test_fifo_refuses_claims_by_id(self) -> None:
        assert "claim-next" in (claim_by_id_refusal(_queue(Mode.FIFO)) or "")
        assert claim_by_id_refusal(_queue(Mode.POOL)) is None


class TestPolicies:
    def test_hoarding_cap_refuses_at_the_cap(self) -> None:
        assert hoarding_refusal(Policy(hoarding_cap=2), 1) is None
        assert "limit 2" in (hoarding_refusal(Policy(hoarding_cap=2), 2) or "")
        assert hoarding_refusal(Policy(hoarding_cap=None), 10_000) is None

    def test_low_score_claims_are_always_allowed(self) -> None:
        assert diversity_refusal(Diversity(), [90.0] * 9, 10.0) is None

    def test_missing_score_counts_as_low(self) -> None:
        assert diversity_refusal(Diversity(ratio=1, min_low_percent=None), [None], 99.0) is None

    def test_skip_limit(self) -> None:
        assert skip_refusal(2, 1, False) is None
        assert skip_refusal(2, 2, True) is None  # re-opening a viewed lead is free
        assert "limit 2" in (skip_refusal(2, 2, False) or "")

    def test_steps_count_from_arrival(self) -> None:
        at = datetime(2026, 3, 2, 10, tzinfo=UTC)
        policy = Policy(steps=(Step(timedelta(minutes=30), "auto_assign"),))
        assert due_steps(policy, at) == [(0, at + timedelta(minutes=30))]

    def test_next_day_start_is_the_coming_midnight(self) -> None:
        at = datetime(2026, 3, 2, 23, 59, tzinfo=UTC)
        assert next_day_start(at) == datetime(2026, 3, 3, tzinfo=UTC)


@given(
    st.lists(st.one_of(st.none(), st.floats(0, 100)), max_size=40),
    st.integers(1, 100),
    st.integers(2, 20),
)
def test_percentage_rule_keeps_the_low_share_in_every_window(
    scores: list[float | None], pct: int, window: int
) -> None:
    """Claims accepted one by one never leave the latest window below the minimum share
    of low-score leads (the refusal is exactly the rule, no more, no less)."""
    d = Diversity(score_below=50, min_low_percent=pct, window=window)
    accepted: list[float | None] = []  # newest first
    for score in scores:
        if diversity_refusal(d, accepted, score) is None:
            accepted.insert(0, score)
            recent = accepted[:window]
            lows = sum(1 for s in recent if s is None or s < 50)
            high_added = score is not None and score >= 50
            if high_added:
                assert lows >= len(recent) * pct // 100
