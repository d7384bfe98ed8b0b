"""(a) Routing decision latency, in process.

Two levels, on the same organisation and rulebook:

- `route`: the pure domain decision (`needs` + `route`) on a prepared lead context, an Org
  snapshot and in-memory loads/rotation states — what the rule engine itself costs;
- `decide`: the services-level decision with its database read path (meta counters,
  cached org and rulebook, account match, rotation and load rows) in a read transaction —
  what a dry run or an intake pays before writing.

Each is timed on the wall clock (what the targets use) and in thread CPU time, which
leaves out the time the process spent waiting for a core on a busy machine.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bench.stats import summary_ms
from leadflow.domain.model import RepLoad
from leadflow.domain.routing import needs, route
from leadflow.schemas import LeadIn
from leadflow.services.context import ORG_REVISION, RULEBOOK_VERSION, Services, read_meta
from leadflow.services.org import load_org
from leadflow.services.routing import build_context, decide, lead_document
from leadflow.services.rulebooks import compiled

# A Tuesday afternoon in Europe: reps with working hours are mostly in them.
NOW = datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
WARMUP = 50


def measure_route(svc: Services, lead_bodies: list[dict[str, Any]], calls: int) -> dict[str, Any]:
    docs = [lead_document(LeadIn.model_validate(b)) for b in lead_bodies]
    with svc.db.read() as s:
        meta = read_meta(s)
        org = load_org(svc, s, meta.get(ORG_REVISION, 0), NOW)
        book = compiled(svc, s, meta.get(RULEBOOK_VERSION, 0))
        contexts = [build_context(s, d, org, book) for d in docs]
    loads = {rid: RepLoad(open=rid % 40, today=rid % 7, this_week=rid % 20) for rid in org.reps}
    states: dict[str, dict[str, int]] = {}
    durations, cpu = [], []
    rules_hit: dict[str, int] = {}
    for i in range(calls + WARMUP):
        ctx = contexts[i % len(contexts)]
        started, cpu_started = time.perf_counter(), time.thread_time()
        needs(book, ctx, org, NOW)  # decide() computes it first, to know what to load
        result = route(book, ctx, org, loads, states, NOW)
        elapsed, cpu_elapsed = time.perf_counter() - started, time.thread_time() - cpu_started
        # Carry the new rotation state and load forward, as the database would.
        states.update(result.state_updates)
        rep_id = result.outcome.rep_id
        if rep_id is not None:
            old = loads[rep_id]
            loads[rep_id] = RepLoad(old.open + 1, old.today + 1, old.this_week + 1, NOW)
        if i >= WARMUP:
            durations.append(elapsed)
            cpu.append(cpu_elapsed)
            rules_hit[result.outcome.rule] = rules_hit.get(result.outcome.rule, 0) + 1
    return {
        **summary_ms(durations),
        "cpu": summary_ms(cpu),
        "reps": len(org.reps),
        "rules": len(book.rules),
        "rules_hit": dict(sorted(rules_hit.items(), key=lambda kv: -kv[1])),
    }


def measure_decide(svc: Services, lead_bodies: list[dict[str, Any]], calls: int) -> dict[str, Any]:
    docs = [lead_document(LeadIn.model_validate(b)) for b in lead_bodies]
    durations, cpu = [], []
    for i in range(calls + WARMUP):
        doc = docs[i % len(docs)]
        started, cpu_started = time.perf_counter(), time.thread_time()
        with svc.db.read() as s:
            decide(svc, s, doc, NOW, lock=False)
        elapsed, cpu_elapsed = time.perf_counter() - started, time.thread_time() - cpu_started
        if i >= WARMUP:
            durations.append(elapsed)
            cpu.append(cpu_elapsed)
    return {**summary_ms(durations), "cpu": summary_ms(cpu)}
