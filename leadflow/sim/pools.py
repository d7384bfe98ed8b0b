"""Queued leads in the simulator, claimed under the pull feature's own rules.

Every rule comes from `leadflow.domain.pull` (the functions the claim services call),
applied to in-memory pools instead of `leads` rows:

- who may pull from a queue at all: `pull_refusal` (triage queues, membership as
  `services.queues.is_member` decides it, tiers `new`/`struggling` never pull);
- what the rep sees before claiming: `rep_view` — a rep only cherry-picks by score
  when the view shows the score (`full`, or a `preview` listing `score`); in a `blind`
  queue (age only) a cherry-picker takes the next lead like everyone else;
- `fifo` queues (`claim_by_id_refusal`): the next lead only, in the queue's order
  (score first when `order: priority`);
- `in_rep_view` (the average tier's filter), `hoarding_refusal` (claimed leads not yet
  called) and `diversity_refusal` (the mix of recent claim scores) at claim time; every
  refusal is counted with its production wording;
- leases (`Queue.lease_until`): a claimed lead not called when its lease ends goes back
  to its queue with its original age;
- age steps (`due_steps`): `queue` moves the lead to another defined queue, and
  `auto_assign` routes it with production `route` on a one-rule rulebook made by
  `auto_assign_action` (round robin among the queue's reps, with production eligibility).

A queue the org file does not define (any name a rulebook uses, and `unassigned`) is a
`pool` queue with the production defaults, open to the team of the same name if there is
one, else to every rep.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from leadflow.domain.eligibility import Requirements, skip_reason
from leadflow.domain.model import Org, Rep, RepLoad
from leadflow.domain.pull import (
    Mode,
    Queue,
    Tier,
    View,
    auto_assign_action,
    claim_by_id_refusal,
    diversity_refusal,
    due_steps,
    hoarding_refusal,
    in_rep_view,
    pull_refusal,
    rep_view,
)
from leadflow.domain.routing import route
from leadflow.domain.rulebook import Enqueue, Rule, Rulebook
from leadflow.services.queues import is_member
from leadflow.sim.behaviour import RepBehaviour, claim_gap_seconds
from leadflow.sim.calendar import INF
from leadflow.sim.track import Track

ANYONE = Requirements()
SCAN = 64
"""Leads looked at per claim when a filter or a diversity policy may skip some."""

CLAIM, LEASE, STEP = "claim", "lease", "step"


class Pool:
    """One queue's waiting leads, in arrival order and in score order (lazy heaps)."""

    def __init__(self, queue: Queue, claimers: list[int]) -> None:
        self.queue = queue
        self.name = queue.name
        self.claimers = claimers
        self.arrival: list[tuple[float, int, int, Track]] = []
        self.scored: list[tuple[int, float, float, int, int, Track]] = []
        self.size = 0
        self.simple = queue.average_filter is None and queue.policy.diversity is None
        self.views: dict[int, tuple[Tier, bool, bool]] = {}

    def push(self, t: Track) -> None:
        t.qver += 1
        score = t.lead.score
        heapq.heappush(self.arrival, (t.lead.created, t.seq, t.qver, t))
        # Score first, unscored last (`nulls_last` in the claim services' queue order).
        key = (score is None, -(score or 0.0), t.lead.created, t.seq, t.qver, t)
        heapq.heappush(self.scored, key)
        self.size += 1

    def _live(self, entry: tuple[Any, ...]) -> bool:
        t: Track = entry[-1]
        return t.queue == self.name and t.qver == entry[-2]

    def ordered(self, by_score: bool, limit: int) -> list[Track]:
        heap: list[Any] = self.scored if by_score else self.arrival
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)
        if limit == 1:
            return [heap[0][-1]] if heap else []
        return [e[-1] for e in heapq.nsmallest(limit, heap) if self._live(e)]


def default_queue(name: str, org: Org) -> Queue:
    team = name if org.team_members(name) else None
    return Queue(name, Mode.POOL, team=team)


