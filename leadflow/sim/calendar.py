"""When a simulated rep is actually at work: hours, out-of-office and meetings.

Routing only knows the working hours and absences stored on the rep (`Rep`), exactly as
in production. The simulated rep also sits in meetings and keeps default office hours
when the org gives none: leads pushed then wait, which is what makes push at night or
during a meeting cost time-to-contact.

Availability is a sorted list of [start, end) intervals in epoch seconds, extended a
few weeks at a time as the simulated clock advances, so queries are a bisect.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from leadflow.domain.model import Absence, TimeRange, WeeklyHours

CHUNK_DAYS = 28
DEFAULT_HOURS = WeeklyHours({d: (TimeRange(time(9), time(18)),) for d in range(5)})
"""Office hours assumed for a rep whose org entry has none (routing still ignores them)."""

INF = float("inf")


class Calendar:
    """One rep's availability: working hours minus absences minus generated meetings."""

    def __init__(
        self,
        hours: WeeklyHours | None,
        timezone: str | None,
        absences: tuple[Absence, ...] = (),
        *,
        meetings_per_day: float = 0.0,
        seed: int = 0,
        start: float = 0.0,
    ) -> None:
        self._hours = hours or DEFAULT_HOURS
        self._tz = ZoneInfo(timezone or "UTC")
        self._absences = [(a.start.timestamp(), a.end.timestamp()) for a in absences]
        self._meetings = meetings_per_day
        self._rng = random.Random(seed)
        self.starts: list[float] = []
        self.ends: list[float] = []
        # Day by day from the first simulated day: deterministic whatever the query order.
        self._next_day = datetime.fromtimestamp(start, self._tz).date() - timedelta(days=1)
        self._covered = self._day_start(self._next_day)

    def _day_start(self, day: date) -> float:
        return datetime.combine(day, time(0), self._tz).timestamp()

    def _ensure(self, t: float) -> None:
        while self._covered <= t + 86_400:
            self._extend()

    def _extend(self) -> None:
        for _ in range(CHUNK_DAYS):
            for lo, hi in self._day_intervals(self._next_day):
                self._append(lo, hi)
            self._next_day += timedelta(days=1)
        self._covered = self._day_start(self._next_day)

    def _day_intervals(self, day: date) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for r in self._hours.days.get(day.weekday(), ()):
            lo = datetime.combine(day, r.start, self._tz).timestamp()
            end_day = day if r.start < r.end else day + timedelta(days=1)
            hi = datetime.combine(end_day, r.end, self._tz).timestamp()
            out.extend(self._minus_meetings(lo, hi))
        return [piece for lo, hi in out for piece in _subtract(lo, hi, self._absences)]

    def _minus_meetings(self, lo: float, hi: float) -> list[tuple[float, float]]:
        # Poisson count of 30-60 minute meetings placed uniformly in the shift.
        busy = []
        n = _poisson(self._rng, self._meetings * (hi - lo) / (9 * 3600))
        for _ in range(n):
            length = self._rng.uniform(1800, 3600)
            begin = self._rng.uniform(lo, max(lo, hi - length))
            busy.append((begin, begin + length))
        return _subtract(lo, hi, busy)

    def _append(self, lo: float, hi: float) -> None:
        if hi <= lo:
            return
        if self.ends and lo <= self.ends[-1]:
            self.ends[-1] = max(self.ends[-1], hi)
        else:
            self.starts.append(lo)
            self.ends.append(hi)

    def is_open(self, t: float) -> bool:
        self._ensure(t)
        i = bisect_right(self.ends, t)
        return i < len(self.starts) and self.starts[i] <= t

    def next_open(self, t: float) -> float:
        """The earliest moment ≥ t at which the rep is at work (INF if never again)."""
        return self.add(t, 0.0)

    def add(self, t: float, work_seconds: float) -> float:
        """The moment `work_seconds` of this rep's working time have passed after t."""
        self._ensure(t)
        i = bisect_right(self.ends, t)
        remaining = work_seconds
        for _ in range(10_000):  # bounded: a year of shifts at most
            if i >= len(self.starts):
                if self._covered > t + 370 * 86_400:
                    return INF  # no working time within a year: never
                self._extend()
                continue
            begin = max(t, self.starts[i])
            available = self.ends[i] - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
            i += 1
        return INF


def _subtract(lo: float, hi: float, holes: list[tuple[float, float]]) -> list[tuple[float, float]]:
    pieces = [(lo, hi)]
    for h_lo, h_hi in holes:
        if h_hi <= lo or h_lo >= hi:
            continue
        nxt = []
        for p_lo, p_hi in pieces:
            if h_hi <= p_lo or h_lo >= p_hi:
                nxt.append((p_lo, p_hi))
                continue
            if p_lo < h_lo:
                nxt.append((p_lo, h_lo))
            if h_hi < p_hi:
                nxt.append((h_hi, p_hi))
        pieces = nxt
    return pieces


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    n, t = 0, rng.expovariate(1.0)
    while t < mean and n < 50:
        n += 1
        t += rng.expovariate(1.0)
    return n
