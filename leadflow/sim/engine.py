"""Replay leads in arrival order on a simulated clock through the production router.

Every routing decision is `leadflow.domain.routing.route` on the same `Org`, `RepLoad`
and rotation states the live services keep in the database — here kept in memory. What
the database would do next (a rep calls, claims from a pool, answers an offer, closes a
lead, a lead is reassigned because nobody called) is a timed event drawn from the rep
behaviour model. Loads move exactly as `services.routing` moves them: +1 open, today and
this week on assignment (in the rep's timezone), -1 open when the lead closes.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadflow.domain.eligibility import Requirements, skip_reason
from leadflow.domain.matching import FREE_MAIL_DOMAINS, lead_context, match_account
from leadflow.domain.model import Account, Org, Rep, RepLoad
from leadflow.domain.routing import RoutingResult, route
from leadflow.domain.rulebook import Offer, Rulebook
from leadflow.sim.behaviour import (
    RepBehaviour,
    claim_gap_seconds,
    lognormal,
    open_days,
    response_seconds,
)
from leadflow.sim.calendar import INF, Calendar
from leadflow.sim.conversion import ConversionModel
from leadflow.sim.indexed import IndexedOrg
from leadflow.sim.leads import SimLead
from leadflow.sim.metrics import Recorder
from leadflow.sim.offers import OfferModel, SimpleOfferModel

CONTACT, CLOSE, CLAIM, REASSIGN, OFFER_DONE = range(5)
ANYONE = Requirements()


@dataclass(frozen=True, slots=True)
class SimConfig:
    sla_minutes: float = 60.0
    """First contact later than this after arrival (or never) is an SLA breach."""
    reassign_after_hours: float | None = 24.0
    """An owner who has not called by then loses the lead; it is routed again."""
    max_reassignments: int = 2
    drain_days: float = 7.0
    """Keep the clock running this long after the last arrival (weekends, pools)."""
    claim_call_median_min: float = 5.0
    """A rep who claims or accepts a lead calls it soon: median working minutes."""


class _Track:
    """One lead's life in the simulation."""

    __slots__ = (
        "contact",
        "ctx",
        "lead",
        "owned_at",
        "owner",
        "queue",
        "queued_at",
        "reassigned",
        "seq",
        "version",
    )

    def __init__(self, lead: SimLead, seq: int, ctx: dict[str, object]) -> None:
        self.lead = lead
        self.seq = seq
        self.ctx = ctx
        self.owner: int | None = None
        self.owned_at: float | None = None
        self.contact: float | None = None
        self.queue: str | None = None
        self.queued_at: float | None = None
        self.reassigned = 0
        self.version = 0


class _Counters:
    """A rep's load counters, as the `rep_loads` row keeps them live."""

    __slots__ = ("day", "last", "open", "reset_at", "today", "week", "week_key")

    def __init__(self) -> None:
        self.open = 0
        self.today = 0
        self.week = 0
        self.day: date | None = None
        self.week_key: tuple[int, int] | None = None
        self.last: datetime | None = None
        self.reset_at = -INF

    def load(self) -> RepLoad:
        return RepLoad(self.open, self.today, self.week, self.last)


class _Pool:
    """A queue reps claim from: oldest first, or best score first for cherry-pickers."""

    def __init__(self) -> None:
        self.oldest: list[tuple[float, int, _Track]] = []
        self.best: list[tuple[float, float, int, _Track]] = []
        self.size = 0

    def push(self, t: _Track) -> None:
        score = t.lead.score if t.lead.score is not None else 0.0
        heapq.heappush(self.oldest, (t.lead.created, t.seq, t))
        heapq.heappush(self.best, (-score, t.lead.created, t.seq, t))
        self.size += 1

    def _clean(self, name: str) -> None:
        while self.oldest and self.oldest[0][2].queue != name:
            heapq.heappop(self.oldest)
        while self.best and self.best[0][3].queue != name:
            heapq.heappop(self.best)

    def peek(self, name: str, best: bool) -> _Track | None:
        self._clean(name)
        if best:
            return self.best[0][3] if self.best else None
        return self.oldest[0][2] if self.oldest else None


