"""Invariants checked on generated cases: fair rotations, exact weights, caps, one outcome."""

from __future__ import annotations

import itertools
import shutil
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from leadflow.domain.eligibility import Requirements, skip_reason
from leadflow.domain.model import Capacity, Rep, RepLoad, RepStatus, Team
from leadflow.domain.routing import needs, route
from leadflow.domain.strategies import weighted
from leadflow.rules.conditions import parse_condition
from leadflow.schemas import CapacityIn, LeadIn, RepIn, TeamIn
from leadflow.services import org as org_service
from leadflow.services import routing, rulebooks
from leadflow.services.context import Services
from leadflow.store.db import Database
from leadflow.store.models import DecisionRow, LeadRow
from leadflow.testing import FrozenClock, lead, make_org, rep
from tests.unit.kit import MONDAY_10_UTC, Router, book, single

POOL = single("{name: pool, assign: {team: sales, method: round_robin}}")
POOL_BOOK = book(POOL)

caps = st.builds(
    Capacity,
    max_open=st.none() | st.integers(0, 6),
    max_per_day=st.none() | st.integers(0, 3),
    max_per_week=st.none() | st.integers(0, 8),
)


@st.composite
def reps_with_caps(draw: st.DrawFn) -> list[Rep]:
    n = draw(st.integers(1, 5))
    return [
        rep(
            id=i + 1,
            email=f"r{i + 1}@x.example",
            capacity=draw(caps),
            status=draw(st.sampled_from(list(RepStatus))),
            active=draw(st.booleans()),
        )
        for i in range(n)
    ]


class TestFairness:
    @given(n=st.integers(1, 12), picks=st.integers(0, 120))
    def test_round_robin_counts_never_differ_by_more_than_one(self, n: int, picks: int) -> None:
        """Among N always-eligible reps, after every lead the counts differ by at most 1."""
        reps = [rep(id=i + 1) for i in range(n)]
        router = Router(POOL_BOOK, make_org(reps))
        counts: Counter[int | None] = Counter({r.id: 0 for r in reps})
        for _ in range(picks):
            counts[router.route(lead()).outcome.rep_id] += 1
            assert max(counts.values()) - min(counts.values()) <= 1
        assert set(counts) == {r.id for r in reps}

    @given(weights=st.lists(st.integers(1, 10), min_size=1, max_size=6), cycles=st.integers(1, 4))
    def test_weighted_matches_ratios_exactly_over_each_cycle(
        self, weights: list[int], cycles: int
    ) -> None:
        """Every window of sum(weights) picks gives each rep exactly its weight."""
        reps = [rep(id=i + 1, weight=w) for i, w in enumerate(weights)]
        total = sum(weights)
        state: dict[str, int] = {}
        picks = []
        for _ in range(total * cycles):
            choice = weighted(reps, state)
            picks.append(choice.rep.id)
            state = choice.state
        for c in range(cycles):
            window = Counter(picks[c * total : (c + 1) * total])
            assert window == {r.id: r.weight for r in reps}


class TestCapsAndOutcomes:
    @given(reps=reps_with_caps(), leads=st.integers(1, 40))
    def test_caps_never_exceeded_and_every_lead_has_one_outcome(
        self, reps: list[Rep], leads: int
    ) -> None:
        """The domain never assigns past a cap; leads nobody can take are queued, not lost."""
        router = Router(POOL_BOOK, make_org(reps))
        outcomes = []
        for _ in range(leads):
            before = dict(router.loads)
            out = router.route(lead()).outcome
            outcomes.append(out.kind)
            if out.rep_id is not None:
                chosen = next(r for r in reps if r.id == out.rep_id)
                load = before.get(chosen.id, RepLoad())
                assert skip_reason(chosen, load, Requirements(), router.now) is None
            else:
                assert (out.kind, out.queue) == ("queued", "q")
        assert len(outcomes) == leads
        for r in reps:
            load = router.loads.get(r.id, RepLoad())
            assert r.capacity.max_open is None or load.open <= r.capacity.max_open
            assert r.capacity.max_per_day is None or load.today <= r.capacity.max_per_day
            assert r.capacity.max_per_week is None or load.this_week <= r.capacity.max_per_week


