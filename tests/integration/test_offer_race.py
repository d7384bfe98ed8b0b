"""Concurrent accepts of one broadcast: exactly one owner, every other rep told 409."""

from __future__ import annotations

import threading

from leadflow.errors import Conflict
from leadflow.services import offers, routing
from leadflow.services.context import Services
from tests.integration.offer_helpers import make_team, new_lead, offer_rulebook, pending

REPS = 20


def test_twenty_simultaneous_accepts_make_exactly_one_owner(svc: Services) -> None:
    """20 threads accept the same broadcast at the same instant: one wins, 19 'already taken'."""
    make_team(svc, REPS)
    offer_rulebook(svc, "{team: sales, mode: broadcast, timeout: 2m}")
    lead = new_lead(svc)
    mine = pending(svc, lead["id"])
    assert len(mine) == REPS
    start = threading.Barrier(REPS)
    results: dict[int, str] = {}

    def take(offer_id: int, rep_id: int) -> None:
        start.wait()
        try:
            offers.accept(svc, offer_id, rep_id)
            results[rep_id] = "owner"
        except Conflict as exc:
            assert exc.status_code == 409
            results[rep_id] = exc.message

    threads = [threading.Thread(target=take, args=(o.id, o.rep_id)) for o in mine]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [r for r, v in results.items() if v == "owner"]
    assert len(results) == REPS and len(winners) == 1
    assert all(v.startswith("already taken") for r, v in results.items() if r != winners[0])
    view = routing.get_lead(svc, lead["id"])
    assert view["status"] == "assigned" and view["owner_rep_id"] == winners[0]
    decisions = routing.get_decisions(svc, lead["id"])
    assert [d["kind"] for d in decisions].count("offer_accept") == 1
