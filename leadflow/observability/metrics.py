"""Prometheus metrics.

Two kinds:
- events counted in the process that sees them (HTTP latency, routing latency, decisions
  by outcome). With several processes on one machine set `PROMETHEUS_MULTIPROC_DIR` (the
  `serve --workers N` command does it for you) and every process's numbers are summed at
  scrape time; otherwise each process exposes its own and Prometheus scrapes each one.
- state read from the database at scrape time (queue depths, due-timer lateness, outbox
  backlog): the same answer from any process, because the database is the only truth.
  Tables are discovered by convention (see `docs/deploy.md`); a table that does not
  exist yet is simply skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Column, MetaData, Table, and_, func, select
from sqlalchemy.sql.elements import ColumnElement

from leadflow.domain.model import LeadStatus
from leadflow.services.context import Services
from leadflow.store.models import Base, LeadRow

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

ROUTING_SECONDS = Histogram(
    "leadflow_routing_duration_seconds",
    "Time to decide where a lead goes (load org, rulebook, counters; run the rules).",
    ["kind"],
    buckets=_LATENCY_BUCKETS,
)
DECISIONS = Counter(
    "leadflow_decisions_total", "Committed routing decisions.", ["kind", "outcome"]
)
HTTP_SECONDS = Histogram(
    "leadflow_http_request_duration_seconds",
    "HTTP request latency by route template and status.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
RATE_LIMITED = Counter(
    "leadflow_rate_limited_total", "Requests refused with 429, by limiter scope.", ["scope"]
)

#: A pending row has the first of these columns NULL (or else a pending `status`).
DONE_COLUMNS = (
    "fired_at", "done_at", "completed_at", "processed_at", "sent_at", "delivered_at",
    "resolved_at",  # sla_timers: met, breached or cancelled
)
PENDING_STATUSES = ("pending", "scheduled", "due", "queued", "retry")


def content_type() -> str:
    return CONTENT_TYPE_LATEST


def render(svc: Services) -> bytes:
    """The exposition text: this process's (or all processes') events + database state."""
    if os.environ.get(MULTIPROC_ENV):
        events = CollectorRegistry()
        MultiProcessCollector(events)  # type: ignore[no-untyped-call]
    else:
        events = REGISTRY
    state = CollectorRegistry(auto_describe=False)
    state.register(DatabaseState(svc))
    return generate_latest(events) + generate_latest(state)


def _pending(table: Table) -> ColumnElement[bool] | None:
    for name in DONE_COLUMNS:
        if name in table.c:
            return table.c[name].is_(None)
    if "status" in table.c:
        return table.c.status.in_(PENDING_STATUSES)
    return None


def _undelivered(table: Table) -> ColumnElement[bool] | None:
    """An outbox's backlog: by `status` when it has one, since in-app rows (`stored`,
    read by the rep's stream) and `dead` ones never get a `sent_at` yet wait for no one."""
    if "status" in table.c:
        return table.c.status.in_(PENDING_STATUSES)
    return _pending(table)


@dataclass(frozen=True)
class TimedTable:
    table: Table
    due: Column[Any]
    pending: ColumnElement[bool] | None


def _all_tables(metadata: MetaData | None) -> list[Table]:
    if metadata is None:
        from leadflow.store.registry import import_all_models

        import_all_models()
        metadata = Base.metadata
    return list(metadata.sorted_tables)


def timer_tables(metadata: MetaData | None = None) -> list[TimedTable]:
    """Tables that hold durable timers: any table with a `due_at` column, or naming its
    due column in `info["timer_due"]` (offers: a pending offer's `expires_at`)."""
    found = []
    for table in _all_tables(metadata):
        column = table.info.get("timer_due") or ("due_at" if "due_at" in table.c else None)
        if column and "outbox" not in table.name:
            found.append(TimedTable(table, table.c[column], _pending(table)))
    return found


def outbox_tables(metadata: MetaData | None = None) -> list[Table]:
    return [t for t in _all_tables(metadata) if "outbox" in t.name]


class DatabaseState(Collector):
    """Gauges computed from the tables at scrape time."""

    def __init__(self, svc: Services, metadata: MetaData | None = None) -> None:
        self.svc = svc
        self.metadata = metadata  # None: every leadflow table

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "leadflow_queue_depth", "Leads waiting in each queue.", labels=["queue"]
        )
        by_status = GaugeMetricFamily("leadflow_leads", "Leads by status.", labels=["status"])
        due = GaugeMetricFamily(
            "leadflow_timers_due", "Timers due now and not yet fired.", labels=["table"]
        )
        late = GaugeMetricFamily(
            "leadflow_timer_lateness_seconds",
            "How long the oldest due timer has been waiting past its due time.",
            labels=["table"],
        )
        backlog = GaugeMetricFamily(
            "leadflow_outbox_backlog", "Outbox messages not yet delivered.", labels=["table"]
        )
        now = self.svc.clock.now()
        with self.svc.db.read() as s:
            queued = s.execute(
                select(LeadRow.queue, func.count())
                .where(LeadRow.status == LeadStatus.QUEUED)
                .group_by(LeadRow.queue)
            )
            for queue, n in queued:
                depth.add_metric([queue or ""], n)
            for status, n in s.execute(
                select(LeadRow.status, func.count()).group_by(LeadRow.status)
            ):
                by_status.add_metric([status], n)
            for timed in timer_tables(self.metadata):
                cond = timed.due <= now
                if timed.pending is not None:
                    cond = and_(cond, timed.pending)
                n, oldest = s.execute(select(func.count(), func.min(timed.due)).where(cond)).one()
                due.add_metric([timed.table.name], n)
                late.add_metric([timed.table.name], _seconds_since(oldest, now))
            for table in outbox_tables(self.metadata):
                pending = _undelivered(table)
                q = select(func.count()).select_from(table)
                if pending is not None:
                    q = q.where(pending)
                backlog.add_metric([table.name], s.scalar(q) or 0)
        yield from (depth, by_status, due, late, backlog)


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - moment).total_seconds())


def prepare_multiprocess() -> str:
    """Before starting several server processes: give them a shared metrics directory
    (kept if the operator already set one), emptied so old processes' samples vanish."""
    import tempfile

    path = os.environ.get(MULTIPROC_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))
    else:
        path = tempfile.mkdtemp(prefix="leadflow-metrics-")
        os.environ[MULTIPROC_ENV] = path
    return path