MIXED = """
rules:
  - name: accounts
    when: {account.matched: true}
    assign: {method: account_owner}
  - name: vip
    when: {attributes.vip: true}
    assign: {method: direct, rep: r1@x.example}
  - name: office hours
    active: {days: [mon, tue, wed, thu, fri], hours: "09:00-18:00", timezone: Europe/Paris}
    when: {company.country: FR}
    assign: {team: sales, method: round_robin}
  - name: big
    when: {company.size: {gte: 500}}
    assign: {team: sales, method: weighted}
fallback:
  assign: {team: sales, method: load_balanced}
"""
MIXED_BOOK = book(MIXED)

leads = st.builds(
    lambda country, size, vip, owner: lead(
        company={"country": country, "size": size},
        attributes={"vip": vip},
        account={"matched": owner is not None, "owner_rep_id": owner, "name": "A"},
    ),
    st.sampled_from(["FR", "US", "DE"]),
    st.integers(0, 2000),
    st.booleans(),
    st.none() | st.integers(1, 6),
)


class TestEveryLeadHasOneOutcome:
    @given(
        reps=reps_with_caps(),
        stream=st.lists(leads, min_size=1, max_size=20),
        hour=st.integers(0, 23 * 7),
    )
    def test_outcome_is_single_eligible_and_within_what_was_loaded(
        self, reps: list[Rep], stream: list[dict[str, Any]], hour: int
    ) -> None:
        """Whatever the org and the lead: exactly one outcome; an assigned rep was eligible
        and among the reps `needs` asked the caller to load (so the caller can count it)."""
        org = make_org(reps, teams=[Team("sales", manager_rep_id=reps[0].id)])
        router = Router(MIXED_BOOK, org, MONDAY_10_UTC + timedelta(hours=hour))
        for data in stream:
            need = needs(router.rulebook, data, org, router.now)
            before = dict(router.loads)
            result = router.route(data)
            out = result.outcome
            assert out.kind in ("assigned", "queued")
            assert (out.rep_id is not None) == (out.kind == "assigned")
            assert set(result.state_updates) <= need.pool_keys
            if out.rep_id is not None:
                assert out.rep_id in need.rep_ids
                chosen = org.reps[out.rep_id]
                load = before.get(chosen.id, RepLoad())
                assert skip_reason(chosen, load, Requirements(), router.now) is None
            else:
                assert out.queue == "unassigned"


class TestUntracedRoutingDecidesAsTraced:
    @given(
        reps=reps_with_caps(),
        stream=st.lists(leads, min_size=1, max_size=25),
        hour=st.integers(0, 23 * 7),
    )
    def test_same_outcomes_and_rotations_lead_after_lead(
        self, reps: list[Rep], stream: list[dict[str, Any]], hour: int
    ) -> None:
        """`route(trace=False)` screens reps in the method's serving order and stops at the
        first eligible one (round robin, load balanced); `trace=True` screens the whole
        pool. Whatever the caps, statuses, loads and turns, both pick the same rep and
        write the same rotation, lead after lead."""
        org = make_org(reps, teams=[Team("sales", manager_rep_id=reps[0].id)])
        router = Router(MIXED_BOOK, org, MONDAY_10_UTC + timedelta(hours=hour))
        for data in stream:
            args = (router.rulebook, data, org, router.loads, router.states, router.now)
            quiet = route(*args, trace=False)
            full = router.route(data)  # traced; carries loads and turns forward
            assert (quiet.outcome, quiet.state_updates) == (full.outcome, full.state_updates)


# ---------------------------------------------------------------- through services, SQLite

_db_names = itertools.count()


@pytest.fixture(scope="module")
def db_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("properties")


def _fresh_services(template: Path, directory: Path) -> tuple[Services, FrozenClock]:
    path = directory / f"p{next(_db_names)}.db"
    shutil.copy(template, path)
    clock = FrozenClock()
    return Services(Database(f"sqlite:///{path}"), clock), clock


def _cap_in(c: Capacity) -> CapacityIn:
    return CapacityIn(max_open=c.max_open, max_per_day=c.max_per_day, max_per_week=c.max_per_week)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    capacities=st.lists(caps, min_size=1, max_size=4),
    gaps_hours=st.lists(st.sampled_from([0, 1, 5, 20, 50]), min_size=1, max_size=15),
)
def test_services_respect_caps_and_record_one_decision_per_lead(
    sqlite_template: Path, db_dir: Path, capacities: list[Capacity], gaps_hours: list[int]
) -> None:
    """Stored leads: each has exactly one decision and one outcome; no cap is ever exceeded
    in any day or week, counted from the stored leads themselves."""
    svc, clock = _fresh_services(sqlite_template, db_dir)
    try:
        org_service.create_team(svc, TeamIn(name="sales"))
        by_id: dict[int, Capacity] = {}
        for i, cap in enumerate(capacities):
            created = org_service.create_rep(
                svc,
                RepIn(
                    name=f"R{i}", email=f"r{i}@x.example", teams=["sales"], capacity=_cap_in(cap)
                ),
            )
            by_id[created["id"]] = cap
        rulebooks.save(svc, POOL)
        for gap in gaps_hours:
            clock.advance(hours=gap)
            view, created_now = routing.intake(svc, LeadIn())
            assert created_now
            assert (view["owner_rep_id"] is None) == (view["status"] == "queued")
        _check_stored(svc, by_id, len(gaps_hours))
    finally:
        svc.db.dispose()