class PullDesk:
    """The pull side of `Simulation` (a mixin: it shares the simulation's state)."""

    org: Org
    loads: dict[int, RepLoad]
    states: dict[str, dict[str, int]]
    behaviours: dict[int, RepBehaviour]
    queue_defs: Mapping[str, Queue]
    tiers: Mapping[int, Tier]
    pools: dict[str, Pool]
    watching: set[int]
    held: Counter[int]
    recent: dict[tuple[int, str], deque[float | None]]
    now: float
    trace: bool
    rng: Any
    rec: Any
    _auto_books: dict[str, Rulebook]

    # provided by Simulation
    def _at(self, at: float, kind: Any, obj: object) -> None: ...
    def _calendar(self, rid: int) -> Any: ...
    def _assign(self, track: Track, rid: int, *, pushed: bool) -> float: ...
    def _release(self, rid: int) -> None: ...
    def _dt(self) -> datetime: ...

    def _pool(self, name: str) -> Pool:
        pool = self.pools.get(name)
        if pool is None:
            queue = self.queue_defs.get(name) or default_queue(name, self.org)
            claimers = [
                r.id
                for r in sorted(self.org.reps.values(), key=lambda r: r.id)
                if r.active and self._may_pull(queue, r)
            ]
            pool = self.pools[name] = Pool(queue, claimers)
        return pool

    def _may_pull(self, queue: Queue, rep: Rep) -> bool:
        # `is_member` reads `teams` and `email`, which the domain Rep has too.
        member = is_member(queue, cast(Any, rep))
        return pull_refusal(queue, self.tiers.get(rep.id, Tier.AVERAGE), member) is None

    def _enqueue(self, track: Track, queue: str) -> None:
        pool = self._pool(queue)
        track.queue = queue
        if track.queued_at is None:
            track.queued_at = self.now
        pool.push(track)
        steps = pool.queue.policy.steps
        if steps and queue not in track.armed:
            track.armed = track.armed | {queue}
            created = datetime.fromtimestamp(track.lead.created, UTC)
            for i, due in due_steps(pool.queue.policy, created):
                self._at(max(due.timestamp(), self.now), STEP, (track, queue, i))
        for rid in pool.claimers:
            if rid not in self.watching:
                self._watch(rid)

    def _watch(self, rid: int) -> None:
        gap = claim_gap_seconds(self.rng, self.behaviours[rid])
        at = self._calendar(rid).add(self.now, gap) if gap < INF else INF
        if at < INF:
            self.watching.add(rid)
            self._at(at, CLAIM, rid)

    def _rep_pools(self, rid: int) -> list[Pool]:
        return [p for p in self.pools.values() if p.size and rid in p.claimers]

    def _on_claim(self, rid: int) -> None:
        self.watching.discard(rid)
        pools = self._rep_pools(rid)
        if not pools:
            return  # nothing to claim: idle until a lead is queued
        rep = self.org.reps[rid]
        if skip_reason(rep, self.loads[rid], ANYONE, self._dt()) is None:
            self._claim_one(rid, pools)
        if self._rep_pools(rid):
            self._watch(rid)

    def _claim_one(self, rid: int, pools: list[Pool]) -> None:
        b = self.behaviours[rid]
        wants_best = self.rng.random() < b.cherry_pick
        found: list[tuple[Track, Pool]] = []
        for pool in pools:
            refusal = hoarding_refusal(pool.queue.policy, self.held[rid])
            if refusal:
                self.rec.refused(refusal)
                continue
            t = self._choose(pool, rid, b, wants_best)
            if t is not None:
                found.append((t, pool))
        if not found:
            return
        if wants_best:
            track, pool = max(found, key=lambda f: (f[0].lead.score or 0.0, -f[0].lead.created))
        else:
            track, pool = min(found, key=lambda f: f[0].lead.created)
        self._take_claim(track, pool, rid)

    def _choose(self, pool: Pool, rid: int, b: RepBehaviour, wants_best: bool) -> Track | None:
        """The lead this rep claims from this pool, as the production rules let them."""
        q = pool.queue
        tier, sees_score, fifo = pool.views.get(rid) or self._view(pool, rid)
        by_score = q.by_priority or (wants_best and sees_score and not fifo)
        floor = b.min_claim_score if sees_score else 0.0  # nobody refuses what they cannot see
        scan = 1 if pool.simple and (fifo or not floor) else SCAN
        recent = list(self.recent.get((rid, pool.name), ())) if not pool.simple else []
        refused = False
        for t in self._candidates(pool, by_score, scan):
            if not in_rep_view(q, tier, t.ctx):
                continue
            score = t.lead.score
            if (score or 0.0) < floor:
                if fifo or by_score:
                    return None  # the rest is colder still (or not the next lead)
                continue
            refusal = diversity_refusal(q.policy.diversity, recent, score)
            if refusal:
                if not refused:  # one refusal per attempt, then the next lead that fits
                    self.rec.refused(refusal)
                    refused = True
                continue
            return t
        if scan == 1 and floor and not by_score and sees_score and not fifo:
            # The oldest is too cold for this rep: the best might not be.
            best = pool.ordered(True, 1)
            if best and (best[0].lead.score or 0.0) >= floor:
                return best[0]
        return None

    @staticmethod
    def _candidates(pool: Pool, by_score: bool, scan: int) -> Iterator[Track]:
        """The first `scan` leads in order, then (filters or policies skipping them all)
        the rest of the queue, as claim-next goes on batch after batch."""
        first = pool.ordered(by_score, scan)
        yield from first
        if scan > 1 and pool.size > len(first):
            yield from pool.ordered(by_score, pool.size)[len(first) :]

    def _view(self, pool: Pool, rid: int) -> tuple[Tier, bool, bool]:
        """(tier, sees the score?, next lead only?) — static for a run: asked once."""
        q = pool.queue
        tier = self.tiers.get(rid, Tier.AVERAGE)
        view = rep_view(q, tier)
        sees_score = view is View.FULL or (view is View.PREVIEW and "score" in q.preview_fields)
        fifo = claim_by_id_refusal(q) is not None
        pool.views[rid] = (tier, sees_score, fifo)
        return pool.views[rid]

    def _take_claim(self, track: Track, pool: Pool, rid: int) -> None:
        pool.size -= 1
        track.queue = None
        self.rec.queue_age(self.now - (track.queued_at or self.now), claimed=True)
        self.held[rid] += 1
        track.claimed_by = rid
        div = pool.queue.policy.diversity
        if div is not None:
            key = (rid, pool.name)
            if key not in self.recent:
                self.recent[key] = deque(maxlen=div.window)
            self.recent[key].appendleft(track.lead.score)
        contact = self._assign(track, rid, pushed=False)
        lease_end = pool.queue.lease_until(self._dt()).timestamp()
        if contact > lease_end:
            self._at(lease_end, LEASE, (track, track.version, pool.name))

    def _unclaim(self, track: Track) -> None:
        if track.claimed_by is not None:
            self.held[track.claimed_by] -= 1
            track.claimed_by = None

    def _on_lease(self, item: tuple[Track, int, str]) -> None:
        """Lease over and no call logged: back in the queue with its original age."""
        track, version, name = item
        if track.version != version or track.contact is not None or track.owner is None:
            return
        self._release(track.owner)
        self._unclaim(track)
        track.owner = None
        track.version += 1
        self.rec.lease_returns += 1
        self._enqueue(track, name)

    def _on_step(self, item: tuple[Track, str, int]) -> None:
        track, name, i = item
        if track.queue != name:
            return  # claimed, assigned or moved since: the step no longer applies
        pool = self.pools[name]
        step = pool.queue.policy.steps[i]
        if step.action == "queue":
            target = step.queue if step.queue in self.queue_defs else name
            if target != name:
                pool.size -= 1
                self.rec.escalations += 1
                self._enqueue(track, target)
            return
        book = self._auto_books.get(name)
        if book is None:
            rule = Rule(f"auto-assign:{name}", auto_assign_action(pool.queue, self.org))
            book = self._auto_books[name] = Rulebook((rule,), Enqueue(name))
        result = route(
            book, track.ctx, self.org, self.loads, self.states, self._dt(), trace=self.trace
        )
        out = result.outcome
        if out.kind == "assigned" and out.rep_id is not None:
            self.states.update(result.state_updates)
            pool.size -= 1
            track.queue = None
            self.rec.queue_age(self.now - (track.queued_at or self.now), claimed=True)
            self.rec.auto_assigned += 1
            self._assign(track, out.rep_id, pushed=True)
