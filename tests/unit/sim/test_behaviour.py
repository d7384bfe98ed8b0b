"""The rep behaviour model reproduces its configured statistics over many draws."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, time

import pytest

from leadflow.domain.model import TimeRange, WeeklyHours
from leadflow.sim.behaviour import (
    RepBehaviour,
    claim_gap_seconds,
    offer_answer,
    response_seconds,
)
from leadflow.sim.calendar import Calendar

N = 20_000


class TestDraws:
    @pytest.mark.parametrize("median", [2.0, 20.0, 240.0])
    def test_response_time_median_matches_configuration(self, median: float) -> None:
        """The median of many first-call delays is the configured median (±5 %)."""
        rng = random.Random(1)
        b = RepBehaviour(response_median_min=median, response_sigma=1.2)
        draws = [response_seconds(rng, b) / 60 for _ in range(N)]
        assert statistics.median(draws) == pytest.approx(median, rel=0.05)

    @pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
    def test_offer_acceptance_rate_matches_configuration(self, p: float) -> None:
        """The share of accepted offers is the configured probability (±0.015)."""
        rng = random.Random(2)
        b = RepBehaviour(accept_probability=p, offer_response_median_s=45)
        answers = [offer_answer(rng, b) for _ in range(N)]
        assert sum(a for a, _ in answers) / N == pytest.approx(p, abs=0.015)
        assert statistics.median(s for _, s in answers) == pytest.approx(45, rel=0.05)

    def test_claim_checks_follow_the_configured_rate(self) -> None:
        """Mean gap between pool checks is 1/rate (a Poisson process)."""
        rng = random.Random(3)
        b = RepBehaviour(claims_per_hour=6)
        gaps = [claim_gap_seconds(rng, b) for _ in range(N)]
        assert statistics.fmean(gaps) == pytest.approx(600, rel=0.03)

    def test_a_rep_who_never_claims_never_checks(self) -> None:
        """claims_per_hour 0 means the rep never looks at a pool."""
        assert claim_gap_seconds(random.Random(0), RepBehaviour(claims_per_hour=0)) == float("inf")

    def test_unknown_or_out_of_range_fields_are_refused(self) -> None:
        """A typo in the org file's simulation section says what is wrong."""
        with pytest.raises(ValueError, match="unknown behaviour field 'respons_median_min'"):
            RepBehaviour.from_mapping({"respons_median_min": 3})
        with pytest.raises(ValueError, match="cherry_pick must be between 0 and 1"):
            RepBehaviour.from_mapping({"cherry_pick": 2})


OFFICE = WeeklyHours({d: (TimeRange(time(9), time(18)),) for d in range(5)})


def _ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


class TestCalendar:
    def test_work_left_on_friday_evening_continues_on_monday(self) -> None:
        """One working hour asked at Friday 17:30 ends Monday 09:30 (local time)."""
        cal = Calendar(OFFICE, "UTC", start=_ts(2026, 3, 2))
        assert cal.add(_ts(2026, 3, 6, 17, 30), 3600) == _ts(2026, 3, 9, 9, 30)

    def test_working_hours_follow_the_reps_timezone(self) -> None:
        """09:00 in Paris in March is 08:00 UTC."""
        cal = Calendar(OFFICE, "Europe/Paris", start=_ts(2026, 3, 2))
        assert cal.next_open(_ts(2026, 3, 3, 0, 0)) == _ts(2026, 3, 3, 8, 0)
        assert not cal.is_open(_ts(2026, 3, 7, 12, 0))  # Saturday

    def test_meetings_take_time_out_of_the_day(self) -> None:
        """With two meetings a day on average, a rep is at work less than 9 h a day."""
        cal = Calendar(OFFICE, "UTC", meetings_per_day=2, seed=4, start=_ts(2026, 3, 2))
        cal.add(_ts(2026, 3, 2), 200 * 3600)  # forces ~5 weeks of calendar
        days = 25
        worked = sum(
            min(e, _ts(2026, 4, 6)) - max(s, _ts(2026, 3, 2))
            for s, e in zip(cal.starts, cal.ends, strict=True)
            if e > _ts(2026, 3, 2) and s < _ts(2026, 4, 6)
        )
        per_day = worked / days / 3600
        assert 6.0 < per_day < 8.5
