"""Routing one lead through a rulebook: methods, next-rule on nobody eligible, fallback."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from leadflow.domain.model import Capacity, Org, RepLoad, RepStatus, Team
from leadflow.domain.routing import UNASSIGNED_QUEUE, RoutingResult, needs, route
from leadflow.testing import lead, make_org, rep
from tests.unit.kit import MONDAY_10_UTC, Router, book, single

MANAGER = rep(id=9, name="Manager", email="boss@x.example", teams={"management"})
FR = [rep(id=i, email=f"fr{i}@x.example", teams={"france"}, languages={"fr"}) for i in (1, 2, 3)]
ENT = [
    rep(id=4, email="big@x.example", teams={"enterprise"}, weight=3, skills={"saas"}),
    rep(id=5, email="small@x.example", teams={"enterprise"}, weight=1),
]
ORG = make_org([*FR, *ENT, MANAGER], teams=[Team("france", manager_rep_id=9)])

RULES = """
rules:
  - name: existing accounts
    when: {account.matched: true}
    assign: {method: account_owner}
  - name: vip
    when: {attributes.vip: true}
    assign: {method: direct, rep: big@x.example}
  - name: france
    when: {company.country: {in: [FR, BE]}}
    assign: {team: france, method: round_robin}
  - name: enterprise
    when: {company.size: {gte: 500}}
    assign: {team: enterprise, method: weighted}
fallback:
  assign: {team: enterprise, method: load_balanced}
"""


def account(owner: int | None, **extra: Any) -> dict[str, Any]:
    return {"matched": True, "id": 7, "name": "Acme", "owner_rep_id": owner, **extra}


def route_one(
    lead_data: dict[str, Any],
    org: Org = ORG,
    loads: dict[int, RepLoad] | None = None,
    text: str = RULES,
    now: datetime = MONDAY_10_UTC,
) -> RoutingResult:
    return route(book(text), lead_data, org, loads or {}, {}, now)


def step(result: RoutingResult, rule: str) -> dict[str, Any]:
    return next(s for s in result.trace["steps"] if s["rule"] == rule)


class TestAccountOwner:
    def test_owner_gets_the_lead(self) -> None:
        """A lead from a known account goes to the account's owner."""
        result = route_one(lead(account=account(2)))
        assert (result.outcome.rule, result.outcome.rep_id) == ("existing accounts", 2)
        assert result.outcome.method == "account_owner"
        assert "Acme" in result.outcome.reason

    def test_inactive_owner_hands_over_to_team_manager_with_reason(self) -> None:
        """The owner left: the team's manager takes it and the trace says why."""
        gone = rep(id=2, email="fr2@x.example", teams={"france"}, active=False)
        org = make_org([FR[0], gone, MANAGER], teams=[Team("france", 9)])
        result = route_one(lead(account=account(2)), org=org)
        assert result.outcome.rep_id == 9
        assert result.outcome.reason == "account owner inactive → team manager"
        s = step(result, "existing accounts")
        assert [c["skipped"] for c in s["candidates"]] == ["inactive", None]
        assert "team manager Manager" in s["result"]

    def test_deleted_owner_hands_over_to_the_account_team_manager(self) -> None:
        """An account whose owner no longer exists falls to its team's manager."""
        result = route_one(lead(account=account(None, team="france")))
        assert result.outcome.rep_id == 9
        assert "no owner" in result.outcome.reason

    def test_away_owner_is_not_replaced_next_rule_applies(self) -> None:
        """An owner who is merely away keeps the account; the lead moves to the next rule."""
        away = rep(id=2, email="fr2@x.example", teams={"france"}, status=RepStatus.AWAY)
        org = make_org([FR[0], away, FR[2], MANAGER], teams=[Team("france", 9)])
        data = lead(account=account(2), company={"country": "FR"})
        result = route_one(data, org=org)
        assert result.outcome.rule == "france"
        assert "skipped: away" in step(result, "existing accounts")["result"]

    def test_inactive_owner_without_manager_moves_on(self) -> None:
        """No manager to hand over to: the next rule decides."""
        gone = rep(id=4, email="big@x.example", teams={"enterprise"}, active=False)
        org = make_org([gone, ENT[1]])
        result = route_one(lead(account=account(4), company={"country": "US"}), org=org)
        assert result.outcome.rule == "fallback" and result.outcome.rep_id == 5
        assert "no team manager" in step(result, "existing accounts")["result"]

    def test_no_matched_account_means_the_rule_does_not_apply(self) -> None:
        """Without an account, `account_owner` finds nobody (the rule's guard aside)."""
        text = single("{name: acc, assign: {method: account_owner}}")
        result = route_one(lead(), text=text)
        assert result.outcome.queue == "q"
        assert step(result, "acc")["result"] == "no matching account"


