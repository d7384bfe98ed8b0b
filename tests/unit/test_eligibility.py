"""Skip logic: every reason a rep is passed over, and the rep who is not."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from leadflow.domain.eligibility import Requirements, SkipReason, skip_reason
from leadflow.domain.model import (
    Absence,
    Capacity,
    Rep,
    RepLoad,
    RepStatus,
    TimeRange,
    WeeklyHours,
)
from leadflow.testing import rep

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # Monday 10:00 UTC = 11:00 in Paris
OFFICE = WeeklyHours({d: (TimeRange(time(9), time(18)),) for d in range(5)})


def reason(
    r: Rep | None = None,
    load: RepLoad = RepLoad(),
    req: Requirements = Requirements(),
    now: datetime = NOW,
) -> SkipReason | None:
    return skip_reason(r or rep(), load, req, now)


class TestEligible:
    def test_plain_available_rep_is_eligible(self) -> None:
        """An active, available rep with no caps and no requirements takes the lead."""
        assert reason() is None

    def test_rep_meeting_every_requirement_is_eligible(self) -> None:
        """Skills, language and territory all present: no skip."""
        r = rep(skills={"saas", "fintech"}, languages={"fr"}, territories={"west"})
        req = Requirements(frozenset({"saas"}), "fr", "west")
        assert reason(r, req=req) is None


class TestSkipReasons:
    def test_inactive_rep_is_skipped(self) -> None:
        """A rep who left the company (inactive) never receives leads."""
        assert reason(rep(active=False)) is SkipReason.INACTIVE

    @pytest.mark.parametrize(
        ("status", "expected"),
        [(RepStatus.AWAY, SkipReason.AWAY), (RepStatus.OFFLINE, SkipReason.OFFLINE)],
    )
    def test_away_or_offline_rep_is_skipped(self, status: RepStatus, expected: SkipReason) -> None:
        """Only `available` reps take leads; the status is the reason."""
        assert reason(rep(status=status)) is expected

    def test_out_of_office_period_covering_now_skips(self) -> None:
        """An absence [start, end) that covers now skips the rep."""
        absent = Absence(NOW - timedelta(days=1), NOW + timedelta(days=1))
        assert reason(rep(absences=(absent,))) is SkipReason.OUT_OF_OFFICE

    def test_out_of_office_is_half_open(self) -> None:
        """An absence ending exactly now no longer applies; one starting now does."""
        ended = Absence(NOW - timedelta(days=1), NOW)
        starting = Absence(NOW, NOW + timedelta(hours=1))
        assert reason(rep(absences=(ended,))) is None
        assert reason(rep(absences=(starting,))) is SkipReason.OUT_OF_OFFICE

    def test_outside_working_hours_in_rep_timezone(self) -> None:
        """10:00 UTC is 19:00 in Tokyo: after a 9-18 day there, inside it in Paris."""
        assert reason(rep(working_hours=OFFICE, timezone="Asia/Tokyo")) is SkipReason.OUTSIDE_HOURS
        assert reason(rep(working_hours=OFFICE, timezone="Europe/Paris")) is None

    def test_working_hours_use_the_local_weekday(self) -> None:
        """Monday 03:00 UTC is still Sunday evening in New York: a weekday-only rep is off."""
        sunday_in_ny = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
        always = WeeklyHours({d: (TimeRange(time(0), time(23, 59)),) for d in range(5)})
        r = rep(working_hours=always, timezone="America/New_York")
        assert reason(r, now=sunday_in_ny) is SkipReason.OUTSIDE_HOURS

    def test_overnight_shift_covers_both_sides_of_midnight(self) -> None:
        """A 22:00-06:00 shift covers 23:00 and 05:00 but not noon."""
        shift = TimeRange(time(22), time(6))
        assert shift.contains(time(23)) and shift.contains(time(5))
        assert not shift.contains(time(12))

    @pytest.mark.parametrize(
        ("capacity", "load", "expected"),
        [
            (Capacity(max_open=3), RepLoad(open=3), SkipReason.AT_CAPACITY_OPEN),
            (Capacity(max_per_day=5), RepLoad(today=5), SkipReason.AT_CAPACITY_DAY),
            (Capacity(max_per_week=20), RepLoad(this_week=20), SkipReason.AT_CAPACITY_WEEK),
            (Capacity(max_open=0), RepLoad(), SkipReason.AT_CAPACITY_OPEN),
        ],
    )
    def test_capacity_caps(self, capacity: Capacity, load: RepLoad, expected: SkipReason) -> None:
        """A rep at (or over) any cap is skipped with that cap as the reason."""
        assert reason(rep(capacity=capacity), load=load) is expected

    def test_one_below_each_cap_is_still_eligible(self) -> None:
        """Caps are inclusive limits: below them the rep takes one more."""
        r = rep(capacity=Capacity(3, 5, 20))
        assert reason(r, load=RepLoad(open=2, today=4, this_week=19)) is None

    def test_missing_skill(self) -> None:
        """Every required skill must be present."""
        req = Requirements(skills=frozenset({"saas", "healthcare"}))
        assert reason(rep(skills={"saas"}), req=req) is SkipReason.MISSING_SKILL

    def test_missing_language(self) -> None:
        """A Spanish-speaking lead skips a rep who speaks only French."""
        req = Requirements(language="es")
        assert reason(rep(languages={"fr"}), req=req) is SkipReason.MISSING_LANGUAGE

    def test_not_in_territory(self) -> None:
        """A territory requirement skips reps who do not cover it."""
        req = Requirements(territory="east")
        assert reason(rep(territories={"west"}), req=req) is SkipReason.NOT_IN_TERRITORY

    def test_first_reason_wins(self) -> None:
        """An inactive rep who is also away and full is reported as inactive."""
        r = rep(active=False, status=RepStatus.AWAY, capacity=Capacity(max_open=0))
        assert reason(r) is SkipReason.INACTIVE
