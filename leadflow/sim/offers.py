"""Offer campaigns in the simulator, run by the offers feature's own pure functions.

The same steps as `services.offers`, on in-memory state instead of campaign rows:

- start: the pool is `offer_pool`, screened by `offer_candidates` (production
  eligibility); the order is `rotating_order` on the pool's rotation state (rotating)
  or `performance.rank` on each rep's offer statistics (cascade, broadcast), with the
  action's weights;
- waves: `next_wave` on a `Progress` gives who to ask (one rep, or `size` at once for
  broadcast); each asked rep answers after their offer response time counted in their
  working time, accepting with their acceptance probability; an answer at or after the
  offer's expiry is no answer (the offer expired);
- an accept wins if the rep is not at capacity (`CAPACITY`, the accept service's check;
  a full rep declines instead); the other pending offers are withdrawn;
- once no offer of the wave is pending (declined or expired), the next wave goes to the
  reps still `offer_candidates` who have not declined; none left, or `max_rounds` done:
  the `then` action is applied by `act_alone` (a queue, an assignment or another offer),
  `unassigned` by default.

What is simulated rather than shared: the reps' statistics feeding `rank` are kept by
the simulation (offers answered, accepted, response times, and outcomes drawn from the
conversion model) instead of being read from logged outcomes.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from leadflow.domain.eligibility import skip_reason
from leadflow.domain.model import Org, RepLoad
from leadflow.domain.offers import Progress, Wave, next_wave, rotating_order
from leadflow.domain.performance import RepStats, Weights, rank
from leadflow.domain.routing import UNASSIGNED_QUEUE, RoutingResult, act_alone, offer_candidates
from leadflow.domain.routing import offer_pool as production_offer_pool
from leadflow.domain.rulebook import Enqueue, Offer, OfferMode, Rulebook
from leadflow.services.offers import CAPACITY
from leadflow.sim.behaviour import RepBehaviour, offer_answer
from leadflow.sim.pools import ANYONE
from leadflow.sim.track import Track

ANSWER, EXPIRE = "offer_answer", "offer_expire"
WEIGHT_KEYS = frozenset(f.name for f in fields(Weights))
RECENT_ANSWERS = 200  # response times kept per rep (`offer_scoring.MAX_RESPONSES`)


def weights_of(action: Offer) -> Weights:
    """The action's ranking weights; any weight not given keeps its default."""
    return Weights(**{k: float(v) for k, v in action.params.items() if k in WEIGHT_KEYS})


@dataclass
class Campaign:
    track: Track
    rule: str
    action: Offer
    progress: Progress
    wave: int = 0
    asked: int = 0
    pending: set[int] = field(default_factory=set)
    declined: set[int] = field(default_factory=set)
    closed: bool = False


class _Stats:
    __slots__ = ("accepted", "lost", "offered", "times", "won")

    def __init__(self) -> None:
        self.won = self.lost = self.offered = self.accepted = 0
        self.times: list[float] = []

    def frozen(self) -> RepStats:
        return RepStats(self.won, self.lost, self.offered, self.accepted, tuple(self.times))