class TestDirect:
    def test_named_rep_gets_the_lead(self) -> None:
        """`direct` assigns to the rep named by e-mail."""
        result = route_one(lead(attributes={"vip": True}))
        assert (result.outcome.rule, result.outcome.rep_id) == ("vip", 4)

    def test_named_rep_unavailable_moves_to_next_rule(self) -> None:
        """The named rep at capacity: the lead continues down the rulebook."""
        full = {4: RepLoad(open=3)}
        org = make_org(
            [rep(id=4, email="big@x.example", capacity=Capacity(max_open=3)), *FR],
        )
        result = route_one(lead(attributes={"vip": True}), org=org, loads=full)
        assert result.outcome.rule == "france"
        assert step(result, "vip")["candidates"][0]["skipped"] == "at_capacity_open"


class TestRotations:
    def test_round_robin_through_the_rulebook(self) -> None:
        """Six French leads: each rep twice, in turn, cursor keyed by the team pool."""
        router = Router(book(RULES), ORG)
        assert router.owners(lead(), 6) == [1, 2, 3, 1, 2, 3]
        assert set(router.states) == {"round_robin:team:france"}

    def test_weighted_through_the_rulebook(self) -> None:
        """Enterprise 3:1 weights give 3 and 1 leads over each cycle of 4."""
        router = Router(book(RULES), ORG)
        big = lead(company={"country": "US", "size": 900})
        assert Counter(router.owners(big, 8)) == {4: 6, 5: 2}

    def test_rule_weights_override_rep_weights(self) -> None:
        """`weights:` in the rule replace the reps' own weights for that pool."""
        text = """
rules:
  - name: w
    assign: {team: enterprise, method: weighted, weights: {small@x.example: 3, big@x.example: 1}}
fallback: {queue: q}
"""
        assert Counter(Router(book(text), ORG).owners(lead(), 4)) == {5: 3, 4: 1}

    def test_load_balanced_through_the_rulebook(self) -> None:
        """The fallback gives to the enterprise rep with the fewest open leads."""
        loads = {4: RepLoad(open=5), 5: RepLoad(open=2)}
        result = route_one(lead(company={"country": "US"}), loads=loads)
        assert (result.outcome.rule, result.outcome.rep_id) == ("fallback", 5)
        assert result.outcome.method == "load_balanced"
        assert result.state_updates == {}

    def test_explicit_rep_list_pool(self) -> None:
        """A rule may name its pool by e-mails instead of a team."""
        text = """
rules:
  - name: pair
    assign: {reps: [fr3@x.example, fr1@x.example], method: round_robin}
fallback: {queue: q}
"""
        router = Router(book(text), ORG)
        assert router.owners(lead(), 4) == [3, 1, 3, 1]  # the rule's order breaks ties
        assert list(router.states) == ["round_robin:reps:fr1@x.example,fr3@x.example"]


class TestRequirements:
    def test_language_match(self) -> None:
        """`match_language` keeps only reps speaking the lead's language."""
        text = """
rules:
  - name: speakers
    assign: {reps: [fr1@x.example, big@x.example], method: round_robin, match_language: true}
fallback: {queue: q}
"""
        result = route_one(lead(language="fr"), text=text)
        assert result.outcome.rep_id == 1
        skipped = {c["rep_id"]: c["skipped"] for c in step(result, "speakers")["candidates"]}
        assert skipped == {1: None, 4: "missing_language"}

    def test_skills(self) -> None:
        """Required skills skip reps without them."""
        text = single("{name: s, assign: {team: enterprise, method: round_robin, skills: [SaaS]}}")
        result = route_one(lead(), text=text)
        assert result.outcome.rep_id == 4

    def test_matched_territory(self) -> None:
        """`territory: matched` needs reps covering the lead's territory."""
        org = make_org([rep(id=1, territories={"west"}), rep(id=2, territories={"east"})])
        text = single("{name: t, assign: {team: sales, method: round_robin, territory: matched}}")
        result = route_one(lead(territory={"matched": True, "name": "east"}), org=org, text=text)
        assert result.outcome.rep_id == 2
        assert step(result, "t")["candidates"][0]["skipped"] == "not_in_territory"

    def test_lead_without_territory_skips_a_territory_rule(self) -> None:
        """No territory matched: the rule cannot act and says why."""
        text = single("{name: t, assign: {team: france, method: round_robin, territory: matched}}")
        result = route_one(lead(), text=text)
        assert result.outcome.queue == "q"
        assert step(result, "t")["result"] == "the lead matches no territory"


