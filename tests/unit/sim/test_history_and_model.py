"""Demo history, its CSV, the conversion model and its calibration, the statistics."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadflow.errors import ValidationError
from leadflow.sim.conversion import ConversionModel, Observation, calibrate
from leadflow.sim.history import generate_history, generate_leads, generate_org
from leadflow.sim.leads import parse_rows, read_csv, write_csv
from leadflow.sim.metrics import confidence, gini, percentiles


@pytest.fixture(scope="module")
def history() -> list:
    return list(generate_history(12_000, generate_org(20, seed=3), seed=3))


class TestDemoHistory:
    def test_leads_arrive_in_order_and_mostly_on_weekday_business_hours(self) -> None:
        """Seasonality: weekdays carry most leads, nights few."""
        data = list(generate_leads(5000, seed=1))
        times = [x.created for x in data]
        assert times == sorted(times)
        local = [datetime.fromtimestamp(t, UTC) for t in times]
        weekend = sum(d.weekday() >= 5 for d in local) / len(local)
        assert weekend < 0.15  # 2 of 7 days, but quiet ones
        night = sum(d.hour < 5 for d in local if d.tzinfo) / len(local)
        assert night < 0.1

    def test_calls_within_24_hours_convert_about_twice_as_often_as_at_48(
        self, history: list
    ) -> None:
        """The generated outcomes carry the rule of thumb (scores are independent of delay)."""

        def rate(lo: float, hi: float) -> float:
            band = [
                x
                for x in history
                if x.first_contact is not None and lo <= (x.first_contact - x.created) / 3600 < hi
            ]
            return sum(x.converted for x in band) / len(band)

        ratio = rate(12, 36) / rate(36, 60)  # around 24 h vs around 48 h
        assert 1.4 < ratio < 2.8

    def test_same_seed_same_history(self) -> None:
        """demo-data is reproducible."""
        org = generate_org(5, seed=1)
        a = list(itertools.islice(generate_history(200, org, seed=9), 200))
        b = list(itertools.islice(generate_history(200, org, seed=9), 200))
        assert a == b

    def test_csv_round_trip(self, history: list, tmp_path: Path) -> None:
        """What demo-data writes, the simulator reads back identically (to the second)."""
        path = tmp_path / "h.csv"
        write_csv(path, history[:300])
        back = read_csv(path)
        assert [x.external_id for x in back] == [x.external_id for x in history[:300]]
        assert back[5].company_country == history[5].company_country
        assert back[5].converted == history[5].converted
        assert back[5].created == pytest.approx(history[5].created, abs=1)


class TestCsvErrors:
    def test_a_bad_value_names_the_line_and_column(self) -> None:
        """CLI errors give the line number."""
        text = (
            "external_id,created_at,score\na,2026-03-02T10:00:00Z,50\nb,2026-03-02T10:01:00Z,high\n"
        )
        with pytest.raises(ValidationError, match=r"history:3: score: 'high' is not a number"):
            list(parse_rows(text))

    def test_a_bad_date_and_a_missing_column_are_explained(self) -> None:
        """created_at must be ISO 8601 and present."""
        with pytest.raises(ValidationError, match=r":2: created_at: 'yesterday' is not an ISO"):
            list(parse_rows("created_at\nyesterday\n"))
        with pytest.raises(ValidationError, match="missing column 'created_at'"):
            list(parse_rows("external_id\nx\n"))
        with pytest.raises(ValidationError, match="unknown column 'colour'"):
            list(parse_rows("created_at,colour\n2026-03-02T10:00:00Z,red\n"))


class TestConversionModel:
    def test_twice_the_odds_at_24_hours_than_at_48(self) -> None:
        """With the default half-life, 24 h vs 48 h halves the conversion probability."""
        m = ConversionModel()
        assert m.probability(60, 24, 1.0, True) == pytest.approx(
            2 * m.probability(60, 48, 1.0, True)
        )
        assert m.probability(90, 1, 1.0, True) > m.probability(10, 1, 1.0, True)
        assert m.probability(60, None, 1.0, True) == 0

    def test_calibration_recovers_the_half_life_and_score_curve(self, history: list) -> None:
        """Fitting the generating model's own outcomes finds its parameters back."""
        obs = [
            Observation(
                x.score or 50,
                None if x.first_contact is None else (x.first_contact - x.created) / 3600,
                x.owner_email,
                True,
                bool(x.converted),
            )
            for x in history
        ]
        fitted = calibrate(obs)
        assert 12 <= fitted.half_life_hours <= 48
        assert fitted.base[-1] > 3 * fitted.base[1]
        assert fitted.calibrated_from > 10_000


class TestStatistics:
    def test_gini(self) -> None:
        """0 for an even split, (n-1)/n when one rep gets everything."""
        assert gini([5, 5, 5, 5]) == 0
        assert gini([0, 0, 0, 8]) == pytest.approx(0.75)

    def test_percentiles_in_minutes(self) -> None:
        """Nearest-rank percentiles, seconds in, minutes out."""
        p = percentiles([60.0 * i for i in range(1, 101)])
        assert p == {"p50": 50.0, "p90": 90.0, "p99": 99.0}
        assert percentiles([]) == {"p50": None, "p90": None, "p99": None}

    def test_confidence_interval_narrows_with_agreement(self) -> None:
        """Runs that agree give a tight interval; one run gives none."""
        assert confidence([10.0]) == {"mean": 10.0, "low": None, "high": None}
        tight = confidence([10.0, 10.1, 9.9])
        wide = confidence([5.0, 15.0, 10.0])
        assert tight["low"] < 10 < tight["high"]
        assert wide["high"] - wide["low"] > tight["high"] - tight["low"]
