"""Many requests at once: on SQLite they share commits (group commit), on PostgreSQL they
lock rows; either way every lead is stored once, answered after its commit, turns exact."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update

from leadflow.schemas import CapacityIn, LeadIn, RepIn, TeamIn
from leadflow.services import group_commit, org, routing, rulebooks
from leadflow.services.context import Services
from leadflow.store.models import RepLoadRow

RULEBOOK = """
rules:
  - name: everyone
    assign: {team: sales, method: round_robin}
fallback:
  queue: unassigned
"""


def _setup(svc: Services, reps: int = 4) -> list[int]:
    org.create_team(svc, TeamIn(name="sales"))
    ids = [
        org.create_rep(svc, RepIn(name=f"R{i}", email=f"r{i}@x.example", teams=["sales"]))["id"]
        for i in range(reps)
    ]
    rulebooks.save(svc, RULEBOOK)
    return ids


def test_concurrent_leads_are_all_stored_once_with_exact_turns(svc: Services) -> None:
    ids = _setup(svc)
    bodies = [LeadIn(external_id=f"c-{i}", email=f"p{i}@p.example") for i in range(80)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        views = list(pool.map(lambda b: routing.intake(svc, b), bodies))
    assert all(created for _, created in views)
    owners = Counter(v["owner_rep_id"] for v, _ in views)
    assert set(owners) == set(ids) and max(owners.values()) - min(owners.values()) <= 1
    stored = routing.list_leads(svc, limit=500)["items"]
    assert len(stored) == 80
    for view, _ in views[:5]:
        assert routing.get_decisions(svc, view["id"])[-1]["id"] == view["decision_id"]


def test_the_same_external_id_sent_concurrently_is_one_lead(svc: Services) -> None:
    _setup(svc)
    body = LeadIn(external_id="dup-1", email="a@p.example")
    with ThreadPoolExecutor(max_workers=8) as pool:
        views = list(pool.map(lambda _: routing.intake(svc, body), range(8)))
    assert len({v["id"] for v, _ in views}) == 1
    assert sum(created for _, created in views) == 1
    assert len(routing.list_leads(svc)["items"]) == 1


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_failing_request_rolls_back_alone(svc: Services) -> None:
    """Jobs of one batch: the one that raises is undone, the others are committed."""
    _setup(svc, reps=1)
    committer = group_commit.GroupCommitter(svc.db)
    start = threading.Barrier(6)

    def job(i: int) -> object:
        def work(s: object) -> int:
            view, _ = routing._intake_in(
                s, svc, {"email": f"j{i}@p.example"}, f"j-{i}", None, "test", svc.clock.now()
            )
            if i == 3:
                raise ValueError("this one fails after writing its lead")
            return int(view["id"])

        start.wait()
        try:
            return committer.run(work)
        except ValueError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(job, range(6)))
    assert isinstance(results[3], ValueError)
    kept = {lead["external_id"] for lead in routing.list_leads(svc)["items"]}
    assert kept == {f"j-{i}" for i in range(6) if i != 3}
    assert committer.jobs == 6 and committer.batches <= 6


def test_a_failure_inside_a_shared_batch_reruns_the_others_without_a_trace(
    svc: Services,
) -> None:
    """A batch first runs without savepoints; when one request fails, the batch is undone
    and run again request by request: the others keep exact turns and counts, once."""
    ids = _setup(svc, reps=2)
    committer = group_commit.GroupCommitter(svc.db)
    runs: Counter[int] = Counter()

    def work(i: int) -> object:
        def run(s: object) -> int:
            runs[i] += 1
            if i == 0:  # the leader holds the batch open until five requests are queued
                for _ in range(500):
                    if len(committer._queue) == 5:
                        break
                    threading.Event().wait(0.01)
            view, _ = routing._intake_in(
                s, svc, {"email": f"b{i}@p.example"}, f"b-{i}", None, "test", svc.clock.now()
            )
            if i == 3:
                raise ValueError("fails after writing its lead and taking a turn")
            return int(view["id"])

        return run

    def submit(i: int) -> object:
        try:
            return committer.run(work(i))
        except ValueError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=6) as pool:
        first = pool.submit(submit, 0)
        while runs[0] == 0:
            threading.Event().wait(0.005)
        rest = list(pool.map(submit, range(1, 6)))
        results = [first.result(), *rest]
    assert committer.batches == 2  # the leader alone, then the five together
    assert isinstance(results[3], ValueError)
    assert runs[1] == runs[2] == 2  # ran together, then again in isolation
    kept = routing.list_leads(svc)["items"]
    assert {lead["external_id"] for lead in kept} == {f"b-{i}" for i in (0, 1, 2, 4, 5)}
    owners = Counter(lead["owner_rep_id"] for lead in kept)
    assert sorted(owners.values()) == [2, 3] and set(owners) == set(ids)
    with svc.db.read() as s:
        loads = {row.rep_id: row.open_count for row in s.scalars(select(RepLoadRow))}
    assert loads == dict(owners)


def test_a_request_cancelled_before_its_batch_runs_stores_nothing(svc: Services) -> None:
    """An awaiting client that goes away before the writer reaches its request: the
    request is skipped, and the writer goes on with the others."""
    _setup(svc, reps=1)
    committer = group_commit.GroupCommitter(svc.db)
    started, release = threading.Event(), threading.Event()

    def blocker(s: object) -> int:
        started.set()
        release.wait(10)
        return 0

    def store(i: int):  # type: ignore[no-untyped-def]
        def run(s: object) -> int:
            view, _ = routing._intake_in(
                s, svc, {"email": f"x{i}@p.example"}, f"x-{i}", None, "test", svc.clock.now()
            )
            return int(view["id"])

        return run

    first = committer.submit(blocker)
    assert started.wait(10)
    gone = committer.submit(store(1))
    kept = committer.submit(store(2))
    assert gone.cancel()  # still queued: the writer is busy with the first request
    release.set()
    assert first.result(10) == 0 and kept.result(10) > 0
    stored = {lead["external_id"] for lead in routing.list_leads(svc)["items"]}
    assert stored == {"x-2"}


def test_the_writer_sees_what_another_connection_changed_between_batches(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQLite writer keeps its session and what it read across batches; a change
    committed elsewhere in between (a lead closed by another process frees capacity) is
    seen by the next batch all the same."""
    if not svc.db.is_sqlite:
        pytest.skip("the writer's kept session is SQLite's")
    monkeypatch.setattr(group_commit, "IDLE_SECONDS", 30.0)  # the writer stays up
    org.create_team(svc, TeamIn(name="sales"))
    rep = org.create_rep(
        svc, RepIn(name="Solo", email="solo@x.example", teams=["sales"],
                   capacity=CapacityIn(max_open=1))
    )["id"]  # fmt: skip
    rulebooks.save(svc, RULEBOOK)
    first, _ = routing.intake(svc, LeadIn(external_id="w-1"))
    full, _ = routing.intake(svc, LeadIn(external_id="w-2"))
    writer = group_commit.committer(svc.extras, svc.db)
    kept = writer._session
    assert (first["owner_rep_id"], full["owner_rep_id"], full["queue"]) == (rep, None, "unassigned")
    with svc.db.write() as s:  # another connection: the first lead was closed
        s.execute(update(RepLoadRow).where(RepLoadRow.rep_id == rep).values(open_count=0))
    freed, _ = routing.intake(svc, LeadIn(external_id="w-3"))
    assert writer._session is kept  # same session: the kept rows were refreshed, not lost
    assert freed["owner_rep_id"] == rep


