"""Simulated offers: who accepts an `offer:` action's lead, and when.

The seam is `OfferModel.resolve`: given the offer action, the reps eligible when the
lead arrives (screened by production eligibility) and a way to ask the simulated reps,
it answers who accepted and when (or nobody). `SimpleOfferModel` is the documented
stand-in until the offers feature's own state machine is plugged in here:

- cascade / rotating: reps in rotation order (the production round robin over the
  offer's pool), one at a time; each sees the offer only if at work, answers after
  their offer response time, and accepts with their acceptance probability if the
  answer comes before the offer's timeout; otherwise the next rep is asked.
- broadcast: the first `size` reps (all if no size) at once; the earliest acceptance
  within the timeout wins.
- nobody accepts: the lead goes to the `then:` queue if the rule gives one, else to the
  `unassigned` queue for a manager (as routing does when no rep is eligible).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from leadflow.domain.model import Rep
from leadflow.domain.routing import UNASSIGNED_QUEUE
from leadflow.domain.rulebook import Enqueue, Offer
from leadflow.domain.strategies import RotationState, round_robin
from leadflow.sim.behaviour import RepBehaviour, offer_answer


@dataclass(frozen=True, slots=True)
class OfferResult:
    rep: Rep | None
    at: float  # when accepted, or when the last ask expired
    asked: int
    state: dict[str, int]  # new rotation state of the offer's pool (empty: unchanged)
    queue: str | None = None  # where the lead goes when nobody accepts


class RepAnswers(Protocol):
    def __call__(self, rep: Rep, at: float, seconds: float) -> float:
        """When `seconds` of `rep`'s working time have passed after `at` (inf: never)."""
        ...


class OfferModel(Protocol):
    def resolve(
        self,
        action: Offer,
        eligible: Sequence[Rep],
        state: RotationState,
        now: float,
        behaviour: Callable[[Rep], RepBehaviour],
        working: RepAnswers,
        rng: random.Random,
    ) -> OfferResult: ...


def rotation_order(eligible: Sequence[Rep], state: RotationState) -> list[Rep]:
    """The order production round robin would serve these reps in."""
    remaining = list(eligible)
    order = []
    st: RotationState = state
    while remaining:
        choice = round_robin(remaining, st)
        order.append(choice.rep)
        remaining.remove(choice.rep)
        st = choice.state
    return order


class SimpleOfferModel:
    def resolve(
        self,
        action: Offer,
        eligible: Sequence[Rep],
        state: RotationState,
        now: float,
        behaviour: Callable[[Rep], RepBehaviour],
        working: RepAnswers,
        rng: random.Random,
    ) -> OfferResult:
        timeout = float(action.timeout_seconds)
        order = rotation_order(eligible, state)
        if action.mode == "broadcast":
            size = action.size
            asked = order[: int(size)] if size else order
            best: tuple[float, Rep] | None = None
            for rep in asked:
                accepts, delay = offer_answer(rng, behaviour(rep))
                at = working(rep, now, delay)
                if accepts and at - now <= timeout and (best is None or at < best[0]):
                    best = (at, rep)
            if best is not None:
                return OfferResult(best[1], best[0], len(asked), _served(best[1], state))
            return self._nobody(action, now + timeout, len(asked))
        t = now
        for n, rep in enumerate(order, 1):
            accepts, delay = offer_answer(rng, behaviour(rep))
            at = working(rep, t, delay)
            if accepts and at - t <= timeout:
                return OfferResult(rep, at, n, _served(rep, state))
            t = min(at, t + timeout) if not accepts else t + timeout
        return self._nobody(action, t, len(order))

    @staticmethod
    def _nobody(action: Offer, at: float, asked: int) -> OfferResult:
        # The `then` action: a queue holds the lead; anything else (an assignment, another
        # offer) is beyond this stand-in, which then parks the lead in `unassigned`.
        name = action.then.queue if isinstance(action.then, Enqueue) else UNASSIGNED_QUEUE
        return OfferResult(None, at, asked, {}, name)


def _served(rep: Rep, state: RotationState) -> dict[str, int]:
    # The acceptor takes this turn of the offer pool's rotation, as an assignment would.
    return round_robin([rep], state).state
