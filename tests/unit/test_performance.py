"""The performance score that ranks reps for top-producer offers (pure)."""

from __future__ import annotations

import pytest

from leadflow.domain.performance import RepStats, Weights, rank, shrunk_rate

CONVERSION_ONLY = Weights(conversion=1, acceptance=0, speed=0, prior=5)


class TestShrinkage:
    def test_new_rep_starts_at_the_team_mean_not_zero(self) -> None:
        """No outcomes: the rate is the team's."""
        assert shrunk_rate(0, 0, 0.3, 5) == pytest.approx(0.3)

    def test_one_lucky_win_does_not_beat_a_proven_record(self) -> None:
        """1/1 is pulled towards the team mean (36/101); 30/50 barely moves."""
        stats = {
            1: RepStats(won=1, lost=0),
            2: RepStats(won=30, lost=20),
            3: RepStats(won=5, lost=45),
        }
        ranked = rank([1, 2, 3], stats, CONVERSION_ONLY, 120)
        assert [s.rep_id for s in ranked] == [2, 1, 3]
        assert ranked[1].conversion == pytest.approx((1 + 5 * 36 / 101) / 6)
        assert ranked[0].conversion == pytest.approx((30 + 5 * 36 / 101) / 55)

    def test_without_prior_raw_rates_count(self) -> None:
        """prior 0: the raw conversion rate (1/1 = 100 %) wins."""
        stats = {1: RepStats(won=1, lost=0), 2: RepStats(won=40, lost=20)}
        w = Weights(conversion=1, acceptance=0, speed=0, prior=0)
        assert rank([1, 2], stats, w, 120)[0].rep_id == 1


class TestCombined:
    def test_fast_accepting_rep_wins_between_equal_converters(self) -> None:
        """Same conversion: acceptance rate and response time decide."""
        stats = {
            1: RepStats(won=5, lost=5, offered=10, accepted=2, response_seconds=(100.0, 110.0)),
            2: RepStats(won=5, lost=5, offered=10, accepted=9, response_seconds=(5.0, 10.0)),
        }
        ranked = rank([1, 2], stats, Weights(), 120)
        assert ranked[0].rep_id == 2
        assert ranked[0].speed > ranked[1].speed
        assert ranked[0].median_response_s == 7.5

    def test_weights_change_the_ranking(self) -> None:
        """Speed-only weights rank the fastest first even if it converts least."""
        stats = {
            1: RepStats(won=9, lost=1, response_seconds=(100.0,)),
            2: RepStats(won=1, lost=9, response_seconds=(1.0,)),
        }
        assert rank([1, 2], stats, Weights(), 120)[0].rep_id == 1
        speed = Weights(conversion=0, acceptance=0, speed=1)
        assert rank([1, 2], stats, speed, 120)[0].rep_id == 2

    def test_ties_keep_the_given_order_and_trace_shows_inputs(self) -> None:
        """Nobody has data: the given order stays; the trace lists the inputs."""
        ranked = rank([7, 3, 5], {}, Weights(), 120)
        assert [s.rep_id for s in ranked] == [7, 3, 5]
        assert ranked[0].as_trace() == {
            "rep_id": 7,
            "score": 0.5,
            "conversion": 0.5,
            "acceptance": 0.5,
            "speed": 0.5,
            "median_response_s": None,
            "won": 0,
            "lost": 0,
            "offered": 0,
            "accepted": 0,
        }
