"""Compiling the `offer` action: durations, modes, `then` checked like any action."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from leadflow.domain.routing import needs
from leadflow.domain.rulebook import Enqueue, Offer, OfferMode
from leadflow.errors import RulebookError
from leadflow.rules.compile import OrgRefs, compile_rulebook, parse_duration
from leadflow.testing import lead, make_org, rep

REFS = OrgRefs(
    teams=frozenset({"sales", "backup"}),
    rep_emails=frozenset({"a@x.example"}),
    extra={"offers": True},
)


def compile_offer(offer: dict[str, Any], refs: OrgRefs = REFS) -> Offer:
    book = compile_rulebook(
        {"rules": [{"name": "r", "offer": offer}], "fallback": {"queue": "u"}}, refs
    )
    action = book.rules[0].action
    assert isinstance(action, Offer)
    return action


def error(offer: dict[str, Any]) -> RulebookError:
    with pytest.raises(RulebookError) as exc:
        compile_offer(offer)
    return exc.value


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "seconds"), [("90s", 90), ("2m", 120), ("1h", 3600), ("45", 45), (30, 30)]
    )
    def test_units(self, text: str | int, seconds: int) -> None:
        """Seconds, minutes, hours, or a bare number of seconds."""
        assert parse_duration(text) == seconds

    @pytest.mark.parametrize("text", ["2x", "m", "", "-5s", "1.5m"])
    def test_bad_duration_names_the_field(self, text: str) -> None:
        """Anything else is refused with the field `offer.timeout`."""
        exc = error({"team": "sales", "mode": "cascade", "timeout": text})
        assert exc.errors[0]["field"] == "offer.timeout"

    def test_bounds(self) -> None:
        """Between 5 seconds and 24 hours."""
        assert "between" in error({"team": "sales", "mode": "cascade", "timeout": "2s"}).message
        assert "between" in error({"team": "sales", "mode": "cascade", "timeout": "25h"}).message


class TestOfferSpec:
    def test_full_spec_compiles_with_defaults(self) -> None:
        """mode, timeout, rounds, size and then; score weights default."""
        offer = compile_offer(
            {
                "team": "sales",
                "mode": "broadcast",
                "size": 3,
                "max_rounds": 2,
                "then": {"queue": "triage"},
            }
        )
        assert offer.mode is OfferMode.BROADCAST
        assert (offer.timeout_seconds, offer.max_rounds, offer.size) == (120, 2, 3)
        assert offer.then == Enqueue("triage")
        assert offer.params["prior"] == 5.0

    def test_then_is_checked_recursively(self) -> None:
        """A bad team two levels down is reported with its full path."""
        exc = error(
            {
                "team": "sales",
                "mode": "cascade",
                "then": {
                    "offer": {
                        "team": "sales",
                        "mode": "rotating",
                        "then": {"assign": {"team": "ghost", "method": "round_robin"}},
                    }
                },
            }
        )
        assert exc.errors[0]["field"] == "offer.then.offer.then.assign.team"
        assert "unknown team 'ghost'" in exc.message

    def test_then_needs_exactly_one_action(self) -> None:
        """An empty `then` says what to write."""
        assert error({"team": "sales", "mode": "cascade", "then": {}}).errors[0]["field"] == (
            "offer.then.action"
        )

    @pytest.mark.parametrize(
        ("offer", "field"),
        [
            ({"mode": "cascade"}, "offer.team"),
            ({"team": "sales", "reps": ["a@x.example"], "mode": "cascade"}, "offer.team"),
            ({"team": "sales", "mode": "cascade", "size": 2}, "offer.size"),
            ({"team": "ghost", "mode": "cascade"}, "offer.team"),
            ({"reps": ["z@x.example"], "mode": "cascade"}, "offer.reps"),
            ({"team": "sales", "mode": "auction"}, "offer.mode"),
            ({"team": "sales", "mode": "cascade", "max_rounds": 0}, "offer.max_rounds"),
            ({"team": "sales", "mode": "cascade", "score": {"speed": -1}}, "offer.score.speed"),
        ],
    )
    def test_mistakes_name_the_field(self, offer: dict[str, Any], field: str) -> None:
        """Each mistake is reported on the field to change."""
        assert error(offer).errors[0]["field"] == field


class TestNeeds:
    def test_intake_locks_what_an_offer_may_touch_later(self) -> None:
        """A matched rotating offer: its rotation and its `then` pool are in `needs`, so
        intake locks them in its usual order before the offer hook runs."""

        sales, backup = rep(teams={"sales"}), rep(teams={"backup"})
        org = make_org([sales, backup])
        doc = {
            "rules": [
                {
                    "name": "r",
                    "offer": {
                        "team": "sales",
                        "mode": "rotating",
                        "then": {"assign": {"team": "backup", "method": "round_robin"}},
                    },
                }
            ],
            "fallback": {"queue": "u"},
        }
        book = compile_rulebook(doc, REFS)
        need = needs(book, lead(), org, datetime(2026, 3, 2, 10, tzinfo=UTC))
        assert need.pool_keys == {"offer:rotating:team:sales", "round_robin:team:backup"}
        assert need.rep_ids == {backup.id}
