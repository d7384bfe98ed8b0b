"""Metrics maths against hand-computed values, and invariants with hypothesis."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadflow.domain.metrics import (
    Spread,
    cherry_picking_index,
    gini,
    histogram,
    lorenz_curve,
    mean,
    percentile,
    percentiles,
    rate,
    share_within,
    std_dev,
)

counts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=60)


class TestGini:
    def test_equal_distribution_is_zero(self) -> None:
        """Five reps with ten leads each: perfectly equal."""
        assert gini([10, 10, 10, 10, 10]) == 0.0

    def test_one_rep_has_everything(self) -> None:
        """[0, 0, 0, 1]: G = (n - 1) / n = 0.75."""
        assert gini([0, 0, 0, 1]) == pytest.approx(0.75)

    def test_one_two_three_four(self) -> None:
        """|differences| summed over ordered pairs = 20; 20 / (2 * 16 * 2.5) = 0.25."""
        assert gini([4, 1, 3, 2]) == pytest.approx(0.25)

    def test_two_reps_one_and_three(self) -> None:
        """[1, 3]: sum |xi - xj| = 4; 4 / (2 * 4 * 2) = 0.25."""
        assert gini([1, 3]) == pytest.approx(0.25)

    def test_empty_and_all_zero_are_zero(self) -> None:
        """Nothing distributed is not unequal."""
        assert gini([]) == 0.0
        assert gini([0, 0]) == 0.0

    def test_negative_values_refused(self) -> None:
        """Lead counts and values cannot be negative; refuse rather than mislead."""
        with pytest.raises(ValueError, match="non-negative"):
            gini([1, -1])

    @given(counts)
    def test_between_zero_and_n_minus_one_over_n(self, values: list[int]) -> None:
        """0 <= G <= (n-1)/n for any non-negative distribution."""
        g = gini(values)
        n = max(len(values), 1)
        assert 0.0 <= g <= (n - 1) / n + 1e-12

    @given(counts)
    def test_matches_the_pairwise_definition(self, values: list[int]) -> None:
        """The O(n log n) form equals the textbook double sum."""
        if not values or sum(values) == 0:
            return
        n, mu = len(values), sum(values) / len(values)
        pairwise = sum(abs(a - b) for a in values for b in values) / (2 * n * n * mu)
        assert gini(values) == pytest.approx(pairwise, abs=1e-9)

    @given(counts, st.integers(min_value=1, max_value=50))
    def test_scale_invariant(self, values: list[int], k: int) -> None:
        """Doubling everyone's leads changes nothing about fairness."""
        assert gini([k * v for v in values]) == pytest.approx(gini(values), abs=1e-9)


class TestStdDev:
    def test_population_standard_deviation(self) -> None:
        """[2,4,4,4,5,5,7,9]: mean 5, squared deviations sum 32, 32/8 = 4, sqrt = 2."""
        assert std_dev([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(2.0)

    def test_constant_and_empty_are_zero(self) -> None:
        """No spread when everyone is equal or nobody is there."""
        assert std_dev([3, 3, 3]) == 0.0
        assert std_dev([]) == 0.0

    def test_mean(self) -> None:
        """Mean of nothing is unknown, not zero."""
        assert mean([1, 2, 6]) == 3.0
        assert mean([]) is None


class TestPercentile:
    def test_linear_interpolation_between_ranks(self) -> None:
        """[1..10]: h = 9 * 0.5 = 4.5 → 5.5; p95 h = 8.55 → 9.55; p99 h = 8.91 → 9.91."""
        values = list(range(10, 0, -1))
        assert percentile(values, 50) == pytest.approx(5.5)
        assert percentile(values, 95) == pytest.approx(9.55)
        assert percentile(values, 99) == pytest.approx(9.91)

    def test_odd_count_median_is_middle_value(self) -> None:
        """[3, 1, 2] → 2."""
        assert percentile([3, 1, 2], 50) == 2

    def test_extremes_are_min_and_max(self) -> None:
        """p0 is the smallest value, p100 the largest."""
        assert percentile([5, 1, 9], 0) == 1
        assert percentile([5, 1, 9], 100) == 9

    def test_single_value_and_empty(self) -> None:
        """One value is every percentile; no value has none."""
        assert percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "p99": 7.0}
        assert percentiles([]) == {"p50": None, "p95": None, "p99": None}

    def test_out_of_range_refused(self) -> None:
        """q must be within 0..100."""
        with pytest.raises(ValueError, match=r"0\.\.100"):
            percentile([1], 101)

    @given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50))
    def test_monotonic_in_q_and_bounded(self, values: list[float]) -> None:
        """p50 <= p95 <= p99, all within [min, max]."""
        p = percentiles(values)
        assert min(values) - 1e-6 <= p["p50"] <= p["p95"] + 1e-6  # type: ignore[operator]
        assert p["p95"] <= p["p99"] + 1e-6 <= max(values) + 2e-6  # type: ignore[operator]


