"""Distribution metrics maths: pure functions over plain numbers.

Conventions (stated once, used everywhere):

- Standard deviation is the *population* one (divide by n): we describe the reps we
  have, we do not estimate a larger population.
- Percentiles use linear interpolation between closest ranks (Hyndman & Fan type 7,
  the default of NumPy and of spreadsheet PERCENTILE.INC): for sorted x[0..n-1] and
  q in [0, 100], h = (n - 1) * q / 100, result = x[floor h] + (h - floor h) *
  (x[floor h + 1] - x[floor h]).
- The Gini coefficient is the mean absolute difference over twice the mean:
  G = sum_i sum_j |x_i - x_j| / (2 n^2 mean). 0 = perfectly equal; (n-1)/n = one rep
  has everything. It is 0 for an empty list or when everything is zero.
- Empty inputs give None for location statistics (there is no median of nothing), and
  0 for spread statistics and rates (nothing is unequal, nothing failed).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PERCENTILES: tuple[int, ...] = (50, 95, 99)


def mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def std_dev(values: Sequence[float]) -> float:
    """Population standard deviation (divide by n)."""
    if not values:
        return 0.0
    mu = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((x - mu) ** 2 for x in values) / len(values))


def gini(values: Sequence[float]) -> float:
    """Gini coefficient of non-negative values (see the module docstring)."""
    if any(x < 0 for x in values):
        raise ValueError("the Gini coefficient is defined for non-negative values only")
    n = len(values)
    total = math.fsum(values)
    if n == 0 or total == 0:
        return 0.0
    # Sorted form of the same sum, O(n log n): sum_i (2i - n - 1) x_(i) / (n * total).
    ordered = sorted(values)
    weighted = math.fsum((2 * i - n - 1) * x for i, x in enumerate(ordered, start=1))
    return weighted / (n * total)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    if not values:
        return None
    ordered = sorted(values)
    h = (len(ordered) - 1) * q / 100
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


def percentiles(
    values: Sequence[float], qs: Iterable[int] = PERCENTILES
) -> dict[str, float | None]:
    """{"p50": …, "p95": …, "p99": …} (None when there are no values)."""
    return {f"p{q}": percentile(values, q) for q in qs}


def rate(part: int, whole: int) -> float:
    """part / whole, 0 when there is no whole (no leads → no errors)."""
    return part / whole if whole else 0.0


def share_within(values: Sequence[float], limit: float) -> float:
    """Fraction of values <= limit (e.g. leads contacted within 300 s)."""
    return rate(sum(1 for x in values if x <= limit), len(values))


def cherry_picking_index(claimed: Sequence[float], pool: Sequence[float]) -> float | None:
    """How far a rep's claims sit above the pool's average, in pool standard deviations.

    (mean(claimed) - mean(pool)) / std_dev(pool). 0: claims like the pool; +1: claims
    one standard deviation better than what was on offer (cherry-picking); negative:
    the rep takes the leftovers. None without claims or without a pool; 0 when the
    pool has no spread (there was nothing to pick between).
    """
    claimed_mean, pool_mean = mean(claimed), mean(pool)
    if claimed_mean is None or pool_mean is None:
        return None
    spread = std_dev(pool)
    if spread == 0:
        return 0.0
    return (claimed_mean - pool_mean) / spread


def histogram(values: Iterable[float], edges: Sequence[float]) -> list[int]:
    """Counts per bin [edges[i], edges[i+1]); the last bin also holds values == edges[-1].

    Values outside [edges[0], edges[-1]] are not counted.
    """
    if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError("histogram edges must be at least two strictly increasing numbers")
    counts = [0] * (len(edges) - 1)
    for x in values:
        if x < edges[0] or x > edges[-1]:
            continue
        i = next((k for k in range(len(counts)) if x < edges[k + 1]), len(counts) - 1)
        counts[i] += 1
    return counts


@dataclass(frozen=True, slots=True)
class Spread:
    """How evenly a quantity (leads, value) is spread over a set of reps."""

    total: float
    mean: float | None
    std_dev: float
    gini: float
    min: float | None
    max: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(
            total=math.fsum(values),
            mean=mean(values),
            std_dev=std_dev(values),
            gini=gini(values),
            min=min(values) if values else None,
            max=max(values) if values else None,
        )


def lorenz_curve(values: Sequence[float]) -> list[tuple[float, float]]:
    """Points of the Lorenz curve: (share of reps, share of the total they hold), from
    the smallest holder up, starting at (0, 0) and ending at (1, 1). The Gini
    coefficient is twice the area between this curve and the diagonal."""
    n, total = len(values), math.fsum(values)
    if n == 0 or total == 0:
        return [(0.0, 0.0), (1.0, 1.0)]
    points = [(0.0, 0.0)]
    running = 0.0
    for i, x in enumerate(sorted(values), start=1):
        running += x
        points.append((i / n, running / total))
    return points
