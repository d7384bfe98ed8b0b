"""`leadflow check` finds every kind of corruption planted on purpose (SQLite and
PostgreSQL), and finds nothing in a database only leadflow wrote to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, delete, insert, text, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from leadflow.cli.main import app
from leadflow.schemas import LeadIn
from leadflow.services import routing
from leadflow.services.context import Services
from leadflow.services.invariants import check_database
from leadflow.store.models import DecisionRow, LeadRow, RepLoadRow, RepRow
from leadflow.store.types import UTCDateTime
from tests.ops.conftest import World


def checks_found(svc: Services, **kw: object) -> set[str]:
    return {v.check for v in check_database(svc, **kw).violations}  # type: ignore[arg-type]


def test_clean_database_passes(svc: Services, world: World) -> None:
    report = check_database(svc)
    assert report.ok, report.violations
    assert report.scanned["leads"] == 4 and report.scanned["decisions"] == 4


Corruption = Callable[[Session, World], None]


def _no_owner(s: Session, w: World) -> None:
    s.execute(update(LeadRow).where(LeadRow.id == w.lead_a["id"]).values(owner_rep_id=None))


def _owner_on_queued(s: Session, w: World) -> None:
    s.execute(update(LeadRow).where(LeadRow.id == w.queued["id"])
              .values(owner_rep_id=w.rep_a["id"]))


def _other_owner(s: Session, w: World) -> None:
    s.execute(update(LeadRow).where(LeadRow.id == w.lead_a["id"])
              .values(owner_rep_id=w.rep_b["id"]))


def _counter_drift(s: Session, w: World) -> None:
    s.execute(update(RepLoadRow).where(RepLoadRow.rep_id == w.rep_a["id"])
              .values(open_count=RepLoadRow.open_count + 1))


def _cap(s: Session, w: World) -> None:
    s.execute(update(RepRow).where(RepRow.id == w.rep_a["id"]).values(max_open=0))


def _day_cap(s: Session, w: World) -> None:
    s.execute(update(RepRow).where(RepRow.id == w.rep_b["id"]).values(max_per_day=0))


def _no_decision(s: Session, w: World) -> None:
    s.execute(update(LeadRow).where(LeadRow.id == w.queued["id"]).values(last_decision_id=None))
    s.execute(delete(DecisionRow).where(DecisionRow.lead_id == w.queued["id"]))


def _routed_twice(s: Session, w: World) -> None:
    row = s.get(DecisionRow, w.lead_b["decision_id"])
    assert row is not None
    s.add(DecisionRow(lead_id=row.lead_id, kind="route", outcome=row.outcome, rule=row.rule,
                      rep_id=row.rep_id, reason="replayed", trace={}, created_at=row.created_at))


def _never_routed(s: Session, w: World) -> None:
    s.execute(update(LeadRow).where(LeadRow.id == w.queued["id"]).values(status="new",
                                                                            queue=None))


def _foreign_decision(s: Session, w: World) -> None:
    s.execute(update(LeadRow).where(LeadRow.id == w.lead_a["id"])
              .values(last_decision_id=w.lead_b["decision_id"]))


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (_no_owner, {"owner/status", "open counter"}),
        (_owner_on_queued, {"owner/status"}),
        (_other_owner, {"two owners", "open counter"}),
        (_counter_drift, {"open counter"}),
        (_cap, {"cap exceeded"}),
        (_day_cap, {"cap exceeded"}),
        (_no_decision, {"no outcome"}),
        (_routed_twice, {"routed twice"}),
        (_never_routed, {"no outcome"}),
        (_foreign_decision, {"no outcome"}),
    ],
    ids=lambda x: getattr(x, "__name__", "").strip("_") or None,
)
def test_corruption_is_flagged(
    svc: Services, world: World, corrupt: Corruption, expected: set[str]
) -> None:
    with svc.db.write() as s:
        corrupt(s, world)
    assert checks_found(svc) == expected


def test_orphan_and_stuck_timers(svc: Services, world: World) -> None:
    md = MetaData()
    timers = Table(
        # Not a real feature's table name: since the merge, `sla_timers` exists for real.
        "probe_timers", md,
        Column("id", Integer, primary_key=True),
        # no FK on purpose: a feature that forgot one is exactly what this check is for
        Column("lead_id", Integer),
        Column("due_at", UTCDateTime()),
        Column("fired_at", UTCDateTime(), nullable=True),
    )
    md.create_all(svc.db.engine)
    now = svc.clock.now()
    with svc.db.write() as s:
        s.execute(insert(timers), [
            {"lead_id": world.lead_a["id"], "due_at": now + timedelta(hours=1), "fired_at": None},
            {"lead_id": world.lead_b["id"], "due_at": now - timedelta(hours=2), "fired_at": now},
        ])
    assert checks_found(svc, metadata=md) == set()
    with svc.db.write() as s:
        s.execute(insert(timers), [
            {"lead_id": 999_999, "due_at": now + timedelta(hours=1), "fired_at": None},
            {"lead_id": world.lead_b["id"], "due_at": now - timedelta(hours=1), "fired_at": None},
        ])
    report = check_database(svc, metadata=md, timer_grace=timedelta(minutes=5))
    found = {(v.check, v.subject) for v in report.violations}
    assert found == {("orphan timer", "probe_timers 3"), ("timer not fired", "probe_timers 4")}
    # a generous grace period accepts the late one (the worker may just be busy)
    assert checks_found(svc, metadata=md, timer_grace=timedelta(hours=3)) == {"orphan timer"}


def test_cli_exit_code_and_report(svc: Services, world: World,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADFLOW_DATABASE_URL", svc.db.url)
    runner = CliRunner()
    clean = runner.invoke(app, ["check"])
    assert clean.exit_code == 0, clean.output
    assert "OK: no violation" in clean.output
    with svc.db.write() as s:
        _other_owner(s, world)
    bad = runner.invoke(app, ["check"])
    assert bad.exit_code == 1
    assert "two owners: 1 violation(s)" in bad.output
    assert f"lead {world.lead_a['id']}" in bad.output
    as_json = runner.invoke(app, ["check", "--json"])
    assert as_json.exit_code == 1 and '"ok": false' in as_json.output


COUNTRIES = st.sampled_from(["FR", "US", "DE"])


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(st.tuples(COUNTRIES, st.integers(0, 3)), min_size=1, max_size=12),
       cap=st.integers(0, 4))
def test_any_intake_sequence_keeps_invariants(
    svc: Services, world: World, batch: list[tuple[str, int]], cap: int
) -> None:
    """Whatever leads arrive (and whatever caps are set first), the checker finds nothing:
    caps hold, counters match, every lead has exactly one outcome."""
    from leadflow.schemas import RepPatch
    from leadflow.services import org

    # only raise caps: lowering one below current load is an operator choice the checker
    # rightly reports, not something routing did
    for rep in (world.rep_a, world.rep_b):
        with svc.db.read() as s:
            load = s.get(RepLoadRow, rep["id"])
            current = s.get(RepRow, rep["id"])
            assert load is not None and current is not None
            floor = max(load.open_count, current.max_open or 0)
        org.update_rep(svc, rep["id"], RepPatch(capacity={"max_open": max(floor, cap)}))
    for country, n in batch:
        routing.intake(svc, LeadIn(company={"country": country}),
                       idempotency_key=f"{country}-{n}-{cap}")
    report = check_database(svc)
    assert report.ok, report.violations


# ---------------------------------------------------------------- feature checks


def _lease(s: Session, lead_id: int, rep_id: int, at: object) -> None:
    from leadflow.store.pull_models import ClaimRow

    s.add(ClaimRow(lead_id=lead_id, rep_id=rep_id, queue="blind", score=None, state="held",
                   claimed_at=at, lease_until=at))  # fmt: skip


def test_pull_lease_without_owner_and_lead_in_two_leases(svc: Services, world: World) -> None:
    from leadflow.services import claims

    assert world.blind is not None
    claims.claim(svc, world.blind["id"], _rep_principal(world))  # a real, clean lease
    assert check_database(svc).ok
    now = svc.clock.now()
    with svc.db.write() as s:
        # The unique index normally forbids this: a database that lost it (a hand-made
        # restore, a failed migration) is what the check is for.
        s.execute(text("DROP INDEX uq_claims_one_held_per_lead"))
        _lease(s, world.blind["id"], world.rep_b["id"], now)  # the same lead, leased again
    assert checks_found(svc) == {"lead in two leases"}
    with svc.db.write() as s:
        s.execute(update(LeadRow).where(LeadRow.id == world.lead_b["id"]).values(
            owner_rep_id=None, status="queued", queue="blind"))  # fmt: skip
        _lease(s, world.lead_b["id"], world.rep_b["id"], now)
    found = {(v.check, v.subject.split()[0]) for v in check_database(svc).violations}
    assert ("lease without owner", "claims") in found


def test_offer_stuck_without_an_open_campaign(svc: Services, world: World) -> None:
    with svc.db.write() as s:
        s.execute(update(LeadRow).where(LeadRow.id == world.queued["id"])
                  .values(status="offered", queue=None))  # fmt: skip
    violations = check_database(svc).violations
    assert [(v.check, v.subject) for v in violations] == [
        ("offer stuck", f"lead {world.queued['id']}")
    ]


def test_closed_lead_still_counted_open(svc: Services, world: World) -> None:
    with svc.db.write() as s:  # closed, yet still waiting in a queue
        s.execute(update(LeadRow).where(LeadRow.id == world.queued["id"])
                  .values(status="disqualified"))  # fmt: skip
    assert checks_found(svc) == {"closed lead counted open"}


def test_sla_timer_pending_for_a_closed_lead(svc: Services, world: World) -> None:
    from leadflow.store.lifecycle_models import SlaTimerRow

    now = svc.clock.now()
    with svc.db.write() as s:
        s.add(SlaTimerRow(lead_id=world.lead_a["id"], rep_id=world.rep_a["id"], policy="std",
                          due_at=now + timedelta(hours=1), state="pending", created_at=now))
    assert check_database(svc).ok  # an open lead's pending timer is fine
    from leadflow.services import lifecycle

    with svc.db.write() as s:  # closed behind the lifecycle's back: the timer stays pending
        s.execute(update(LeadRow).where(LeadRow.id == world.lead_a["id"]).values(status="won"))
    assert "sla timer on closed lead" in checks_found(svc)
    # Closing through the lifecycle cancels the timer: nothing to flag.
    with svc.db.write() as s:
        s.execute(update(LeadRow).where(LeadRow.id == world.lead_a["id"])
                  .values(status="contacted"))  # fmt: skip
    lifecycle.change_status(svc, world.lead_a["id"], "won")
    assert "sla timer on closed lead" not in checks_found(svc)


def _rep_principal(world: World) -> object:
    from leadflow.services.auth import Principal, Role

    return Principal(Role.REP, "Alice", world.rep_a["id"])
