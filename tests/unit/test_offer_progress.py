"""Who is asked next in an offer campaign: cascade, broadcast, rotating (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from leadflow.domain.offers import Progress, next_wave, rotating_order
from leadflow.domain.rulebook import OfferMode
from leadflow.testing import rep

ALL = frozenset({1, 2, 3})


def waves(p: Progress, available: frozenset[int] = ALL) -> list[tuple[int, ...]]:
    """Every wave until exhausted, as if nobody ever accepted."""
    out = []
    for _ in range(50):
        w = next_wave(p, available)
        if not w.reps:
            return out
        out.append(w.reps)
        p = w.progress
    raise AssertionError("never exhausted")


class TestCascade:
    def test_asks_one_rep_at_a_time_in_rank_order(self) -> None:
        """Decline or timeout moves to the next; after the last, the campaign is over."""
        assert waves(Progress(OfferMode.CASCADE, (3, 1, 2), 1)) == [(3,), (1,), (2,)]

    def test_second_round_repeats_the_order(self) -> None:
        """max_rounds 2: the ranking is walked twice (no reversal for cascade)."""
        assert waves(Progress(OfferMode.CASCADE, (1, 2), 2), frozenset({1, 2})) == [
            (1,),
            (2,),
            (1,),
            (2,),
        ]

    def test_unavailable_reps_are_passed_over_and_reported(self) -> None:
        """A rep gone away since the ranking is skipped, and the skip is visible."""
        w = next_wave(Progress(OfferMode.CASCADE, (1, 2, 3), 1), frozenset({2, 3}))
        assert w.reps == (2,) and w.skipped == (1,)

    def test_nobody_available_ends_at_once(self) -> None:
        """No eligible rep: an empty wave, whatever the rounds left."""
        w = next_wave(Progress(OfferMode.CASCADE, (1, 2), 5), frozenset())
        assert w.reps == () and w.progress.round == 6


class TestBroadcast:
    def test_offers_to_size_reps_at_once_per_round(self) -> None:
        """size 2: the two best at once; a second round asks them again."""
        p = Progress(OfferMode.BROADCAST, (3, 1, 2), 2, size=2)
        assert waves(p) == [(3, 1), (3, 1)]

    def test_without_size_offers_to_everyone_eligible(self) -> None:
        """size None: every available rep in one wave."""
        assert waves(Progress(OfferMode.BROADCAST, (1, 2, 3), 1), frozenset({1, 3})) == [(1, 3)]


class TestRotating:
    def test_order_is_reversed_after_a_round_without_accept(self) -> None:
        """A B C, then C B A, then A B C again."""
        p = Progress(OfferMode.ROTATING, (1, 2, 3), 3)
        assert waves(p) == [(1,), (2,), (3,), (3,), (2,), (1,), (1,), (2,), (3,)]

    def test_first_position_rotates_with_each_lead(self) -> None:
        """With reps A B C D, successive leads start with A, then B, then C, then D, then A."""
        reps = [rep(id=i) for i in (11, 12, 13, 14)]
        state: dict[str, int] = {}
        orders = []
        for _ in range(5):
            order, state = rotating_order(reps, state)
            orders.append([r.id for r in order])
        assert orders[:3] == [[11, 12, 13, 14], [12, 13, 14, 11], [13, 14, 11, 12]]
        assert [o[0] for o in orders] == [11, 12, 13, 14, 11]

    def test_a_rep_missing_for_a_lead_keeps_first_place_when_back(self) -> None:
        """Rotation is by turn, not index: an absent rep is first when eligible again."""
        a, b, c = (rep(id=i) for i in (21, 22, 23))
        order, state = rotating_order([a, b, c], {})
        order, state = rotating_order([a, c], state)  # b away: c, who never led, goes first
        assert order[0].id == 23
        order, state = rotating_order([a, b, c], state)
        assert order[0].id == 22


class TestProperties:
    @given(
        mode=st.sampled_from(list(OfferMode)),
        order=st.lists(st.integers(1, 30), min_size=1, max_size=8, unique=True),
        available=st.sets(st.integers(1, 30)),
        rounds=st.integers(1, 4),
        size=st.none() | st.integers(1, 5),
    )
    def test_campaign_ends_and_asks_only_available_reps_at_most_once_per_round(
        self,
        mode: OfferMode,
        order: list[int],
        available: set[int],
        rounds: int,
        size: int | None,
    ) -> None:
        """Whatever the order and availability, the waves end; no rep is asked more than
        once a round; broadcast waves respect `size`."""
        p = Progress(mode, tuple(order), rounds, size if mode is OfferMode.BROADCAST else None)
        asked: list[int] = []
        for wave in waves(p, frozenset(available)):
            assert set(wave) <= available
            if mode is OfferMode.BROADCAST and size is not None:
                assert len(wave) <= size
            asked.extend(wave)
        for rep_id in set(asked):
            assert asked.count(rep_id) <= rounds
        if available & set(order):
            assert asked  # somebody available is always asked

    @given(n=st.integers(1, 6), k=st.integers(1, 5))
    def test_rotating_first_position_is_shared_evenly(self, n: int, k: int) -> None:
        """Over k*n leads with the same reps, each rep is first exactly k times."""
        reps = [rep(id=100 + i) for i in range(n)]
        state: dict[str, int] = {}
        firsts: list[int] = []
        for _ in range(n * k):
            order, state = rotating_order(reps, state)
            firsts.append(order[0].id)
        assert all(firsts.count(r.id) == k for r in reps)