class TestRates:
    def test_rate_of_nothing_is_zero(self) -> None:
        """No leads → no error rate, not a division by zero."""
        assert rate(0, 0) == 0.0
        assert rate(1, 4) == 0.25

    def test_share_within_includes_the_limit(self) -> None:
        """Contacted in exactly 300 s counts as within 5 minutes."""
        assert share_within([10, 300, 301, 1000], 300) == 0.5


class TestCherryPickingIndex:
    def test_claims_above_the_pool_average(self) -> None:
        """Pool [20,40,60,80] mean 50, std sqrt(500)=22.36; claims [80,60] mean 70 → 0.894."""
        assert cherry_picking_index([80, 60], [20, 40, 60, 80]) == pytest.approx(
            20 / math.sqrt(500)
        )

    def test_taking_the_leftovers_is_negative(self) -> None:
        """Claiming only the worst lead gives a negative index."""
        assert cherry_picking_index([20], [20, 40, 60, 80]) < 0  # type: ignore[operator]

    def test_no_claims_or_flat_pool(self) -> None:
        """Without claims there is no index; a pool without spread cannot be picked from."""
        assert cherry_picking_index([], [1, 2]) is None
        assert cherry_picking_index([5], [5, 5]) == 0.0


class TestHistogramAndSpread:
    def test_bins_are_half_open_and_last_is_closed(self) -> None:
        """[0,50) [50,100]: 50 goes right, 100 stays in the last bin, 101 is dropped."""
        assert histogram([0, 49.9, 50, 100, 101, -1], [0, 50, 100]) == [2, 2]

    def test_bad_edges_refused(self) -> None:
        """Edges must increase."""
        with pytest.raises(ValueError):
            histogram([1], [5, 5])

    def test_spread_summary(self) -> None:
        """Totals, mean, min/max, std and Gini in one value."""
        s = Spread.of([1, 3])
        assert (s.total, s.mean, s.min, s.max, s.std_dev) == (4, 2, 1, 3, 1)
        assert s.gini == pytest.approx(0.25)


class TestLorenz:
    def test_points_by_hand(self) -> None:
        """[3, 1]: the smaller half holds a quarter → (0,0), (0.5,0.25), (1,1)."""
        assert lorenz_curve([3, 1]) == [(0.0, 0.0), (0.5, 0.25), (1.0, 1.0)]

    @given(counts)
    def test_gini_is_twice_the_area_above_the_curve(self, values: list[int]) -> None:
        """G = 1 - 2 * area under the Lorenz curve (trapezoids)."""
        pts = lorenz_curve(values)
        area = sum((x2 - x1) * (y1 + y2) / 2 for (x1, y1), (x2, y2) in itertools.pairwise(pts))
        assert 1 - 2 * area == pytest.approx(gini(values), abs=1e-9)