class OfferDesk:
    """The offer side of `Simulation` (a mixin: it shares the simulation's state)."""

    org: Org
    book: Rulebook
    loads: dict[int, RepLoad]
    states: dict[str, dict[str, int]]
    behaviours: dict[int, RepBehaviour]
    offer_stats: dict[int, _Stats]
    outcome_rng: random.Random
    now: float
    rng: random.Random
    rec: Any
    journal_offers: list[tuple[str, tuple[int, ...]]] | None

    # provided by Simulation
    def _at(self, at: float, kind: Any, obj: object) -> None: ...
    def _calendar(self, rid: int) -> Any: ...
    def _assign(self, track: Track, rid: int, *, pushed: bool) -> float: ...
    def _place(self, track: Track, result: RoutingResult) -> None: ...
    def _dt(self) -> datetime: ...

    def _stats(self, rid: int) -> _Stats:
        st = self.offer_stats.get(rid)
        if st is None:
            st = self.offer_stats[rid] = _Stats()
        return st

    def _offer(self, track: Track, rule: str, action: Offer) -> None:
        now = self._dt()
        eligible = offer_candidates(production_offer_pool(action, self.org), self.loads, now, {})
        mode = OfferMode(action.mode)
        if not eligible:
            order: list[int] = []
        elif mode is OfferMode.ROTATING:
            key = action.pool_key()
            reps, state = rotating_order(eligible, self.states.get(key, {}))
            self.states[key] = state
            order = [r.id for r in reps]
        else:
            ids = [r.id for r in eligible]
            stats: Mapping[int, RepStats] = {r: self._stats(r).frozen() for r in ids}
            scores = rank(ids, stats, weights_of(action), float(action.timeout_seconds))
            order = [sc.rep_id for sc in scores]
        progress = Progress(mode, tuple(order), action.max_rounds, action.size)
        c = Campaign(track, rule, action, progress)
        wave = next_wave(progress, set(order))
        if wave.reps:
            self._send(c, wave)
        else:
            self._offer_fallback(c, "nobody eligible for the offer")

    def _send(self, c: Campaign, wave: Wave) -> None:
        c.progress = wave.progress
        c.wave += 1
        c.asked += len(wave.reps)
        c.pending = set(wave.reps)
        if self.journal_offers is not None:
            self.journal_offers.append((c.track.lead.external_id, wave.reps))
        expires = self.now + c.action.timeout_seconds
        for rid in wave.reps:
            accepts, delay = offer_answer(self.rng, self.behaviours[rid])
            at = self._calendar(rid).add(self.now, delay)
            if at < expires:  # an answer at the expiry instant is refused as expired
                self._at(at, ANSWER, (c, c.wave, rid, accepts, at - self.now))
        self._at(expires, EXPIRE, (c, c.wave))

    def _on_answer(self, item: tuple[Campaign, int, int, bool, float]) -> None:
        c, wave, rid, accepts, seconds = item
        if c.closed or wave != c.wave or rid not in c.pending:
            return
        st = self._stats(rid)
        st.offered += 1
        st.times.append(seconds)
        del st.times[:-RECENT_ANSWERS]
        c.pending.discard(rid)
        rep = self.org.reps[rid]
        if accepts and skip_reason(rep, self.loads[rid], ANYONE, self._dt()) not in CAPACITY:
            st.accepted += 1
            c.closed = True
            c.pending.clear()  # withdrawn: not an answer, so not in anyone's statistics
            self.rec.offer(c.asked, True)
            self._assign(c.track, rid, pushed=False)
            return
        c.declined.add(rid)
        if not c.pending:
            self._advance_offer(c)

    def _on_expire(self, item: tuple[Campaign, int]) -> None:
        c, wave = item
        if c.closed or wave != c.wave or not c.pending:
            return
        for rid in c.pending:
            self._stats(rid).offered += 1
        c.pending.clear()
        self._advance_offer(c)

    def _advance_offer(self, c: Campaign) -> None:
        """As `services.offers._advance`: the next wave among those still available."""
        reps = self.org.reps
        pool = [reps[r] for r in c.progress.order if r in reps and r not in c.declined]
        available = {r.id for r in offer_candidates(pool, self.loads, self._dt(), {})}
        wave = next_wave(c.progress, available)
        if wave.reps:
            self._send(c, wave)
            return
        rounds = c.progress.max_rounds
        why = f"no accept after {rounds} round{'s' if rounds > 1 else ''}"
        self._offer_fallback(c, why if available else "nobody left to offer to")

    def _offer_fallback(self, c: Campaign, why: str) -> None:
        c.closed = True
        self.rec.offer(c.asked, False)
        action = c.action.then or Enqueue(UNASSIGNED_QUEUE)
        now = self._dt()
        result = act_alone(
            c.rule,
            action,
            c.track.ctx,
            self.org,
            self.loads,
            self.states,
            now,
            why,
            self.book.version,
        )
        self.states.update(result.state_updates)
        self._place(c.track, result)

    def _offer_outcome(self, rid: int, p: float) -> None:
        """A called lead's outcome, drawn from the conversion model, for `rank`."""
        st = self._stats(rid)
        if self.outcome_rng.random() < p:
            st.won += 1
        else:
            st.lost += 1


def ranks_offers(book: Rulebook) -> bool:
    """Does any action of this rulebook rank reps (cascade or broadcast offers)?"""
    actions: list[Any] = [r.action for r in book.rules] + [book.fallback]
    while actions:
        a = actions.pop()
        if isinstance(a, Offer):
            if a.mode != OfferMode.ROTATING:
                return True
            actions.append(a.then)
    return False
