"""When to try a failed delivery again: exponential backoff, then give up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_DELAY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class RetryDecision:
    give_up: bool
    retry_at: datetime | None = None


def after_failure(
    attempts: int, now: datetime, *, base_seconds: float, max_attempts: int
) -> RetryDecision:
    """`attempts` made so far (≥ 1): the next waits base * 2^(attempts-1), capped at an hour."""
    if attempts >= max_attempts:
        return RetryDecision(give_up=True)
    delay = min(timedelta(seconds=base_seconds * 2 ** (attempts - 1)), MAX_DELAY)
    return RetryDecision(give_up=False, retry_at=now + delay)
