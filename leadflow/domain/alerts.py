"""Alert thresholds and their evaluation against measured metrics (pure).

Defaults come from the push-distribution article's alert thresholds: routing errors
above 5 % of volume, assignment latency above 60 s, first response above 1 h for
high-priority leads.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Thresholds:
    error_rate: float = 0.05
    """Share of leads that triggered the fallback or could not be placed."""
    latency_p95_seconds: float = 60.0
    """Assignment latency (capture → owner), at the 95th percentile."""
    first_response_seconds: float = 3600.0
    """Time from assignment to first contact, for high-priority leads."""
    high_priority_score: float = 80.0
    """A lead scored at or above this is high priority (or `priority: high`)."""
    min_leads: int = 1
    """Rates are not judged on fewer leads than this (avoid 1-of-1 = 100 % alarms)."""

    def with_changes(self, changes: dict[str, Any]) -> Thresholds:
        """A copy with `changes` applied; unknown names or bad values raise ValueError."""
        known = {f.name: f.type for f in fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"{name}: unknown threshold (known: {', '.join(known)})")
            number = float(value)
            if number < 0 or number != number:
                raise ValueError(f"{name}: must be a number >= 0")
            if name == "error_rate" and number > 1:
                raise ValueError(f"{name}: a share between 0 and 1 (0.05 = 5 %)")
            clean[name] = int(number) if name == "min_leads" else number
        return replace(self, **clean)

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Observed:
    """The measurements the alerts look at, for one period and team."""

    leads: int
    routing_errors: int
    latency_p95_seconds: float | None
    slow_high_priority: int
    """High-priority leads whose first response took (or has taken so far) too long."""


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    severity: Severity
    message: str
    value: float
    threshold: float


def evaluate(observed: Observed, limits: Thresholds) -> list[Alert]:
    alerts: list[Alert] = []
    if observed.leads >= max(limits.min_leads, 1):
        share = observed.routing_errors / observed.leads
        if share > limits.error_rate:
            alerts.append(
                Alert(
                    "routing_errors",
                    Severity.CRITICAL if share > 2 * limits.error_rate else Severity.WARNING,
                    f"{share:.1%} of leads fell to the fallback or found no rep "
                    f"(threshold {limits.error_rate:.0%}): check the rules and coverage",
                    share,
                    limits.error_rate,
                )
            )
    p95 = observed.latency_p95_seconds
    if p95 is not None and p95 > limits.latency_p95_seconds:
        alerts.append(
            Alert(
                "assignment_latency",
                Severity.WARNING,
                f"assignment latency p95 is {p95:.0f} s (threshold "
                f"{limits.latency_p95_seconds:.0f} s): leads wait in queues or offers",
                p95,
                limits.latency_p95_seconds,
            )
        )
    if observed.slow_high_priority > 0:
        alerts.append(
            Alert(
                "first_response",
                Severity.CRITICAL,
                f"{observed.slow_high_priority} high-priority lead(s) waited more than "
                f"{limits.first_response_seconds / 60:.0f} min for a first contact",
                float(observed.slow_high_priority),
                limits.first_response_seconds,
            )
        )
    return alerts
