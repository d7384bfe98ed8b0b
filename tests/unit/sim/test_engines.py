"""The simulator's queues and offers are the production pull and offers code.

Each test builds the same inputs for the simulator and for the `leadflow.domain`
functions the services call, and checks the simulator did what those functions say:
the same offer waves in the same order, the same claim refusals word for word, the
visibility rules of each queue mode.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from leadflow.domain.offers import Progress, next_wave, rotating_order
from leadflow.domain.performance import RepStats, Weights, rank
from leadflow.domain.pull import Diversity, Mode, Policy, Tier, diversity_refusal, hoarding_refusal
from leadflow.domain.rulebook import OfferMode
from leadflow.sim.engine import SimConfig, Simulation
from leadflow.sim.leads import SimLead
from leadflow.sim.pools import Pool
from leadflow.sim.track import Track
from leadflow.sim.world import World, behaviours, load_world, with_absences
from tests.unit.sim.conftest import org_text

T0 = 1_772_445_600.0  # 2026-03-02 10:00 UTC, a Monday
QUIET = {"meetings_per_day": 0, "response_sigma": 0.3}


def _world(
    defaults: dict[str, Any], n_reps: int = 4, vacations: float = 0.0, **extra: Any
) -> World:
    simulation = {"defaults": {**QUIET, **defaults}, "vacation_probability": vacations}
    doc = yaml.safe_load(org_text(n_reps, simulation=simulation))
    doc.update(extra)
    return load_world(yaml.safe_dump(doc))


def _leads(n: int, gap_s: float = 600.0, scores: tuple[float, ...] = (50.0,)) -> list[SimLead]:
    return [
        SimLead(f"L{i}", T0 + i * gap_s, score=scores[i % len(scores)], value=1000.0)
        for i in range(n)
    ]


def _book(world: World, fallback: dict[str, Any]) -> Any:
    return world.compile(yaml.safe_dump({"rules": [], "fallback": fallback}))


class _Claims(Simulation):
    """Records every claim (rep, lead, queue) and the most claimed leads a rep held."""

    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, **k)
        self.claims: list[tuple[int, SimLead, str]] = []
        self.peak_held = 0

    def _take_claim(self, track: Track, pool: Pool, rid: int) -> None:
        self.claims.append((rid, track.lead, pool.name))
        super()._take_claim(track, pool, rid)
        self.peak_held = max(self.peak_held, *self.held.values())


class _Ranked(Simulation):
    """Keeps the offer statistics as they were when each offer started."""

    def __init__(self, *a: Any, **k: Any) -> None:
        super().__init__(*a, **k)
        self.snapshots: list[dict[int, RepStats]] = []

    def _offer(self, track: Track, rule: str, action: Any) -> None:
        self.snapshots.append({r: self._stats(r).frozen() for r in self.org.reps})
        super()._offer(track, rule, action)


def _sim(world: World, book: Any, cls: type[Simulation] = Simulation, **kw: Any) -> Any:
    return cls(
        world.org,
        book,
        behaviours(world, 1, {}),
        seed=1,
        queues=world.queues,
        tiers=world.tiers,
        **kw,
    )


# ---------------------------------------------------------------- offers


class TestOffers:
    def test_rotating_waves_follow_rotating_order_and_next_wave(self) -> None:
        """Everyone declines: each lead is offered to the reps one at a time in the
        order `rotating_order` gives for that lead (A B C D, then B C D A, ...), and the
        campaign ends when `next_wave` finds nobody left."""
        world = _world({"accept_probability": 0, "offer_response_median_s": 5})
        book = _book(world, {"offer": {"team": "sales", "mode": "rotating", "timeout": "5m"}})
        journal: list[tuple[str, tuple[int, ...]]] = []
        data = _leads(6, gap_s=3600)
        rec = _sim(world, book, offer_journal=journal).run(data)

        team = world.org.team_members("sales")
        expected: list[tuple[str, tuple[int, ...]]] = []
        state: dict[str, int] = {}
        for lead in data:
            order, state = rotating_order(team, state)
            progress = Progress(OfferMode.ROTATING, tuple(r.id for r in order), 1)
            available = {r.id for r in order}
            while (wave := next_wave(progress, available)).reps:
                expected.append((lead.external_id, wave.reps))
                progress = wave.progress
                available -= set(wave.reps)  # declined: never asked again
        assert journal == expected
        assert rec.offers == 6 and rec.offers_accepted == 0
        assert rec.offer_asks == 6 * len(team)

    def test_broadcast_waves_are_the_top_of_production_rank(self) -> None:
        """A broadcast of size 2: before each lead, the reps' offer statistics ranked by
        `performance.rank` (the action's weights) give the order, and the wave is
        `next_wave`'s first two of it, asked together. Declines and slow answers move a
        rep down the ranking, as they would live."""
        world = _world({"accept_probability": 0})
        book = _book(
            world, {"offer": {"team": "sales", "mode": "broadcast", "size": 2, "timeout": "2m"}}
        )
        journal: list[tuple[str, tuple[int, ...]]] = []
        sim = _sim(world, book, _Ranked, offer_journal=journal)
        sim.run(_leads(6, gap_s=3600))
        ids = [r.id for r in world.org.team_members("sales")]
        expected = []
        for stats in sim.snapshots:
            order = tuple(sc.rep_id for sc in rank(ids, stats, Weights(), 120.0))
            expected.append(next_wave(Progress(OfferMode.BROADCAST, order, 1, 2), set(ids)).reps)
        assert [reps for _, reps in journal] == expected
        assert expected[0] == tuple(ids[:2])  # nobody has a history yet: the pool order
        assert len(set(expected)) > 1  # the ranking moved with the answers

    def test_unanswered_offers_expire_into_the_then_queue(self) -> None:
        """Reps who never answer in time: each wave expires, and after `max_rounds` the
        lead goes to the `then` queue, where reps claim it."""
        world = _world({"accept_probability": 1, "offer_response_median_s": 3600})
        book = _book(
            world,
            {
                "offer": {
                    "team": "sales",
                    "mode": "cascade",
                    "timeout": "1m",
                    "max_rounds": 2,
                    "then": {"queue": "sales"},
                }
            },
        )
        journal: list[tuple[str, tuple[int, ...]]] = []
        rec = _sim(world, book, offer_journal=journal).run(_leads(5, gap_s=3600))
        assert rec.offers == 5 and rec.offers_accepted == 0
        assert len(journal) == 5 * 4 * 2  # every rep, both rounds, one at a time
        assert len(rec.to_contact) == 5  # claimed from the `then` queue and called

    def test_an_accepting_rep_owns_the_lead(self) -> None:
        world = _world({"accept_probability": 1, "offer_response_median_s": 5})
        book = _book(world, {"offer": {"team": "sales", "mode": "cascade", "timeout": "5m"}})
        rec = _sim(world, book).run(_leads(40))
        assert rec.offers == rec.offers_accepted == 40
        assert rec.offer_asks == 40  # the first rep asked always accepts
        assert rec.to_owner and max(rec.to_owner) < 5 * 60


# ---------------------------------------------------------------- pull


def _queue_world(queue: dict[str, Any], defaults: dict[str, Any], **extra: Any) -> World:
    return _world(defaults, queues=[{"name": "inbox", **queue}], **extra)


POOL_BOOK = {"queue": "inbox"}
SLOW_CALLER = SimConfig(claim_call_median_min=24 * 60, reassign_after_hours=None)


class TestPull:
    def test_the_org_files_queues_and_tiers_are_read_as_the_services_read_them(self) -> None:
        world = _queue_world(
            {"mode": "blind", "lease_minutes": 30, "policies": {"hoarding_cap": 3}},
            {},
            tiers={"rep0@sim.example": "new"},
        )
        queue = world.queues["inbox"]
        assert queue.mode is Mode.BLIND
        assert queue.lease == timedelta(minutes=30)
        assert queue.policy.hoarding_cap == 3
        assert list(world.tiers.values()) == [Tier.NEW]

    def test_hoarding_cap_refusals_are_the_production_refusal(self) -> None:
        """Reps who claim but do not call: nobody ever holds more than the cap, and the
        refusals counted are `hoarding_refusal`'s own sentence."""
        world = _queue_world(
            {"mode": "pool", "lease_minutes": 60 * 24 * 30, "policies": {"hoarding_cap": 2}},
            {"claims_per_hour": 6},
        )
        sim = _sim(world, _book(world, POOL_BOOK), _Claims, config=SLOW_CALLER)
        rec = sim.run(_leads(60, gap_s=120))
        assert sim.peak_held == 2
        expected = hoarding_refusal(Policy(hoarding_cap=2), 2)
        assert expected is not None
        assert set(rec.claim_refusals) == {expected}
        assert rec.summary()["pull"]["claim_refusals"] == {
            "hoarding cap": sum(rec.claim_refusals.values())
        }

    def test_diversity_refusals_are_the_production_refusal(self) -> None:
        """Cherry-pickers facing a 1-low-per-1-high mix: the refused claims carry
        `diversity_refusal`'s words, and claims alternate between high and low."""
        world = _queue_world(
            {"mode": "pool", "policies": {"diversity": {"score_below": 50, "ratio": 1}}},
            {"claims_per_hour": 4, "cherry_pick": 1.0},
            n_reps=1,
        )
        sim = _sim(world, _book(world, POOL_BOOK), _Claims)
        rec = sim.run(_leads(80, gap_s=60, scores=(90.0, 10.0)))
        div = Diversity(score_below=50, min_low_percent=30, ratio=1)
        assert rec.claim_refusals
        for reason in rec.claim_refusals:
            assert reason == diversity_refusal(div, [90.0, 90.0], 90.0)
        scores = [lead.score for _, lead, _ in sim.claims]
        for i, score in enumerate(scores):
            recent = list(reversed(scores[:i]))[: div.window]
            assert diversity_refusal(div, recent, score) is None

    @pytest.mark.parametrize(("mode", "in_order"), [("blind", True), ("pool", False)])
    def test_cherry_pickers_only_pick_what_they_can_see(self, mode: str, in_order: bool) -> None:
        """In a blind queue (age only) a cherry-picker takes leads in arrival order; in a
        pool queue, where the preview shows the score, the hottest first."""
        world = _queue_world(
            {"mode": mode, "lease_minutes": 600}, {"claims_per_hour": 2, "cherry_pick": 1.0}
        )
        sim = _sim(world, _book(world, POOL_BOOK), _Claims)
        sim.run(_leads(120, gap_s=60, scores=(10.0, 90.0, 40.0)))
        created = [lead.created for _, lead, _ in sim.claims]
        assert len(created) > 20
        assert (created == sorted(created)) is in_order

    def test_reps_who_may_not_pull_never_claim(self) -> None:
        """Tier `new` does not pull (`pull_refusal`); the others do."""
        world = _queue_world(
            {"mode": "pool"}, {"claims_per_hour": 4}, tiers={"rep0@sim.example": "new"}
        )
        sim = _sim(world, _book(world, POOL_BOOK), _Claims)
        sim.run(_leads(100, gap_s=300))
        new_rep = next(r.id for r in world.org.reps.values() if r.email == "rep0@sim.example")
        claimers = {rid for rid, _, _ in sim.claims}
        assert claimers and new_rep not in claimers

    def test_a_triage_queue_waits_for_its_auto_assign_step(self) -> None:
        """Nobody pulls from triage; the `auto_assign` step routes each lead by round
        robin (production `route`) once it is 30 minutes old."""
        world = _queue_world(
            {"mode": "triage", "policies": {"auto_assign": {"after_minutes": 30}}},
            {"claims_per_hour": 6},
        )
        sim = _sim(world, _book(world, POOL_BOOK), _Claims)
        rec = sim.run(_leads(40, gap_s=900))
        assert sim.claims == []
        assert rec.auto_assigned == 40
        assert sorted(rec.to_owner) == [30 * 60.0] * 40
        assert sorted(rec.rep_count.values()) == [10, 10, 10, 10]

    def test_unclaimed_leases_return_the_lead_to_its_queue(self) -> None:
        """A claimer who does not call within the lease loses the lead back to the queue."""
        world = _queue_world({"mode": "pool", "lease_minutes": 5}, {"claims_per_hour": 6})
        sim = _sim(world, _book(world, POOL_BOOK), _Claims, config=SLOW_CALLER)
        rec = sim.run(_leads(20, gap_s=600))
        assert rec.lease_returns > 0
        # Every claim ended in a return to the queue, or with the lead owned at the end.
        assert len(sim.claims) == rec.lease_returns + sum(rec.rep_count.values())


# ---------------------------------------------------------------- speed without change


class _KeepsPastAbsences(Simulation):
    def _trim_absences(self) -> None:
        self.next_trim = float("inf")


def test_dropping_ended_absences_changes_no_decision() -> None:
    """The simulator drops absences once over (as `load_org` loads only those ending
    after now); every routing decision and every number stays the same."""
    world = _world({"claims_per_hour": 2}, n_reps=6, vacations=0.9)
    org = with_absences(world, T0, 60, 3)
    assert sum(len(r.absences) for r in org.reps.values()) >= 2
    book = world.compile(
        yaml.safe_dump(
            {
                "rules": [{"name": "hot", "when": {"score": {"gte": 60}}, "queue": "sales"}],
                "fallback": {"assign": {"team": "sales", "method": "round_robin"}},
            }
        )
    )
    runs, sims = [], []
    for cls in (Simulation, _KeepsPastAbsences):
        journal: list[tuple[str, str, int | None]] = []
        sim = cls(org, book, behaviours(world, 1, {}), seed=1, journal=journal)
        sims.append(sim)
        runs.append((journal, sim.run(_leads(3000, gap_s=1500, scores=(80.0, 20.0))).summary()))
    assert runs[0] == runs[1]
    left = [sum(len(r.absences) for r in sim.org.reps.values()) for sim in sims]
    assert left[0] < left[1]  # absences were dropped along the way
    assert len({rep for _, kind, rep in runs[0][0] if kind == "assigned"}) == 6


def test_untraced_routing_decides_exactly_as_traced_routing() -> None:
    """`route(trace=False)` (the simulator's) skips the explanations only: on the same
    leads, loads and rotations it gives the same outcome and the same new rotations."""
    from datetime import UTC, datetime

    from bench.sim import rulebooks
    from leadflow.domain.matching import lead_context
    from leadflow.domain.model import RepLoad
    from leadflow.domain.routing import route
    from leadflow.sim.history import generate_leads, generate_org

    raw = generate_org(20, seed=3)
    world = load_world(yaml.safe_dump(raw))
    org = with_absences(world, T0, 30, 3)
    loads = {rid: RepLoad(open=rid % 4, today=rid % 3) for rid in org.reps}
    for text in rulebooks(raw).values():
        book = world.compile(text)
        states: dict[str, dict[str, int]] = {}
        for lead in generate_leads(400, seed=5):
            ctx = lead_context(lead.document(), org, {"matched": False})
            now = datetime.fromtimestamp(lead.created, UTC)
            quiet = route(book, ctx, org, loads, states, now, trace=False)
            full = route(book, ctx, org, loads, states, now, trace=True)
            assert (quiet.outcome, quiet.state_updates) == (full.outcome, full.state_updates)
            states.update(full.state_updates)