def _check_stored(svc: Services, caps_by_rep: dict[int, Capacity], expected: int) -> None:
    with svc.db.read() as s:
        leads = list(s.scalars(select(LeadRow)))
        per_lead = dict(
            s.execute(select(DecisionRow.lead_id, func.count()).group_by(DecisionRow.lead_id)).all()
        )
    assert len(leads) == expected
    assert all(per_lead.get(x.id) == 1 for x in leads)
    days: dict[tuple[int, Any], int] = defaultdict(int)
    weeks: dict[tuple[int, Any], int] = defaultdict(int)
    open_: Counter[int] = Counter()
    for x in leads:
        assert x.status in ("assigned", "queued")
        if x.owner_rep_id is None:
            assert x.queue == "q"
            continue
        assert x.assigned_at is not None
        open_[x.owner_rep_id] += 1
        days[x.owner_rep_id, x.assigned_at.date()] += 1
        weeks[x.owner_rep_id, x.assigned_at.isocalendar()[:2]] += 1
    for rep_id, cap in caps_by_rep.items():
        assert cap.max_open is None or open_[rep_id] <= cap.max_open
        for (r, _), n in days.items():
            assert r != rep_id or cap.max_per_day is None or n <= cap.max_per_day
        for (r, _), n in weeks.items():
            assert r != rep_id or cap.max_per_week is None or n <= cap.max_per_week


def test_a_week_later_the_weekly_cap_frees_up(sqlite_template: Path, db_dir: Path) -> None:
    """Period counters roll over: a rep full for the week takes leads again next week."""
    svc, clock = _fresh_services(sqlite_template, db_dir)
    try:
        org_service.create_team(svc, TeamIn(name="sales"))
        org_service.create_rep(
            svc,
            RepIn(
                name="R", email="r@x.example", teams=["sales"], capacity=CapacityIn(max_per_week=1)
            ),
        )
        rulebooks.save(svc, POOL)
        statuses = [routing.intake(svc, LeadIn())[0]["status"] for _ in range(2)]
        clock.advance(days=7)
        statuses.append(routing.intake(svc, LeadIn())[0]["status"])
        assert statuses == ["assigned", "queued", "assigned"]
    finally:
        svc.db.dispose()


# ---------------------------------------------------------------- conditions

scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["fr", "FR", "b", ""])


class TestConditionAlgebra:
    @given(actual=scalars, expected=scalars, present=st.booleans())
    def test_negative_operators_are_exact_complements(
        self, actual: Any, expected: Any, present: bool
    ) -> None:
        """`ne` is never `eq`, `not_in` never `in`, `not` flips: present or missing field."""
        data = {"attributes": {"x": actual} if present else {}}

        def holds(when: dict[str, Any]) -> bool:
            return parse_condition(when).evaluate(data)

        eq = holds({"field": "attributes.x", "op": "eq", "value": expected})
        assert holds({"field": "attributes.x", "op": "ne", "value": expected}) is not eq
        in_ = holds({"attributes.x": {"in": [expected]}})
        assert in_ is eq
        assert holds({"attributes.x": {"not_in": [expected]}}) is not in_
        assert holds({"not": {"field": "attributes.x", "op": "eq", "value": expected}}) is not eq

    @given(actual=st.integers(-5, 5), low=st.integers(-5, 5), high=st.integers(-5, 5))
    def test_between_is_gte_and_lte(self, actual: int, low: int, high: int) -> None:
        """`between [low, high]` is inclusive on both ends."""
        data = {"score": actual}
        between = parse_condition({"score": {"between": [low, high]}}).evaluate(data)
        both = parse_condition({"score": {"gte": low, "lte": high}}).evaluate(data)
        assert between is both is (low <= actual <= high)