class TestRuleOrder:
    def test_nobody_eligible_moves_to_next_rule_with_reasons(self) -> None:
        """Every French rep unavailable: the lead goes on, each skip recorded."""
        org = make_org(
            [
                rep(id=1, teams={"france"}, status=RepStatus.OFFLINE),
                rep(id=2, teams={"france"}, capacity=Capacity(max_per_day=1)),
                *ENT,
            ]
        )
        result = route_one(lead(), org=org, loads={2: RepLoad(today=1)})
        assert result.outcome.rule == "fallback"
        s = step(result, "france")
        assert s["matched"] is True and s["result"] == "no eligible rep"
        assert [c["skipped"] for c in s["candidates"]] == ["offline", "at_capacity_day"]

    def test_empty_pool_is_reported(self) -> None:
        """A team without reps is an empty pool, not a crash."""
        result = route_one(lead(), org=make_org(ENT))
        assert step(result, "france")["result"] == "the pool has no reps"

    def test_first_matching_rule_wins(self) -> None:
        """A French enterprise lead matches both; the earlier rule decides."""
        result = route_one(lead(company={"country": "FR", "size": 900}))
        assert result.outcome.rule == "france"
        assert [s["rule"] for s in result.trace["steps"]] == ["existing accounts", "vip", "france"]

    def test_nothing_matches_goes_to_fallback(self) -> None:
        """A lead no rule matches is decided by the fallback."""
        result = route_one(lead(company={"country": "US", "size": 10}))
        assert result.outcome.rule == "fallback" and result.outcome.kind == "assigned"
        assert all(s["matched"] is False for s in result.trace["steps"][:-1])

    def test_fallback_with_nobody_eligible_queues_in_unassigned(self) -> None:
        """Even when the fallback finds nobody the lead has an outcome: a visible queue."""
        org = make_org([rep(id=4, email="big@x.example", teams={"enterprise"}, active=False)])
        result = route_one(lead(company={"country": "US"}), org=org)
        assert result.outcome.kind == "queued"
        assert result.outcome.queue == UNASSIGNED_QUEUE
        assert result.trace["outcome"]["queue"] == UNASSIGNED_QUEUE

    def test_queue_action(self) -> None:
        """A queue action always succeeds and ends the evaluation."""
        text = single(
            "{name: hold, queue: triage},"
            " {name: never, assign: {team: france, method: round_robin}}"
        )
        result = route_one(lead(), text=text)
        assert (result.outcome.kind, result.outcome.queue) == ("queued", "triage")
        assert len(result.trace["steps"]) == 1

    def test_needs_lists_pools_of_matching_rules_only(self) -> None:
        """Only matching rules' reps and rotations are loaded (and locked)."""
        n = needs(book(RULES), lead(), ORG, MONDAY_10_UTC)
        assert n.rep_ids == {1, 2, 3, 4, 5}
        assert n.pool_keys == {"round_robin:team:france", "load_balanced:team:enterprise"}


class TestActiveWindows:
    TEXT = """
rules:
  - name: office hours
    active: {days: [mon, tue, wed, thu, fri], hours: "09:00-18:00", timezone: Europe/Paris}
    assign: {team: france, method: round_robin}
fallback: {queue: after-hours}
"""

    def test_rule_applies_inside_its_window(self) -> None:
        """Monday 10:00 UTC is 11:00 in Paris: inside the window."""
        assert route_one(lead(), text=self.TEXT).outcome.rule == "office hours"

    def test_rule_is_skipped_outside_its_hours(self) -> None:
        """Monday 17:30 UTC is 18:30 in Paris: the window is closed."""
        evening = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
        result = route_one(lead(), text=self.TEXT, now=evening)
        assert result.outcome.queue == "after-hours"
        assert step(result, "office hours")["result"] == "outside the rule's active window"

    def test_rule_is_skipped_on_other_days(self) -> None:
        """Saturday noon is outside a weekday window."""
        saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
        assert route_one(lead(), text=self.TEXT, now=saturday).outcome.queue == "after-hours"

    def test_window_closed_rule_is_not_in_needs(self) -> None:
        """A closed window's pool is not even loaded."""
        evening = datetime(2026, 3, 2, 17, 30, tzinfo=UTC)
        assert needs(book(self.TEXT), lead(), ORG, evening).pool_keys == frozenset()
