"""Offers through the services, on SQLite and PostgreSQL, with a frozen clock."""

from __future__ import annotations

import pytest

from leadflow.errors import Conflict, NotFound
from leadflow.services import offer_views, offers, outbox, routing
from leadflow.services.context import Services
from leadflow.testing import FrozenClock
from tests.integration.offer_helpers import (
    events,
    log_outcomes,
    make_team,
    new_lead,
    offer_rulebook,
    offers_of,
    pending,
    set_status,
)

CASCADE = "{team: sales, mode: cascade, timeout: 2m, then: {queue: triage}}"


def expire_all(svc: Services, clock: FrozenClock) -> int:
    return offers.run_due_timers(svc, clock.advance(seconds=121), 100)


class TestCascade:
    def test_best_performer_is_offered_first_and_ranking_is_in_the_trace(
        self, svc: Services
    ) -> None:
        """The rep with the best record gets the first offer; the trace shows scores."""
        a, b, c = make_team(svc, 3)
        log_outcomes(svc, b, won=8, lost=2)
        log_outcomes(svc, a, won=1, lost=9)
        offer_rulebook(svc, CASCADE)
        lead = new_lead(svc)
        assert lead["status"] == "offered" and lead["owner_rep_id"] is None
        assert [o.rep_id for o in pending(svc, lead["id"])] == [b]
        trace = routing.get_decisions(svc, lead["id"])[0]["trace"]["offer"]
        assert trace["order"] == [b, c, a]
        assert [r["rep_id"] for r in trace["ranking"]] == [b, c, a]
        assert trace["ranking"][0]["won"] == 8
        assert trace["ranking"][1]["conversion"] == pytest.approx(0.45)  # new rep: team mean

    def test_ranking_follows_new_outcomes(self, svc: Services) -> None:
        """Performance changes over time: a rep who starts winning moves up."""
        a, b = make_team(svc, 2)
        log_outcomes(svc, a, won=2, lost=3)
        offer_rulebook(svc, CASCADE)
        assert pending(svc, new_lead(svc, 1)["id"])[0].rep_id == a  # b at the mean: a tie
        log_outcomes(svc, b, won=5, lost=0)
        assert pending(svc, new_lead(svc, 2)["id"])[0].rep_id == b

    def test_decline_and_timeout_move_down_then_the_then_action(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """A declines, B times out, C times out: the lead goes to the `then` queue."""
        a, b, c = make_team(svc, 3)
        offer_rulebook(svc, CASCADE)
        lead = new_lead(svc)
        (first,) = pending(svc, lead["id"])
        offers.decline(svc, first.id, a, "on holiday tomorrow")
        (second,) = pending(svc, lead["id"])
        assert second.rep_id == b
        assert offers.run_due_timers(svc, clock.advance(seconds=119), 100) == 0  # not yet
        assert offers.run_due_timers(svc, clock.advance(seconds=1), 100) == 1
        (third,) = pending(svc, lead["id"])
        assert third.rep_id == c
        expire_all(svc, clock)
        view = routing.get_lead(svc, lead["id"])
        assert view["status"] == "queued" and view["queue"] == "triage"
        decisions = routing.get_decisions(svc, lead["id"])
        assert [d["kind"] for d in decisions] == ["route", "offer_fallback"]
        assert "no accept after 1 round" in decisions[-1]["reason"] + str(decisions[-1]["trace"])
        assert [o.status for o in offers_of(svc, lead["id"])] == ["declined", "expired", "expired"]
        assert offers_of(svc, lead["id"])[0].reason == "on holiday tomorrow"

    def test_accept_assigns_the_lead_and_counts_the_load(self, svc: Services) -> None:
        """The accepting rep owns the lead, with a decision, and a retried accept is harmless."""
        a, _ = make_team(svc, 2)
        offer_rulebook(svc, CASCADE)
        lead = new_lead(svc)
        (offer,) = pending(svc, lead["id"])
        result = offers.accept(svc, offer.id, a)
        assert result["status"] == "accepted"
        view = routing.get_lead(svc, lead["id"])
        assert view["status"] == "assigned" and view["owner_rep_id"] == a
        last = routing.get_decisions(svc, lead["id"])[-1]
        assert (last["kind"], last["rep_id"], last["method"]) == (
            "offer_accept",
            a,
            "offer:cascade",
        )
        assert offers.accept(svc, offer.id, a)["status"] == "accepted"  # idempotent for the winner
        with pytest.raises(Conflict, match="already accepted"):
            offers.decline(svc, offer.id, a)

    def test_a_rep_cannot_act_on_someone_elses_offer(self, svc: Services) -> None:
        """Another rep's offer looks like no offer at all (404), and nothing changes."""
        _, b = make_team(svc, 2)
        offer_rulebook(svc, CASCADE)
        lead = new_lead(svc)
        (offer,) = pending(svc, lead["id"])
        with pytest.raises(NotFound):
            offers.accept(svc, offer.id, b)
        with pytest.raises(NotFound):
            offer_views.get_offer(svc, offer.id, b)
        assert pending(svc, lead["id"])[0].status == "pending"

    def test_an_offer_past_its_deadline_cannot_be_accepted(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """Even before the worker runs, a late accept is refused with a reason."""
        a, _ = make_team(svc, 2)
        offer_rulebook(svc, CASCADE)
        (offer,) = pending(svc, new_lead(svc)["id"])
        clock.advance(seconds=120)
        with pytest.raises(Conflict, match="expired"):
            offers.accept(svc, offer.id, a)


class TestBroadcast:
    def test_first_accept_wins_others_are_withdrawn_and_told(self, svc: Services) -> None:
        """size 2: two offers at once; B accepts; A's offer is withdrawn with a message;
        A's late accept gets 'already taken'."""
        a, b, c = make_team(svc, 3)
        offer_rulebook(svc, "{team: sales, mode: broadcast, size: 2, timeout: 90s}")
        lead = new_lead(svc)
        assert sorted(o.rep_id for o in pending(svc, lead["id"])) == [a, b]
        by_rep = {o.rep_id: o for o in pending(svc, lead["id"])}
        offers.accept(svc, by_rep[b].id, b)
        with pytest.raises(Conflict, match="already taken") as exc:
            offers.accept(svc, by_rep[a].id, a)
        assert exc.value.status_code == 409
        statuses = {o.rep_id: o.status for o in offers_of(svc, lead["id"])}
        assert statuses == {a: "withdrawn", b: "accepted"}
        told = events(svc, rep_id=a, event="offer.withdrawn")
        assert len(told) == 1 and told[0].payload["reason"] == "taken by another rep"
        assert c not in statuses

    def test_nobody_accepting_runs_the_rounds_then_falls_back(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """max_rounds 2: everyone asked twice, then the default `unassigned` queue."""
        make_team(svc, 3)
        offer_rulebook(svc, "{team: sales, mode: broadcast, max_rounds: 2, timeout: 1m}")
        lead = new_lead(svc)
        assert len(pending(svc, lead["id"])) == 3
        assert offers.run_due_timers(svc, clock.advance(seconds=60), 100) == 3
        assert {o.round_no for o in pending(svc, lead["id"])} == {2}
        offers.run_due_timers(svc, clock.advance(seconds=60), 100)
        view = routing.get_lead(svc, lead["id"])
        assert view["status"] == "queued" and view["queue"] == "unassigned"
        assert len(events(svc, event="offer.expired", channel="inapp")) == 6


class TestRotating:
    def test_first_position_rotates_between_leads(self, svc: Services) -> None:
        """Three leads, three different reps asked first."""
        ids = make_team(svc, 3)
        offer_rulebook(svc, "{team: sales, mode: rotating, timeout: 30s}")
        firsts = [pending(svc, new_lead(svc, n)["id"])[0].rep_id for n in range(3)]
        assert firsts == ids

    def test_order_reverses_after_a_round_without_accept(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """A B C time out: round 2 calls C B A; B accepts in round 2."""
        a, b, c = make_team(svc, 3)
        offer_rulebook(svc, "{team: sales, mode: rotating, timeout: 30s, max_rounds: 2}")
        lead = new_lead(svc)
        asked = []
        for _ in range(4):
            (o,) = pending(svc, lead["id"])
            asked.append((o.rep_id, o.round_no))
            offers.run_due_timers(svc, clock.advance(seconds=30), 100)
        (o,) = pending(svc, lead["id"])
        assert asked == [(a, 1), (b, 1), (c, 1), (c, 2)] and o.rep_id == b
        offers.accept(svc, o.id, b)
        assert routing.get_lead(svc, lead["id"])["owner_rep_id"] == b


class TestNobodyEligible:
    def test_all_reps_away_means_the_then_action_at_once(self, svc: Services) -> None:
        """No eligible rep at intake: the lead is never left 'offered'."""
        a, b = make_team(svc, 2)
        set_status(svc, a, "away")
        set_status(svc, b, "offline")
        offer_rulebook(svc, CASCADE)
        lead = new_lead(svc)
        assert lead["status"] == "queued" and lead["queue"] == "triage"
        first = routing.get_decisions(svc, lead["id"])[0]["trace"]["offer"]
        assert {c["skipped"] for c in first["candidates"]} == {"away", "offline"}

    def test_then_can_assign_to_another_team(self, svc: Services) -> None:
        """`then` is any action: here round robin in a backup team."""
        a = make_team(svc, 1)[0]
        (backup,) = make_team(svc, 1, team="backup")
        set_status(svc, a, "away")
        offer_rulebook(
            svc,
            "{team: sales, mode: cascade, then: {assign: {team: backup, method: round_robin}}}",
        )
        lead = new_lead(svc)
        assert lead["status"] == "assigned" and lead["owner_rep_id"] == backup

    def test_reps_going_away_mid_cascade_are_skipped(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """B went offline after the ranking: A's timeout goes straight to C."""
        a, b, c = make_team(svc, 3)
        offer_rulebook(svc, CASCADE)
        lead = new_lead(svc)
        set_status(svc, b, "offline")
        expire_all(svc, clock)
        assert [o.rep_id for o in offers_of(svc, lead["id"])] == [a, c]


class TestNotifications:
    def test_offer_is_in_app_for_the_rep_and_an_outbound_event(self, svc: Services) -> None:
        """offer.made reaches the rep's stream, with the lead and the deadline."""
        from leadflow.services import notifications

        a, _ = make_team(svc, 2)
        notifications.create_endpoint(svc, "crm", "webhook", "http://127.0.0.1:9/h", [])
        offer_rulebook(svc, CASCADE)
        lead = new_lead(svc)
        (msg,) = outbox.inapp_after(svc, a, 0)
        assert msg["event"] == "offer.made"
        assert msg["data"]["lead"]["id"] == lead["id"]
        assert msg["data"]["expires_at"] == "2026-03-02T10:02:00+00:00"
        outbound = [m.event for m in events(svc, channel="webhook")]
        assert outbound == ["lead.created", "offer.made"]
        offers.accept(svc, msg["data"]["offer_id"], a)
        outbound = [m.event for m in events(svc, channel="webhook")]
        assert outbound[2:] == ["lead.assigned", "offer.accepted"]

    def test_hot_lead_uses_the_reps_hot_channels_too(self, svc: Services) -> None:
        """Score 90 (hot): the rep who asked for e-mail on hot leads gets one."""
        from leadflow.services import notifications

        a, _ = make_team(svc, 2)
        notifications.set_prefs(svc, a, {"hot": ["email"]}, None)
        offer_rulebook(svc, CASCADE)
        new_lead(svc, 1, score=50)
        assert events(svc, channel="email") == []
        new_lead(svc, 2, score=90)
        (mail,) = events(svc, channel="email")
        assert mail.event == "offer.made" and mail.target == "sales0@x.example"


class TestNestedAndStale:
    def test_then_can_be_another_offer_with_its_own_then(
        self, svc: Services, clock: FrozenClock
    ) -> None:
        """Sales times out → offered to backup → backup times out → triage queue."""
        (a,) = make_team(svc, 1)
        (backup,) = make_team(svc, 1, team="backup")
        offer_rulebook(
            svc,
            "{team: sales, mode: cascade, timeout: 30s, then: "
            "{offer: {team: backup, mode: rotating, timeout: 1m, then: {queue: triage}}}}",
        )
        lead = new_lead(svc)
        assert [o.rep_id for o in pending(svc, lead["id"])] == [a]
        offers.run_due_timers(svc, clock.advance(seconds=30), 100)
        assert routing.get_lead(svc, lead["id"])["status"] == "offered"
        (second,) = pending(svc, lead["id"])
        assert second.rep_id == backup
        offers.run_due_timers(svc, clock.advance(seconds=60), 100)
        view = routing.get_lead(svc, lead["id"])
        assert view["status"] == "queued" and view["queue"] == "triage"
        kinds = [d["kind"] for d in routing.get_decisions(svc, lead["id"])]
        assert kinds == ["route", "offer_fallback", "offer_fallback"]
        history = offer_views.campaigns_of(svc, lead["id"])
        assert [(c["mode"], c["status"]) for c in history] == [
            ("cascade", "fallback"),
            ("rotating", "fallback"),
        ]

    def test_a_lead_moved_on_by_someone_else_cannot_be_accepted(self, svc: Services) -> None:
        """If the lead left `offered` by another path, a pending offer answers 409."""
        from leadflow.store.models import LeadRow

        a, _ = make_team(svc, 2)
        offer_rulebook(svc, CASCADE)
        lead = new_lead(svc)
        (offer,) = pending(svc, lead["id"])
        with svc.db.write() as s:
            row = s.get(LeadRow, lead["id"])
            assert row is not None
            row.status, row.queue = "queued", "triage"
        with pytest.raises(Conflict, match="no longer on offer"):
            offers.accept(svc, offer.id, a)
        assert routing.get_lead(svc, lead["id"])["owner_rep_id"] is None