def test_many_leads_queued_at_once_are_answered_in_order_and_stored_once(
    svc: Services,
) -> None:
    """`intake_many` (CSV import): in order, a repeat answered with the first, turns exact."""
    ids = _setup(svc, reps=3)
    batch = [(LeadIn(external_id=f"m-{i % 7}", email=f"m{i}@p.example"), None) for i in range(10)]
    answers = list(routing.intake_many(svc, batch, actor="test"))
    assert [created for _, created in answers] == [True] * 7 + [False] * 3
    first = {view["external_id"]: view["id"] for view, created in answers if created}
    assert [view["id"] for view, _ in answers[7:]] == [first["m-0"], first["m-1"], first["m-2"]]
    owners = [view["owner_rep_id"] for view, _ in answers[:7]]
    assert owners == [ids[i % 3] for i in range(7)]  # round robin, one turn per new lead


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_batch_run_in_the_callers_thread_fails_alone_and_lets_submitted_work_follow(
    svc: Services,
) -> None:
    """`run_batch` (the intake writer's loop): one transaction for the batch, the failing
    work undone alone, and work submitted meanwhile runs once the batch is done."""
    ids = _setup(svc, reps=2)
    committer = group_commit.GroupCommitter(svc.db)
    later: list[object] = []

    def work(i: int) -> object:
        def run(s: object) -> int:
            if i == 0 and not later:  # submitted while the batch holds the writer: waits
                later.append(committer.submit(lambda s2: routing._intake_in(
                    s2, svc, {"email": "late@p.example"}, "late", None, "test",
                    svc.clock.now())))  # fmt: skip
            view, _ = routing._intake_in(
                s, svc, {"email": f"r{i}@p.example"}, f"r-{i}", None, "test", svc.clock.now()
            )
            if i == 2:
                raise ValueError("fails after writing its lead and taking a turn")
            return int(view["id"])

        return run

    results = committer.run_batch([work(i) for i in range(4)])
    assert [error is None for _, error in results] == [True, True, False, True]
    assert isinstance(results[2][1], ValueError)
    late_view, created = later[0].result(timeout=10)  # type: ignore[attr-defined]
    assert created and late_view["external_id"] == "late"
    kept = routing.list_leads(svc)["items"]
    assert {lead["external_id"] for lead in kept} == {"r-0", "r-1", "r-3", "late"}
    owners = Counter(lead["owner_rep_id"] for lead in kept)
    assert sorted(owners.values()) == [2, 2] and set(owners) == set(ids)
    committer.stop()
    assert committer._session is None  # stop gives the kept connection back


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_only_the_writers_connection_checkpoints_less_often(svc: Services) -> None:
    committer = group_commit.GroupCommitter(svc.db)
    pages = committer.run(
        lambda s: s.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    )
    assert pages == group_commit.WRITER_CHECKPOINT_PAGES != 1000
    with svc.db.read() as s:  # everyone else keeps SQLite's default
        assert s.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    committer.stop()
