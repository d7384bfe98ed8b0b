"""Property: under any sequence of claims, releases, contacts and lease expiries, every
lead has at most one owner, owners and leases agree, open counts match, nothing is lost,
and no rep ever holds more uncontacted claims than the hoarding cap."""

from __future__ import annotations

import contextlib
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from leadflow.errors import LeadflowError
from leadflow.pull_schemas import ActivityIn
from leadflow.services import activities, claims, handback
from leadflow.services.context import Services
from leadflow.services.pull_timers import run_due_timers
from leadflow.store.db import Database
from leadflow.store.models import LeadRow, RepLoadRow
from leadflow.store.pull_models import ClaimRow
from leadflow.testing import FrozenClock
from tests.integration.pull.conftest import Pull, build_pull

CAP = 2
LEADS = 5

rep = st.integers(0, 3)
lead = st.integers(0, LEADS - 1)
operation = st.one_of(
    st.tuples(st.just("claim"), rep, lead),
    st.tuples(st.just("next"), rep, st.just(0)),
    st.tuples(st.just("release"), rep, lead),
    st.tuples(st.just("contact"), rep, lead),
    st.tuples(st.just("wait"), st.integers(1, 20), st.just(0)),
)


def _apply(pull: Pull, ids: list[int], op: tuple[str, int, int]) -> None:
    kind, a, b = op
    if kind == "wait":
        pull.svc.clock.advance(minutes=a)  # type: ignore[attr-defined]
        run_due_timers(pull.svc, pull.svc.clock.now(), 100)
        return
    actions: dict[str, Any] = {
        "claim": lambda: claims.claim(pull.svc, ids[b], pull.rep(a)),
        "next": lambda: claims.claim_next(pull.svc, "inbound", pull.rep(a)),
        "release": lambda: handback.release(pull.svc, ids[b], pull.rep(a)),
        "contact": lambda: activities.log_activity(
            pull.svc, ids[b], ActivityIn(type="called"), pull.rep(a)
        ),
    }
    with contextlib.suppress(LeadflowError):  # refusals are fine; invariants must hold
        actions[kind]()


def _check(svc: Services, ids: list[int]) -> None:
    with svc.db.read() as s:
        leads = {r.id: r for r in s.scalars(select(LeadRow))}
        held = list(s.scalars(select(ClaimRow).where(ClaimRow.state == "held")))
        loads = {r.rep_id: r.open_count for r in s.scalars(select(RepLoadRow))}
    assert sorted(leads) == sorted(ids)  # nothing lost
    per_lead = Counter(c.lead_id for c in held)
    assert all(n == 1 for n in per_lead.values())  # one live lease per lead
    for c in held:
        assert leads[c.lead_id].owner_rep_id == c.rep_id  # the lease holder is the owner
        assert leads[c.lead_id].status == "assigned"
    for row in leads.values():
        assert (row.status == "queued") == (row.owner_rep_id is None)
        assert row.status in ("queued", "assigned", "contacted")
    per_rep = Counter(c.rep_id for c in held)
    assert all(n <= CAP for n in per_rep.values())  # the hoarding cap is never exceeded
    owned = Counter(r.owner_rep_id for r in leads.values() if r.owner_rep_id is not None)
    assert all(loads.get(rid, 0) == n for rid, n in owned.items())
    assert sum(loads.values()) == sum(owned.values())


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(operation, min_size=1, max_size=25))
def test_one_owner_per_lead_and_cap_never_exceeded(
    ops: list[tuple[str, int, int]], sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "prop.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        pull = build_pull(Services(db, FrozenClock()))
        pull.queue("inbound", "pool", lease_minutes=15, policies={"hoarding_cap": CAP})
        pull.route_to("inbound")
        ids = pull.leads(LEADS)
        for op in ops:
            _apply(pull, ids, op)
            _check(pull.svc, ids)
    finally:
        db.dispose()
        path.unlink(missing_ok=True)