class Simulation:
    def __init__(
        self,
        org: Org,
        rulebook: Rulebook,
        behaviours: dict[int, RepBehaviour],
        *,
        accounts: dict[str, Account] | None = None,
        model: ConversionModel | None = None,
        config: SimConfig | None = None,
        seed: int = 0,
        offers: OfferModel | None = None,
        journal: list[tuple[str, str, int | None]] | None = None,
        trace: bool = False,
    ) -> None:
        self.org = org if isinstance(org, IndexedOrg) else IndexedOrg(org)
        self.book = rulebook
        self.behaviours = behaviours
        self.accounts = accounts or {}
        self.model = model or ConversionModel()
        self.config = config or SimConfig()
        self.offers = offers or SimpleOfferModel()
        self.seed = seed
        self.rng = random.Random(seed)
        self.free_mail = FREE_MAIL_DOMAINS | rulebook.free_mail_domains
        self.counters = {rid: _Counters() for rid in org.reps}
        self.loads: dict[int, RepLoad] = {rid: RepLoad() for rid in org.reps}
        self.states: dict[str, dict[str, int]] = {}
        self.calendars: dict[int, Calendar] = {}
        self.zones = {rid: ZoneInfo(r.timezone or "UTC") for rid, r in org.reps.items()}
        self.heap: list[tuple[float, int, int, object]] = []
        self.tick = itertools.count()
        self.pools: dict[str, _Pool] = {}
        self.claimers: dict[str, list[int]] = {}
        self.watching: set[int] = set()
        self.live: dict[int, _Track] = {}
        self.next_reset = -INF
        self.without: dict[int, Org] = {}
        self.rec = Recorder(org, self.config.sla_minutes * 60)
        self.now = 0.0
        self.start: float | None = None
        self.journal = journal
        self.trace = trace  # full decision traces, as live routing records them (slower)
        """When given: (lead id, outcome, rep id) of every routing decision, in order."""

    # ------------------------------------------------------------------ the loop

    def run(
        self, leads: Iterable[SimLead], progress: Callable[[int], None] | None = None
    ) -> Recorder:
        last = None
        for n, lead in enumerate(leads):
            if self.start is None:
                self.start = lead.created
            self._advance(lead.created)
            self.now = lead.created
            self._arrive(lead, n)
            last = lead.created
            if progress is not None and n % 1000 == 999:
                progress(1000)
        end = (last or 0.0) + self.config.drain_days * 86_400
        self._advance(end)
        for track in list(self.live.values()):
            self._finish(track, end)
        self.rec.end = end
        return self.rec

    def _advance(self, until: float) -> None:
        heap = self.heap
        while heap and heap[0][0] <= until:
            at, _, kind, obj = heapq.heappop(heap)
            self.now = at
            if kind == CONTACT:
                self._on_contact(obj)  # type: ignore[arg-type]
            elif kind == CLOSE:
                self._release(obj)  # type: ignore[arg-type]
            elif kind == CLAIM:
                self._on_claim(obj)  # type: ignore[arg-type]
            elif kind == REASSIGN:
                self._on_reassign(obj)  # type: ignore[arg-type]
            else:
                self._on_offer_done(obj)  # type: ignore[arg-type]

    def _at(self, at: float, kind: int, obj: object) -> None:
        if at < INF:
            heapq.heappush(self.heap, (at, next(self.tick), kind, obj))

    def _calendar(self, rid: int) -> Calendar:
        cal = self.calendars.get(rid)
        if cal is None:
            rep = self.org.reps[rid]
            cal = Calendar(
                rep.working_hours,
                rep.timezone,
                rep.absences,
                meetings_per_day=self.behaviours[rid].meetings_per_day,
                seed=self.seed * 100_003 + rid,
                start=self.start or self.now,
            )
            self.calendars[rid] = cal
        return cal

    # ------------------------------------------------------------------ arrival

    def _arrive(self, lead: SimLead, n: int) -> None:
        if self.now >= self.next_reset:
            self._reset_periods()
        doc = lead.document()
        ctx = lead_context(doc, self.org, match_account(doc, self.accounts, self.free_mail))
        track = _Track(lead, n, ctx)
        self.live[n] = track
        result = self._route(track, self.org)
        self.rec.outcome(result.outcome.kind)
        self._place(track, result)

    def _route(self, track: _Track, org: Org) -> RoutingResult:
        now = datetime.fromtimestamp(self.now, UTC)
        result = route(self.book, track.ctx, org, self.loads, self.states, now, trace=self.trace)
        self.states.update(result.state_updates)
        if self.journal is not None:
            out = result.outcome
            self.journal.append((track.lead.external_id, out.kind, out.rep_id))
        return result

    def _place(self, track: _Track, result: RoutingResult) -> None:
        out = result.outcome
        if out.kind == "assigned":
            assert out.rep_id is not None
            self._assign(track, out.rep_id, pushed=True)
        elif out.kind == "queued":
            self._enqueue(track, out.queue or "unassigned")
        else:
            assert isinstance(out.action, Offer)
            self._offer(track, out.action)

    # ------------------------------------------------------------------ loads

    def _reset_periods(self) -> None:
        """New local day or week for some reps: `today`/`this_week` restart from 0."""
        now = self.now
        nearest = INF
        for rid, c in self.counters.items():
            if now >= c.reset_at:
                local = datetime.fromtimestamp(now, self.zones[rid])
                day = local.date()
                iso = day.isocalendar()
                if c.day != day:
                    c.day, c.today = day, 0
                if c.week_key != (iso[0], iso[1]):
                    c.week_key, c.week = (iso[0], iso[1]), 0
                midnight = datetime.combine(day + timedelta(days=1), time(0), self.zones[rid])
                c.reset_at = midnight.timestamp()
                self.loads[rid] = c.load()
            nearest = min(nearest, c.reset_at)
        self.next_reset = nearest

    def _take(self, rid: int) -> None:
        c = self.counters[rid]
        c.open += 1
        c.today += 1
        c.week += 1
        c.last = datetime.fromtimestamp(self.now, UTC)
        self.loads[rid] = c.load()

    def _release(self, rid: int) -> None:
        c = self.counters[rid]
        if c.open > 0:
            c.open -= 1
            self.loads[rid] = c.load()

    # ------------------------------------------------------------------ push

    def _assign(self, track: _Track, rid: int, *, pushed: bool) -> None:
        self._take(rid)
        track.owner = rid
        track.version += 1
        if track.owned_at is None:
            track.owned_at = self.now
        b = self.behaviours[rid]
        if pushed:
            delay = response_seconds(self.rng, b)
        else:
            delay = lognormal(self.rng, self.config.claim_call_median_min * 60, 0.8)
        contact = self._calendar(rid).add(self.now, delay)
        self._at(contact, CONTACT, (track, track.version))
        hours = self.config.reassign_after_hours
        if hours is not None and track.reassigned < self.config.max_reassignments:
            deadline = self.now + hours * 3600
            if contact > deadline:  # otherwise the call comes first: no check needed
                self._at(deadline, REASSIGN, (track, track.version))

    def _on_contact(self, item: tuple[_Track, int]) -> None:
        track, version = item
        if track.version != version or track.contact is not None:
            return
        track.contact = self.now
        assert track.owner is not None
        self._at(
            self.now + open_days(self.rng, self.behaviours[track.owner]) * 86_400,
            CLOSE,
            track.owner,
        )
        self._finish(track, self.now)

    def _on_reassign(self, item: tuple[_Track, int]) -> None:
        track, version = item
        if track.version != version or track.contact is not None or track.owner is None:
            return
        previous = track.owner
        self._release(previous)
        track.reassigned += 1
        track.owner = None
        track.version += 1
        self.rec.reassignments += 1
        # Routed again by the same rulebook, without the rep who let it sit.
        org = self.without.get(previous)
        if org is None:
            reps = {k: v for k, v in self.org.reps.items() if k != previous}
            org = self.without[previous] = IndexedOrg(replace(self.org.base, reps=reps))
        self._place(track, self._route(track, org))

    def _finish(self, track: _Track, at: float) -> None:
        self.live.pop(track.seq, None)
        rep = self.org.reps.get(track.owner) if track.owner is not None else None
        p = 0.0
        if track.contact is not None and rep is not None:
            hours = (track.contact - track.lead.created) / 3600
            perf = self.model.performance.get(rep.email, self.behaviours[rep.id].performance)
            p = self.model.probability(track.lead.score, hours, perf, owner_matches(rep, track.ctx))
        self.rec.lead(track.lead, track.owner, track.owned_at, track.contact, p)
        if track.queue is not None:  # never claimed
            self.rec.queue_age(at - (track.queued_at or at), claimed=False)

    # ------------------------------------------------------------------ pools

    def _claimers(self, queue: str) -> list[int]:
        ids = self.claimers.get(queue)
        if ids is None:
            # A queue named like a team is that team's pool; any other (e.g. `unassigned`)
            # is open to every active rep.
            members = [r.id for r in self.org.team_members(queue) if r.active]
            ids = members or sorted(r.id for r in self.org.reps.values() if r.active)
            self.claimers[queue] = ids
        return ids

    def _enqueue(self, track: _Track, queue: str) -> None:
        track.queue = queue
        if track.queued_at is None:
            track.queued_at = self.now
        self.pools.setdefault(queue, _Pool()).push(track)
        for rid in self._claimers(queue):
            if rid not in self.watching:
                self._watch(rid)

    def _watch(self, rid: int) -> None:
        gap = claim_gap_seconds(self.rng, self.behaviours[rid])
        at = self._calendar(rid).add(self.now, gap) if gap < INF else INF
        if at < INF:
            self.watching.add(rid)
            self._at(at, CLAIM, rid)

    def _rep_queues(self, rid: int) -> list[str]:
        return [q for q, pool in self.pools.items() if rid in self._claimers(q) and pool.size]

    def _on_claim(self, rid: int) -> None:
        self.watching.discard(rid)
        queues = self._rep_queues(rid)
        if not queues:
            return  # nothing to claim: idle until a lead is queued
        rep = self.org.reps[rid]
        now = datetime.fromtimestamp(self.now, UTC)
        if skip_reason(rep, self.loads[rid], ANYONE, now) is None:
            track = self._pick(rid, queues)
            if track is not None:
                pool = self.pools[track.queue or ""]
                pool.size -= 1
                track.queue = None
                self.rec.queue_age(self.now - (track.queued_at or self.now), claimed=True)
                self._assign(track, rid, pushed=False)
        if self._rep_queues(rid):
            self._watch(rid)

    def _pick(self, rid: int, queues: list[str]) -> _Track | None:
        b = self.behaviours[rid]
        best = self.rng.random() < b.cherry_pick
        found = [t for q in queues if (t := self.pools[q].peek(q, best)) is not None]
        if not found:
            return None
        if best:
            choice = max(found, key=lambda t: (t.lead.score or 0.0, -t.lead.created))
        else:
            choice = min(found, key=lambda t: t.lead.created)
        if (choice.lead.score or 0.0) >= b.min_claim_score:
            return choice
        if not best:  # the oldest is too cold for this rep: the best might not be
            return self._pick_best_if_hot(queues, b.min_claim_score)
        return None

    def _pick_best_if_hot(self, queues: list[str], floor: float) -> _Track | None:
        found = [t for q in queues if (t := self.pools[q].peek(q, True)) is not None]
        hot = [t for t in found if (t.lead.score or 0.0) >= floor]
        return max(hot, key=lambda t: (t.lead.score or 0.0, -t.lead.created)) if hot else None

    # ------------------------------------------------------------------ offers

    def _offer(self, track: _Track, action: Offer) -> None:
        if action.team:
            pool = self.org.team_members(action.team)
        else:
            pool = [r for e in action.reps if (r := self.org.rep_by_email(e)) is not None]
        now = datetime.fromtimestamp(self.now, UTC)
        eligible = [r for r in pool if skip_reason(r, self.loads[r.id], ANYONE, now) is None]
        key = f"offer:{action.team or ','.join(sorted(action.reps))}"
        result = self.offers.resolve(
            action,
            eligible,
            self.states.get(key, {}),
            self.now,
            lambda rep: self.behaviours[rep.id],
            lambda rep, at, seconds: self._calendar(rep.id).add(at, seconds),
            self.rng,
        )
        self.rec.offer(result.asked, result.rep is not None)
        payload = (track, result.rep.id if result.rep else None, key, result.state, result.queue)
        self._at(result.at, OFFER_DONE, payload)

    def _on_offer_done(self, item: tuple[_Track, int | None, str, dict[str, int], str]) -> None:
        track, rid, key, state, queue = item
        rep = self.org.reps.get(rid) if rid is not None else None
        now = datetime.fromtimestamp(self.now, UTC)
        if rep is None or skip_reason(rep, self.loads[rep.id], ANYONE, now) is not None:
            # Nobody accepted, or the acceptor filled up meanwhile: the lead waits in a pool.
            self._enqueue(track, queue or "unassigned")
            return
        if state:
            self.states[key] = state
        self._assign(track, rep.id, pushed=False)


def owner_matches(rep: Rep, ctx: dict[str, object]) -> bool:
    """The owner speaks the lead's language and covers its territory (when both known)."""
    language = ctx.get("language")
    if language and rep.languages and language not in rep.languages:
        return False
    territory = ctx.get("territory")
    name = territory.get("name") if isinstance(territory, dict) else None
    return not (name and rep.territories and name not in rep.territories)
