"""Replay leads in arrival order on a simulated clock through the production router.

Every routing decision is `leadflow.domain.routing.route` on the same `Org`, `RepLoad`
and rotation states the live services keep in the database — here kept in memory. What
the database would do next (a rep calls, claims from a pool, answers an offer, closes a
lead, a lead is reassigned because nobody called) is a timed event drawn from the rep
behaviour model. Loads move exactly as `services.routing` moves them: +1 open, today and
this week on assignment (in the rep's timezone), -1 open when the lead closes.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from leadflow.domain.matching import FREE_MAIL_DOMAINS, lead_context, match_account
from leadflow.domain.model import Account, Org, Rep, RepLoad
from leadflow.domain.pull import Queue, Tier
from leadflow.domain.routing import RoutingResult, route
from leadflow.domain.rulebook import Offer, Rulebook
from leadflow.domain.sla import breach_action
from leadflow.sim.behaviour import RepBehaviour, lognormal, open_days, response_seconds
from leadflow.sim.calendar import INF, Calendar
from leadflow.sim.conversion import ConversionModel
from leadflow.sim.indexed import IndexedOrg
from leadflow.sim.leads import SimLead
from leadflow.sim.metrics import Recorder
from leadflow.sim.offers import ANSWER, EXPIRE, OfferDesk, ranks_offers
from leadflow.sim.pools import CLAIM, LEASE, STEP, Pool, PullDesk
from leadflow.sim.track import Track

CONTACT, CLOSE, REASSIGN = "contact", "close", "reassign"


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


class Simulation(PullDesk, OfferDesk):
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
        queues: Mapping[str, Queue] | None = None,
        tiers: Mapping[int, Tier] | None = None,
        journal: list[tuple[str, str, int | None]] | None = None,
        offer_journal: list[tuple[str, tuple[int, ...]]] | None = None,
        trace: bool = False,
    ) -> None:
        self.org = org if isinstance(org, IndexedOrg) else IndexedOrg(org)
        self.book = rulebook
        self.behaviours = behaviours
        self.accounts = accounts or {}
        self.model = model or ConversionModel()
        self.config = config or SimConfig()
        self.seed = seed
        self.rng = random.Random(seed)
        self.free_mail = FREE_MAIL_DOMAINS | rulebook.free_mail_domains
        self.counters = {rid: _Counters() for rid in org.reps}
        self.loads: dict[int, RepLoad] = {rid: RepLoad() for rid in org.reps}
        self.states: dict[str, dict[str, int]] = {}
        self.calendars: dict[int, Calendar] = {}
        self.zones = {rid: ZoneInfo(r.timezone or "UTC") for rid, r in org.reps.items()}
        self.heap: list[tuple[float, int, str, object]] = []
        self.tick = itertools.count()
        # Pull: queue definitions and tiers as the pull services read them (see pools.py).
        self.queue_defs: Mapping[str, Queue] = queues or {}
        self.tiers: Mapping[int, Tier] = tiers or {}
        self.pools: dict[str, Pool] = {}
        self.watching: set[int] = set()
        self.held: Counter[int] = Counter()
        self.recent: dict[tuple[int, str], deque[float | None]] = {}
        self._auto_books: dict[str, Rulebook] = {}
        # Offers: per-rep statistics for `rank`, outcomes drawn apart from the main stream
        # so that a rulebook without ranked offers draws exactly as before.
        self.offer_stats: dict[int, Any] = {}
        self.ranking = ranks_offers(rulebook)
        self.outcome_rng = random.Random(seed * 7_919 + 1)
        self.journal_offers = offer_journal
        """When given: (lead id, reps asked) of every offer wave, in order."""
        self.handlers: dict[str, Callable[[Any], None]] = {
            CONTACT: self._on_contact,
            CLOSE: self._release,
            REASSIGN: self._on_reassign,
            CLAIM: self._on_claim,
            LEASE: self._on_lease,
            STEP: self._on_step,
            ANSWER: self._on_answer,
            EXPIRE: self._on_expire,
        }
        self.live: dict[int, Track] = {}
        self.next_reset = -INF
        self.next_trim = -INF
        self.without: dict[int, Org] = {}
        self.rec = Recorder(org, self.config.sla_minutes * 60)
        self.now = 0.0
        self._dt_at, self._dt_value = -INF, datetime.fromtimestamp(0, UTC)
        self.start: float | None = None
        self.journal = journal
        self.trace = trace  # full decision traces, as live routing records them (slower)
        """When given: (lead id, outcome, rep id) of every routing decision, in order."""

    # ------------------------------------------------------------------ the loop

    def run(
        self, leads: Iterable[SimLead], progress: Callable[[int], None] | None = None
    ) -> Recorder:
        # No cyclic garbage collection during the run: the simulation keeps hundreds of
        # thousands of live objects (pending leads, events) that every full collection
        # would walk again, and frees what it drops by reference counting (the few
        # cycles left wait for the end). 5-10 % of a million-lead run.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run(leads, progress)
        finally:
            if collecting:
                gc.enable()

    def _run(self, leads: Iterable[SimLead], progress: Callable[[int], None] | None) -> Recorder:
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
        heap, pop, handlers = self.heap, heapq.heappop, self.handlers
        while heap and heap[0][0] <= until:
            at, _, kind, obj = pop(heap)
            self.now = at
            handlers[kind](obj)

    def _at(self, at: float, kind: str, obj: object) -> None:
        if at < INF:
            heapq.heappush(self.heap, (at, next(self.tick), kind, obj))

    def _dt(self) -> datetime:
        """The simulated clock as the aware datetime the domain functions take."""
        if self._dt_at != self.now:
            self._dt_at, self._dt_value = self.now, datetime.fromtimestamp(self.now, UTC)
        return self._dt_value

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
        if self.now >= self.next_trim:
            self._trim_absences()
        doc = lead.document()
        ctx = lead_context(doc, self.org, match_account(doc, self.accounts, self.free_mail))
        track = Track(lead, n, ctx)
        self.live[n] = track
        result = self._route(track, self.org)
        self.rec.outcome(result.outcome.kind)
        self._place(track, result)

    def _route(self, track: Track, org: Org) -> RoutingResult:
        result = route(
            self.book, track.ctx, org, self.loads, self.states, self._dt(), trace=self.trace
        )
        self.states.update(result.state_updates)
        if self.journal is not None:
            out = result.outcome
            self.journal.append((track.lead.external_id, out.kind, out.rep_id))
        return result

    def _place(self, track: Track, result: RoutingResult) -> None:
        out = result.outcome
        if out.kind == "assigned":
            assert out.rep_id is not None
            self._assign(track, out.rep_id, pushed=True)
        elif out.kind == "queued":
            self._enqueue(track, out.queue or "unassigned")
        else:
            assert isinstance(out.action, Offer)
            self._offer(track, out.rule, out.action)

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

    def _trim_absences(self) -> None:
        """Drop the absences that have ended, as `services.org.load_org` only loads those
        ending after now: the same decisions, without re-checking a rep's past holidays
        on every lead (a long run generates several per rep)."""
        now = self._dt()
        reps = dict(self.org.reps)
        changed = False
        for rid, rep in reps.items():
            if any(a.end <= now for a in rep.absences):
                reps[rid] = replace(rep, absences=tuple(a for a in rep.absences if a.end > now))
                changed = True
        if changed:
            self.org = IndexedOrg(replace(self.org.base, reps=reps))
            self.without.clear()
        ends = [a.end.timestamp() for r in reps.values() for a in r.absences]
        self.next_trim = min(ends, default=INF)

    def _take(self, rid: int) -> None:
        c = self.counters[rid]
        c.open += 1
        c.today += 1
        c.week += 1
        c.last = self._dt()
        self.loads[rid] = c.load()

    def _release(self, rid: int) -> None:
        c = self.counters[rid]
        if c.open > 0:
            c.open -= 1
            self.loads[rid] = c.load()

    # ------------------------------------------------------------------ push

    def _assign(self, track: Track, rid: int, *, pushed: bool) -> float:
        """Give the lead to `rid`; returns when the rep will call it."""
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
        if hours is not None:
            deadline = self.now + hours * 3600
            # The SLA policy's decision (reassign while under the limit, then escalate:
            # the lead stays with its owner); no check needed when the call comes first.
            if contact > deadline and self._breach(track) == "reassign":
                self._at(deadline, REASSIGN, (track, track.version))
        return contact

    def _breach(self, track: Track) -> str:
        return breach_action("reassign", track.reassigned, self.config.max_reassignments)

    def _on_contact(self, item: tuple[Track, int]) -> None:
        track, version = item
        if track.version != version or track.contact is not None:
            return
        track.contact = self.now
        assert track.owner is not None
        self._unclaim(track)
        self._at(
            self.now + open_days(self.rng, self.behaviours[track.owner]) * 86_400,
            CLOSE,
            track.owner,
        )
        self._finish(track, self.now)

    def _on_reassign(self, item: tuple[Track, int]) -> None:
        track, version = item
        if track.version != version or track.contact is not None or track.owner is None:
            return
        previous = track.owner
        self._release(previous)
        self._unclaim(track)
        track.reassigned += 1
        track.owner = None
        track.version += 1
        self.rec.reassignments += 1
        # Routed again by the same rulebook, without the rep who let it sit.
        org = self.without.get(previous)
        if org is None:
            reps = {k: v for k, v in self.org.reps.items() if k != previous}
            org = self.without[previous] = IndexedOrg(replace(self.org.base, reps=reps))
        result = self._route(track, org)
        self.rec.outcome(result.outcome.kind)  # a decision like any other
        self._place(track, result)

    def _finish(self, track: Track, at: float) -> None:
        self.live.pop(track.seq, None)
        rep = self.org.reps.get(track.owner) if track.owner is not None else None
        p = 0.0
        if track.contact is not None and rep is not None:
            hours = (track.contact - track.lead.created) / 3600
            perf = self.model.performance.get(rep.email, self.behaviours[rep.id].performance)
            p = self.model.probability(track.lead.score, hours, perf, owner_matches(rep, track.ctx))
            if self.ranking:
                self._offer_outcome(rep.id, p)
        self.rec.lead(track.lead, track.owner, track.owned_at, track.contact, p)
        if track.queue is not None:  # never claimed
            self.rec.queue_age(at - (track.queued_at or at), claimed=False)


def owner_matches(rep: Rep, ctx: dict[str, object]) -> bool:
    """The owner speaks the lead's language and covers its territory (when both known)."""
    language = ctx.get("language")
    if language and rep.languages and language not in rep.languages:
        return False
    territory = ctx.get("territory")
    name = territory.get("name") if isinstance(territory, dict) else None
    return not (name and rep.territories and name not in rep.territories)
