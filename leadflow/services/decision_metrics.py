"""Count decisions and their routing latency, once the transaction that made them commits.

An `after_decision` hook (see hooks.py): it only notes the decision on the session; the
counters move on commit, so a rolled-back intake is never counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from leadflow.observability.metrics import DECISIONS, ROUTING_SECONDS

_KEY = "leadflow_decision_metrics"

Noted = tuple[str, str, int]  # (kind, outcome, duration in µs)

counted_on_commit = True
"""False in the intake writer process: the HTTP process that serves `/metrics` counts
the decisions the writer sends back with each answer (`count`)."""


def after_decision(s: Session, lead: Any, decision: Any, result: Any, org: Any, now: Any) -> None:
    s.info.setdefault(_KEY, []).append((decision.kind, decision.outcome, decision.duration_us))


def noted(s: Session) -> list[Noted]:
    """The decisions this transaction has made so far, not yet counted."""
    return list(s.info.get(_KEY, ()))


def count(decisions: Iterable[Sequence[Any]]) -> None:
    """Count committed decisions (`noted` entries)."""
    for kind, outcome, duration_us in decisions:
        DECISIONS.labels(kind=kind, outcome=outcome).inc()
        ROUTING_SECONDS.labels(kind=kind).observe(duration_us / 1_000_000)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    decisions = session.info.pop(_KEY, ())
    if counted_on_commit:
        count(decisions)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)
