"""Distribution methods as pure functions: round robin, smooth weighted, load balanced."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from leadflow.domain.model import Rep, RepLoad
from leadflow.domain.strategies import RotationState, load_balanced, round_robin, weighted
from leadflow.testing import rep

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def rotate(
    reps: Sequence[Rep], n: int, state: RotationState | None = None
) -> tuple[list[int], dict[str, int]]:
    """n round-robin picks among `reps`, threading the state through like the database does."""
    current = dict(state or {})
    picks = []
    for _ in range(n):
        choice = round_robin(reps, current)
        picks.append(choice.rep.id)
        current = choice.state
    return picks, current


def spin(reps: Sequence[Rep], n: int, weights: dict[int, int] | None = None) -> list[int]:
    state: dict[str, int] = {}
    picks = []
    for _ in range(n):
        choice = weighted(reps, state, weights)
        picks.append(choice.rep.id)
        state = choice.state
    return picks


class TestRoundRobin:
    def test_rotates_in_order(self) -> None:
        """Three reps take turns a, b, c, a, b, c."""
        a, b, c = rep(id=1), rep(id=2), rep(id=3)
        picks, _ = rotate([a, b, c], 6)
        assert picks == [1, 2, 3, 1, 2, 3]

    def test_cursor_is_in_the_state_so_it_survives_restarts(self) -> None:
        """Resuming from the stored state continues the rotation where it stopped."""
        reps = [rep(id=1), rep(id=2), rep(id=3)]
        _, saved = rotate(reps, 2)
        resumed, _ = rotate(reps, 4, saved)
        assert resumed == [3, 1, 2, 3]
        assert saved["_seq"] == 2

    def test_state_is_not_mutated(self) -> None:
        """The input state is left untouched; the new state is a copy."""
        state = {"_seq": 4, "1": 4}
        round_robin([rep(id=1), rep(id=2)], state)
        assert state == {"_seq": 4, "1": 4}

    def test_adding_a_rep_does_not_reset_anyone(self) -> None:
        """A newcomer goes first, then the existing order continues unchanged."""
        a, b, c, d = rep(id=1), rep(id=2), rep(id=3), rep(id=4)
        first, state = rotate([a, b, c], 4)  # 1 2 3 1: b is next
        assert first == [1, 2, 3, 1]
        after, _ = rotate([a, b, c, d], 5, state)
        assert after == [4, 2, 3, 1, 4]

    def test_removing_a_rep_does_not_reset_anyone(self) -> None:
        """Removing the rep whose turn is next hands the turn to the following one."""
        a, b, c = rep(id=1), rep(id=2), rep(id=3)
        _, state = rotate([a, b, c], 4)  # b is next
        after, _ = rotate([a, c], 4, state)
        assert after == [3, 1, 3, 1]

    def test_skipped_rep_keeps_its_place(self) -> None:
        """A rep away for a while is first in line when eligible again."""
        a, b, c = rep(id=1), rep(id=2), rep(id=3)
        _, state = rotate([a, b, c], 3)
        while_b_away, state = rotate([a, c], 4, state)
        assert while_b_away == [1, 3, 1, 3]
        back, _ = rotate([a, b, c], 1, state)
        assert back == [2]


class TestWeighted:
    def test_smooth_interleaving_like_nginx(self) -> None:
        """Weights 5/1/1 give a a b a c a a: heavy rep spread out, not in a burst."""
        a, b, c = rep(id=1, weight=5), rep(id=2, weight=1), rep(id=3, weight=1)
        assert spin([a, b, c], 7) == [1, 1, 2, 1, 3, 1, 1]

    def test_exact_ratios_over_each_cycle(self) -> None:
        """Over every cycle of sum(weights) picks each rep is chosen `weight` times."""
        reps = [rep(id=1, weight=3), rep(id=2, weight=2), rep(id=3, weight=1)]
        picks = spin(reps, 6 * 5)
        for cycle in range(5):
            counts = Counter(picks[cycle * 6 : (cycle + 1) * 6])
            assert counts == {1: 3, 2: 2, 3: 1}

    def test_weight_overrides_take_precedence(self) -> None:
        """A rule's weights replace the reps' own weights."""
        reps = [rep(id=1, weight=1), rep(id=2, weight=1)]
        assert Counter(spin(reps, 4, {1: 3})) == {1: 3, 2: 1}

    def test_deterministic(self) -> None:
        """Same state, same choice: no randomness."""
        reps = [rep(id=1, weight=2), rep(id=2, weight=3)]
        assert spin(reps, 10) == spin(reps, 10)


class TestLoadBalanced:
    def test_fewest_open_leads_wins(self) -> None:
        """The rep carrying the fewest open leads gets the next one."""
        a, b, c = rep(id=1), rep(id=2), rep(id=3)
        loads = {1: RepLoad(open=4), 2: RepLoad(open=1), 3: RepLoad(open=2)}
        assert load_balanced([a, b, c], loads).rep.id == 2

    def test_tie_goes_to_longest_since_last_assignment(self) -> None:
        """Equal open counts: the rep who waited longest since a lead wins."""
        a, b = rep(id=1), rep(id=2)
        loads = {
            1: RepLoad(open=2, last_assigned_at=NOW - timedelta(minutes=5)),
            2: RepLoad(open=2, last_assigned_at=NOW - timedelta(hours=2)),
        }
        assert load_balanced([a, b], loads).rep.id == 2

    def test_never_assigned_rep_beats_any_timestamp(self) -> None:
        """A rep who never had a lead waited longest of all."""
        a, b = rep(id=1), rep(id=2)
        loads = {1: RepLoad(open=0, last_assigned_at=NOW - timedelta(days=30))}
        assert load_balanced([a, b], loads).rep.id == 2

    def test_load_balanced_keeps_no_rotation_state(self) -> None:
        """The loads are the state; nothing to persist in a rotation row."""
        assert load_balanced([rep(id=1)], {}).state == {}
