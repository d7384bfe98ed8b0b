"""Distribution methods as pure functions: (eligible reps, state) -> (choice, new state).

The caller loads the state (rotation turns, weights, loads) inside its transaction,
and persists the new state with the assignment in that same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from leadflow.domain.model import Rep, RepLoad

_IDLE = RepLoad()

RotationState = Mapping[str, int]
"""Per-pool state keyed by rep id as text (JSON-friendly)."""


@dataclass(frozen=True, slots=True)
class Choice:
    rep: Rep
    state: dict[str, int]
    why: str


def round_robin(eligible: Sequence[Rep], state: RotationState) -> Choice:
    """The eligible rep whose last turn is oldest; a rep never served goes first.

    State maps rep id → the turn number at which it was last served, plus "_seq", the
    pool's turn counter. A skipped rep keeps its place: it is first in line when it
    becomes eligible again. Adding or removing a rep resets nobody's turn.
    """
    seq = state.get("_seq", 0) + 1
    # The first position holding the oldest turn: `list.index` of the minimum over plain
    # ints (no per-rep key tuples; never `eligible.index(rep)`, which compares Rep values).
    turns = [state.get(str(r.id), 0) for r in eligible]
    chosen = eligible[turns.index(min(turns))]
    new_state = dict(state)
    new_state["_seq"] = seq
    new_state[str(chosen.id)] = seq
    return Choice(chosen, new_state, f"turn {seq}: longest since last turn in rotation")


def round_robin_line(pool: Sequence[Rep], state: RotationState) -> list[int]:
    """Positions in `pool` in the order round robin serves it: oldest turn, then position.

    `round_robin(eligible, state)` picks the first rep of `eligible` in this line, for any
    `eligible` taken from the pool in pool order, so an untraced decision can screen reps
    in this order and stop at the first eligible one instead of screening the whole pool.
    """
    turns = [state.get(str(r.id), 0) for r in pool]
    # sorted() is stable: equal turns keep their pool order, as `turns.index(min)` does.
    return sorted(range(len(pool)), key=turns.__getitem__)


def weighted(
    eligible: Sequence[Rep], state: RotationState, weights: Mapping[int, int] | None = None
) -> Choice:
    """Smooth weighted round robin (as in nginx): exact ratios over each cycle, interleaved.

    Each pick, every eligible rep's running score grows by its weight; the highest score
    wins and pays back the total weight. Over sum(weights) picks each rep is chosen
    exactly `weight` times.
    """

    def weight_of(rep: Rep) -> int:
        return (weights or {}).get(rep.id, rep.weight)

    total = sum(weight_of(r) for r in eligible)
    new_state = dict(state)
    for rep in eligible:
        new_state[str(rep.id)] = new_state.get(str(rep.id), 0) + weight_of(rep)
    _, chosen = max(enumerate(eligible), key=lambda p: (new_state[str(p[1].id)], -p[0]))
    new_state[str(chosen.id)] -= total
    return Choice(
        chosen, new_state, f"weight {weight_of(chosen)} of {total} among {len(eligible)} reps"
    )


def _balance_key(loads: Mapping[int, RepLoad]) -> Callable[[Rep], tuple[int, float, int]]:
    def key(rep: Rep) -> tuple[int, float, int]:
        load = loads.get(rep.id, _IDLE)
        last = load.last_assigned_at.timestamp() if load.last_assigned_at else float("-inf")
        return (load.open, last, rep.id)

    return key


def load_balanced(eligible: Sequence[Rep], loads: Mapping[int, RepLoad]) -> Choice:
    """Fewest open leads; ties go to the rep who has waited longest since a lead."""
    chosen = min(eligible, key=_balance_key(loads))
    load = loads.get(chosen.id, _IDLE)
    return Choice(chosen, {}, f"fewest open leads ({load.open})")


def load_balanced_line(pool: Sequence[Rep], loads: Mapping[int, RepLoad]) -> list[int]:
    """Positions in `pool` in the order load balancing serves it (see `round_robin_line`).

    The key is total (it ends with the rep id), so the first eligible rep in this line is
    exactly `load_balanced`'s choice among the eligible reps.
    """
    key = _balance_key(loads)
    keys = [key(r) for r in pool]
    return sorted(range(len(pool)), key=keys.__getitem__)
