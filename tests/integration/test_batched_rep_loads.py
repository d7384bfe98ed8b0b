"""A group commit builds each rep's load once per transaction, not once per lead: the
value must still change as soon as the writer counts an assignment or releases a lead,
so a batch decides exactly as the same leads taken one by one."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy.orm import Session

from leadflow.schemas import CapacityIn, LeadIn, RepIn, TeamIn
from leadflow.services import group_commit, org, routing, rulebooks
from leadflow.services.context import Services
from leadflow.testing.clock import FrozenClock

RULEBOOK = """
rules:
  - name: one-by-one
    when: {source: single}
    assign: {team: single, method: round_robin}
  - name: batched
    when: {source: batch}
    assign: {team: batch, method: round_robin}
fallback:
  queue: unassigned
"""

# Small caps of every kind, so the pool fills up within the batch.
CAPS = [
    CapacityIn(max_open=1),
    CapacityIn(max_per_day=2),
    CapacityIn(max_open=3),
    CapacityIn(max_per_week=2),
]
LEADS = 12
SOLO = """
rules:
  - {name: solo, assign: {team: solo, method: round_robin}}
fallback: {queue: unassigned}
"""


def _team(svc: Services, name: str) -> list[int]:
    org.create_team(svc, TeamIn(name=name))
    return [
        org.create_rep(
            svc,
            RepIn(name=f"{name}{i}", email=f"{name}{i}@x.example", teams=[name], capacity=cap),
        )["id"]
        for i, cap in enumerate(CAPS)
    ]


def _positions(views: list[dict[str, object]], ids: list[int]) -> list[int | None]:
    """Each lead's owner as its position in the team (None: queued)."""
    return [ids.index(v["owner_rep_id"]) if v["owner_rep_id"] else None for v in views]  # type: ignore[arg-type]


def test_a_batch_to_a_small_pool_keeps_caps_and_turns_as_one_by_one(svc: Services) -> None:
    single, batch = _team(svc, "single"), _team(svc, "batch")
    rulebooks.save(svc, RULEBOOK)
    one_by_one = [
        routing.intake(svc, LeadIn(external_id=f"s-{i}", source="single"))[0] for i in range(LEADS)
    ]
    writer = group_commit.committer(svc.extras, svc.db) if svc.db.is_sqlite else None
    jobs, batches = (writer.jobs, writer.batches) if writer else (0, 0)
    queued = [(LeadIn(external_id=f"b-{i}", source="batch"), None) for i in range(LEADS)]
    together = [view for view, _ in routing.intake_many(svc, queued, actor="test")]
    if writer:  # the leads really shared transactions
        assert writer.jobs - jobs == LEADS and writer.batches - batches < LEADS
    assert _positions(together, batch) == _positions(one_by_one, single)
    owners = Counter(v["owner_rep_id"] for v in together if v["owner_rep_id"])
    assert owners == {batch[0]: 1, batch[1]: 2, batch[2]: 3, batch[3]: 2}  # every cap reached
    assert sum(v["queue"] == "unassigned" for v in together) == LEADS - 8


def test_a_release_inside_the_transaction_frees_the_rep_for_the_next_lead(
    svc: Services,
) -> None:
    """A lead released in the same write transaction as later intakes (the writer keeps
    what it built for the rep): the next lead sees the freed capacity."""
    org.create_team(svc, TeamIn(name="solo"))
    rep = org.create_rep(
        svc, RepIn(name="Solo", email="solo@x.example", teams=["solo"],
                   capacity=CapacityIn(max_open=1))
    )["id"]  # fmt: skip
    rulebooks.save(svc, SOLO)

    def take(s: Session, external_id: str) -> dict[str, object]:
        view, _ = routing._intake_in(s, svc, {}, external_id, None, "test", svc.clock.now())
        return view

    with svc.db.write() as s:
        first, full = take(s, "r-1"), take(s, "r-2")
        routing.release_open(s, rep)
        freed = take(s, "r-3")
    assert (first["owner_rep_id"], full["owner_rep_id"], freed["owner_rep_id"]) == (rep, None, rep)


def test_a_kept_load_is_rebuilt_when_the_reps_day_turns(
    svc: Services, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQLite writer keeps what it built across batches: a daily cap reached one day
    no longer holds the next day, in the rep's own time zone."""
    monkeypatch.setattr(group_commit, "IDLE_SECONDS", 30.0)  # the writer stays up
    org.create_team(svc, TeamIn(name="solo"))
    rep = org.create_rep(
        svc, RepIn(name="Solo", email="solo@x.example", teams=["solo"], timezone="Asia/Tokyo",
                   capacity=CapacityIn(max_per_day=1))
    )["id"]  # fmt: skip
    rulebooks.save(svc, SOLO)
    first, _ = routing.intake(svc, LeadIn(external_id="d-1"))
    full, _ = routing.intake(svc, LeadIn(external_id="d-2"))
    clock.advance(days=1)
    next_day, _ = routing.intake(svc, LeadIn(external_id="d-3"))
    owners = [view["owner_rep_id"] for view in (first, full, next_day)]
    assert owners == [rep, None, rep]
