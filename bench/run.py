"""Run every measurement once, in a temporary directory, and assemble the results."""

from __future__ import annotations

import os
import platform
import secrets
import shutil
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.baseline import measure_baseline
from bench.decision import measure_decide, measure_route
from bench.intake import measure_intake, measure_one_process
from bench.seed import seeded_database
from bench.workload import leads
from leadflow.schemas import LeadIn
from leadflow.services.context import Services
from leadflow.services.routing import intake_many
from leadflow.store.db import Database

DECISION_P99_MS = 1.0
INTAKE_RATIO = 0.25
INTAKE_P99_MS = 50.0


@dataclass(frozen=True)
class Sizes:
    reps: int = 200
    rules: int = 20
    route_calls: int = 10_000
    decide_calls: int = 1_000
    baseline_rows: int = 1_000
    rate: float = 200.0
    latency_seconds: float = 15.0
    drain_seconds: float = 15.0
    throughput_seconds: float = 20.0
    concurrency: int = 16
    # Caps of the intake runs' organisation, times the workload's one-day caps: the flat-out
    # run must not exhaust them (see `org_document`); every lead stays assignable.
    intake_capacity_scale: int = 25
    # Leads generated for the flat-out run, per second of it: a run that uses them all
    # ends early (its rate is still right, over a shorter time).
    max_intake_per_s: int = 2000


FULL = Sizes()
QUICK = Sizes(
    route_calls=2_000,
    decide_calls=200,
    baseline_rows=200,
    latency_seconds=2.0,
    drain_seconds=2.0,
    throughput_seconds=2.0,
)


def run(sizes: Sizes, *, mode: str, workdir: Path | None = None) -> dict[str, Any]:
    started = datetime.now(UTC)
    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    phases: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - since, 2)
        return now

    count = 20 + round(sizes.rate * sizes.latency_seconds)
    count += round(sizes.max_intake_per_s * sizes.throughput_seconds)
    bodies = leads(count, prefix="bench")
    with tempfile.TemporaryDirectory(prefix="leadflow-bench-", dir=workdir) as tmp:
        folder = Path(tmp)
        for name, scale in (
            ("decide.db", 1),
            ("intake.db", sizes.intake_capacity_scale),
            ("at_capacity.db", 0),  # every rep full: each lead tries every rule, then queues
        ):
            seeded = seeded_database(
                folder / name, reps=sizes.reps, rules=sizes.rules, capacity_scale=scale
            )
            seeded.db.dispose()  # closing the last connection folds the WAL into the file
        shutil.copy(folder / "intake.db", folder / "one_process.db")
        mark = lap("seed", t0)
        # (a) in process, on its own copy (the server must not share its caches).
        svc = Services(Database(f"sqlite:///{folder / 'decide.db'}"))
        try:
            route = measure_route(svc, bodies[:500], sizes.route_calls)
            decide = measure_decide(svc, bodies[:500], sizes.decide_calls)
        finally:
            svc.db.dispose()
        mark = lap("decision", mark)
        # (b) baseline before and after the intake run: the disk is shared with whatever
        # else runs on the machine, so the ratio uses the faster of the two (conservative).
        before = measure_baseline(folder / "baseline.db", bodies, sizes.baseline_rows)
        mark = lap("baseline_before", mark)
        intake = measure_intake(
            folder / "intake.db",
            secrets.token_urlsafe(24),
            bodies,
            rate=sizes.rate,
            latency_seconds=sizes.latency_seconds,
            drain_seconds=sizes.drain_seconds,
            throughput_seconds=sizes.throughput_seconds,
            concurrency=sizes.concurrency,
        )
        mark = lap("intake", mark)
        # The same leads, flat out, with routing in the HTTP process (no intake writer): the
        # database first gets the leads the main run took before its flat-out part.
        skipped = 20 + round(sizes.rate * sizes.latency_seconds)
        preload(folder / "one_process.db", bodies[:skipped])
        one_process = measure_one_process(
            folder / "one_process.db",
            secrets.token_urlsafe(24),
            bodies[skipped:],
            throughput_seconds=sizes.throughput_seconds,
            concurrency=sizes.concurrency,
        )
        mark = lap("intake_one_process", mark)
        # The same flat-out run when no rep has room: the costliest decision there is
        # (every rule tested, every pool screened, the lead queued with a long trace).
        at_capacity = measure_one_process(
            folder / "at_capacity.db",
            secrets.token_urlsafe(24),
            bodies[skipped:],
            throughput_seconds=sizes.throughput_seconds,
            concurrency=sizes.concurrency,
            writer=True,
        )
        mark = lap("intake_at_capacity", mark)
        after = measure_baseline(folder / "baseline.db", bodies, sizes.baseline_rows)
        lap("baseline_after", mark)
    baseline_rate = max(before["rows_per_s"], after["rows_per_s"])
    ratio = intake["throughput"]["rows_per_s"] / baseline_rate if baseline_rate else 0.0
    results: dict[str, Any] = {
        "mode": mode,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": 0.0,
        "machine": machine() | {"load_average_1m": [load_start, os.getloadavg()[0]]},
        "phase_seconds": phases,
        "sizes": asdict(sizes),
        "decision": {"route": route, "decide": decide},
        "baseline": {"before": before, "after": after, "rows_per_s": baseline_rate},
        "intake": intake,
        "intake_one_process": one_process,
        "intake_at_capacity": at_capacity,
        "ratio_intake_to_baseline": round(ratio, 3),
    }
    results["targets"] = targets(results)
    results["duration_s"] = round(time.perf_counter() - t0, 1)
    return results


def preload(path: Path, bodies: list[dict[str, Any]]) -> None:
    svc = Services(Database(f"sqlite:///{path}"))
    try:
        leads_in = [(LeadIn.model_validate(body), None) for body in bodies]
        for _ in intake_many(svc, leads_in, actor="bench"):
            pass
    finally:
        svc.db.dispose()


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    route_p99 = results["decision"]["route"]["p99_ms"]
    at_rate = results["intake"]["latency_at_rate"]
    intake_p99 = at_rate["latency"].get("p99_ms", float("inf"))
    ratio = results["ratio_intake_to_baseline"]
    return [
        _target("decision p99 (route, 20 rules, 200 reps)", f"≤ {DECISION_P99_MS} ms",
                route_p99, route_p99 <= DECISION_P99_MS),
        _target("intake throughput / baseline rows/s", f"≥ {INTAKE_RATIO:.0%}",
                ratio, ratio >= INTAKE_RATIO),
        _target(f"intake p99 at {at_rate['offered_per_s']:g} leads/s", f"≤ {INTAKE_P99_MS} ms",
                intake_p99, intake_p99 <= INTAKE_P99_MS and at_rate["errors"] == 0),
    ]  # fmt: skip


def _target(name: str, target: str, measured: float, ok: bool) -> dict[str, Any]:
    return {"name": name, "target": target, "measured": measured, "pass": bool(ok)}
