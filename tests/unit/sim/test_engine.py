"""The simulator on constructed cases whose answer is known."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.sim.conversion import ConversionModel
from leadflow.sim.engine import SimConfig, Simulation, _Counters
from leadflow.sim.leads import SimLead
from leadflow.sim.runner import Calibration, simulate
from leadflow.sim.world import World, behaviours, load_world, with_absences
from tests.unit.sim.conftest import org_text

T0 = 1_772_445_600.0  # 2026-03-02 10:00 UTC, a Monday
NO_CALIBRATION = Calibration(ConversionModel(), {})


def leads(n: int, gap_s: float = 180.0, hot_every: int = 2) -> list[SimLead]:
    """Alternating hot (90) and cold (10) leads, `gap_s` apart."""
    return [
        SimLead(
            external_id=f"L{i}",
            created=T0 + i * gap_s,
            score=90.0 if i % hot_every == 0 else 10.0,
            value=1000.0,
            company_country="FR",
        )
        for i in range(n)
    ]


PUSH_HOT = yaml.safe_dump(
    {
        "rules": [
            {
                "name": "hot",
                "when": {"score": {"gte": 70}},
                "assign": {"team": "sales", "method": "round_robin"},
            },
        ],
        "fallback": {"queue": "sales"},
    }
)
POOL = yaml.safe_dump({"rules": [], "fallback": {"queue": "sales"}})
PUSH_ALL = yaml.safe_dump(
    {"rules": [], "fallback": {"assign": {"team": "sales", "method": "round_robin"}}}
)
OFFER = yaml.safe_dump(
    {
        "rules": [],
        "fallback": {"offer": {"team": "sales", "mode": "cascade", "timeout": "5m"}},
    }
)


def _run(world: World, text: str, data: list[SimLead], seed: int = 1, **cfg: Any) -> dict[str, Any]:
    report = simulate(
        world,
        [("x", world.compile(text))],
        data,
        runs=1,
        seed=seed,
        config=SimConfig(**cfg),
        calibration=NO_CALIBRATION,
    )
    run: dict[str, Any] = report["rulebooks"]["x"]["runs"][0]
    return run


class TestKnownAnswers:
    def test_pushing_hot_leads_beats_a_pool_on_time_to_contact_when_reps_cherry_pick(
        self, team_world: World
    ) -> None:
        """Reps who check the pool once an hour and take the best lead first leave hot
        leads waiting; pushing the hot ones gets them called in about the response time."""
        data = leads(600)
        push = _run(team_world, PUSH_HOT, data)
        pool = _run(team_world, POOL, data)
        assert push["time_to_contact_min"]["p50"] < pool["time_to_contact_min"]["p50"]
        assert push["contacted_within_5_min_pct"] >= pool["contacted_within_5_min_pct"]
        assert push["expected_conversions"] > pool["expected_conversions"]
        # Hot leads are pushed: time to owner is zero for at least half the leads.
        assert push["time_to_owner_min"]["p50"] == 0

    def test_cherry_pickers_leave_cold_leads_in_the_pool(self, team_world: World) -> None:
        """With more leads than claims, the best-score-first pool starves cold leads."""
        run = _run(team_world, POOL, leads(600), drain_days=0.0)
        assert run["queued_never_claimed"] > 0
        assert run["queue_age_min"]["p99"] > run["queue_age_min"]["p50"]

    def test_round_robin_splits_evenly(self, team_world: World) -> None:
        """Pushing by round robin to four always-available reps: Gini of counts ~ 0."""
        run = _run(team_world, PUSH_ALL, leads(400), reassign_after_hours=None)
        counts = [v["count"] for v in run["per_rep"].values()]
        assert counts == [100, 100, 100, 100]
        assert run["gini_count"] == 0

    def test_offers_are_accepted_by_someone_or_queued(self, team_world: World) -> None:
        """A cascade offer either finds an acceptor or falls back to a pool: none lost."""
        run = _run(team_world, OFFER, leads(200))
        assert run["offers"]["made"] >= 200
        assert 0 < run["offers"]["accepted"] <= run["offers"]["made"]
        assert run["leads"] == 200

    def test_same_seed_same_result_other_seed_other_result(self, team_world: World) -> None:
        """Runs are reproducible with --seed."""
        data = leads(300)
        assert _run(team_world, PUSH_HOT, data, seed=5) == _run(team_world, PUSH_HOT, data, seed=5)
        assert _run(team_world, PUSH_HOT, data, seed=5) != _run(team_world, PUSH_HOT, data, seed=6)


@pytest.fixture(scope="module")
def capped_world() -> World:
    return load_world(
        org_text(
            n_reps=3,
            capacity={"max_open": 3, "max_per_day": 20},
            simulation={"defaults": {"meetings_per_day": 0, "work_days_median": 0.5}},
        )
    )


class _Watched(Simulation):
    """Records the highest load any rep ever reached."""

    peak_open = 0
    peak_today = 0

    def _take(self, rid: int) -> None:
        super()._take(rid)
        c: _Counters = self.counters[rid]
        self.peak_open = max(self.peak_open, c.open)
        self.peak_today = max(self.peak_today, c.today)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 150),
    gap=st.floats(1, 3600),
    book=st.sampled_from([PUSH_ALL, PUSH_HOT, POOL, OFFER]),
    seed=st.integers(0, 1000),
)
def test_nothing_lost_and_caps_never_exceeded(
    capped_world: World, n: int, gap: float, book: str, seed: int
) -> None:
    """Every lead is accounted for once, and no rep ever holds more than its caps."""
    data = leads(n, gap)
    org = with_absences(capped_world, T0, 30, seed)
    sim = _Watched(org, capped_world.compile(book), behaviours(capped_world, seed, {}), seed=seed)
    rec = sim.run(iter(data))
    assert rec.leads == n
    assert sum(rec.outcomes.values()) == n + rec.reassignments
    assert len(rec.to_contact) + rec.never_contacted == n
    assert sim.peak_open <= 3
    assert sim.peak_today <= 20


def _stream(n: int) -> Iterator[SimLead]:
    yield from leads(n)


def test_leads_can_be_streamed(team_world: World) -> None:
    """The simulator consumes any iterator in arrival order (constant memory)."""
    org = with_absences(team_world, T0, 30, 1)
    rec = Simulation(org, team_world.compile(PUSH_ALL), behaviours(team_world, 1, {})).run(
        _stream(50)
    )
    assert rec.leads == 50


def test_parallel_runs_give_the_same_report(team_world: World) -> None:
    """--jobs spreads runs over processes without changing a number."""
    data = leads(200)
    books = [("push", team_world.compile(PUSH_HOT)), ("pool", team_world.compile(POOL))]
    kwargs = {"runs": 2, "seed": 3, "calibration": NO_CALIBRATION}
    assert simulate(team_world, books, data, jobs=2, **kwargs) == simulate(
        team_world, books, data, jobs=1, **kwargs
    )
