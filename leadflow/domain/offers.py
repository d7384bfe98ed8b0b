"""Offer progression as pure functions: who is asked next, and when it is over.

An offer campaign has an order of reps (round 1), a round number and a cursor. Each
wave asks one rep (cascade, rotating) or up to `size` reps at once (broadcast). When a
wave ends without an accept, `next_wave` gives the following one; an empty wave means
the campaign is exhausted and the offer's `then` action applies.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, replace

from leadflow.domain.model import Rep
from leadflow.domain.rulebook import OfferMode
from leadflow.domain.strategies import RotationState, round_robin


@dataclass(frozen=True, slots=True)
class Progress:
    mode: OfferMode
    order: tuple[int, ...]  # rep ids, round-1 order
    max_rounds: int
    size: int | None = None
    round: int = 1
    cursor: int = 0  # next position in this round's order

    def round_order(self, n: int) -> tuple[int, ...]:
        """Rotating offers reverse the order after a round without an accept."""
        if self.mode is OfferMode.ROTATING and n % 2 == 0:
            return tuple(reversed(self.order))
        return self.order


@dataclass(frozen=True, slots=True)
class Wave:
    progress: Progress  # the state after this wave was sent
    reps: tuple[int, ...]  # who to ask now; empty: exhausted, apply `then`
    skipped: tuple[int, ...] = ()  # passed over because not available now


def next_wave(p: Progress, available: Set[int]) -> Wave:
    """The next reps to ask, passing over those not `available` (away, at capacity,
    declined this lead). Nobody available at all ends the campaign at once."""
    if not any(r in available for r in p.order):
        return Wave(replace(p, round=p.max_rounds + 1, cursor=0), (), ())
    skipped: list[int] = []
    n, cursor = p.round, p.cursor
    while n <= p.max_rounds:
        order = p.round_order(n)
        if p.mode is OfferMode.BROADCAST:
            if cursor == 0:
                wave = [r for r in order if r in available][: p.size]
                return Wave(replace(p, round=n, cursor=len(order)), tuple(wave), ())
        else:
            while cursor < len(order):
                rep = order[cursor]
                cursor += 1
                if rep in available:
                    return Wave(replace(p, round=n, cursor=cursor), (rep,), tuple(skipped))
                skipped.append(rep)
        n, cursor = n + 1, 0
    return Wave(replace(p, round=n, cursor=0), (), tuple(skipped))


def rotating_order(
    eligible: Sequence[Rep], state: RotationState
) -> tuple[list[Rep], dict[str, int]]:
    """Round robin push & pull: the first position rotates with each lead.

    The first rep is the round-robin choice (longest since first position); the rest
    follow in the same longest-since order, so with reps A B C D successive leads are
    called A B C D, then B C D A, then C D A B. Returns the order and the new state.
    """
    choice = round_robin(eligible, state)
    rest = sorted(
        (r for r in eligible if r.id != choice.rep.id),
        key=lambda r: (state.get(str(r.id), 0), eligible.index(r)),
    )
    return [choice.rep, *rest], choice.state
