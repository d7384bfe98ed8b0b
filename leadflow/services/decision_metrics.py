"""Count decisions and their routing latency, once the transaction that made them commits.

An `after_decision` hook (see hooks.py): it only notes the decision on the session; the
counters move on commit, so a rolled-back intake is never counted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from leadflow.observability.metrics import DECISIONS, ROUTING_SECONDS

_KEY = "leadflow_decision_metrics"


def after_decision(s: Session, lead: Any, decision: Any, result: Any, org: Any, now: Any) -> None:
    s.info.setdefault(_KEY, []).append((decision.kind, decision.outcome, decision.duration_us))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    for kind, outcome, duration_us in session.info.pop(_KEY, ()):
        DECISIONS.labels(kind=kind, outcome=outcome).inc()
        ROUTING_SECONDS.labels(kind=kind).observe(duration_us / 1_000_000)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)
