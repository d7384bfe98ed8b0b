from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at or datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at
