"""SLA deadlines in calendar time and in the rep's working hours; breach choices."""

from __future__ import annotations

from datetime import UTC, datetime, time

from leadflow.domain import sla
from leadflow.domain.model import Team, TimeRange, WeeklyHours
from leadflow.testing import make_org, rep

NINE_TO_SIX = WeeklyHours({d: (TimeRange(time(9), time(18)),) for d in range(5)})
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)


class TestDueAt:
    def test_calendar_time_without_hours(self) -> None:
        start = MONDAY.replace(hour=17, minute=58)
        assert sla.due_at(start, 300) == MONDAY.replace(hour=18, minute=3)

    def test_business_hours_carry_over_to_next_morning(self) -> None:
        """5 minutes asked at 17:58 on Monday: 2 today, 3 on Tuesday from 09:00."""
        start = MONDAY.replace(hour=17, minute=58)
        due = sla.due_at(start, 300, NINE_TO_SIX, "UTC")
        assert due == datetime(2026, 3, 3, 9, 3, tzinfo=UTC)

    def test_friday_evening_waits_for_monday(self) -> None:
        friday = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)
        assert sla.due_at(friday, 3600, NINE_TO_SIX, "UTC") == datetime(
            2026, 3, 9, 10, 0, tzinfo=UTC
        )

    def test_hours_are_read_in_the_rep_timezone(self) -> None:
        """09:00 in Paris is 08:00 UTC in March."""
        start = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
        due = sla.due_at(start, 600, NINE_TO_SIX, "Europe/Paris")
        assert due == datetime(2026, 3, 2, 8, 10, tzinfo=UTC)

    def test_overnight_shift(self) -> None:
        nights = WeeklyHours({0: (TimeRange(time(22), time(6)),)})
        start = MONDAY.replace(hour=21)
        assert sla.due_at(start, 4 * 3600, nights, "UTC") == datetime(2026, 3, 3, 2, tzinfo=UTC)


class TestBreachChoices:
    def test_reassign_until_the_limit_then_escalate(self) -> None:
        assert sla.breach_action("reassign", 0, 2) == "reassign"
        assert sla.breach_action("reassign", 2, 2) == "escalate"
        assert sla.breach_action("escalate", 0, 2) == "escalate"

    def test_manager_is_never_the_rep_themself(self) -> None:
        boss = rep(id=1, teams=["sales"])
        seller = rep(id=2, teams=["sales"])
        org = make_org([boss, seller], teams=[Team("sales", manager_rep_id=1)])
        assert sla.manager_of(seller, org) == boss
        assert sla.manager_of(boss, org) is None

    def test_away_threshold(self) -> None:
        assert sla.goes_away(3, 3) and not sla.goes_away(2, 3) and not sla.goes_away(9, None)
