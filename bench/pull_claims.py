"""Pull distribution benchmark: claim throughput with 32 concurrent claimers (claim-next
on a fifo queue) on SQLite and PostgreSQL, against 1 claimer in the same run; and timer
lateness (how long after its due time a lease expiry runs) under a worker loop.

    python -m bench.pull_claims [--leads 400] [--runs 3]

Writes bench/results/pull_claims.json; the summary goes in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text

from leadflow.errors import Conflict
from leadflow.pull_schemas import QueueIn
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import claims, org, queues, routing, rulebooks
from leadflow.services.auth import Principal, Role
from leadflow.services.clock import SystemClock
from leadflow.services.context import Services
from leadflow.services.timer_loop import TimerLoop
from leadflow.store.db import Database
from leadflow.store.pull_models import ClaimRow, PullTimerRow
from leadflow.testing import postgres

RESULTS = Path(__file__).parent / "results" / "pull_claims.json"
CLIENTS = 32


def _fresh(backend: str, pg_url: str | None, n: int) -> Database:
    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="lf-bench-")) / "bench.db"
        db = Database(f"sqlite:///{path}")
    else:
        assert pg_url
        base = pg_url.rpartition("/")[0]
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS lf_bench_{n}"))
            c.execute(text(f"CREATE DATABASE lf_bench_{n}"))
        admin.dispose()
        db = Database(f"{base}/lf_bench_{n}")
    db.upgrade()
    return db


def _setup(svc: Services, leads: int, lease_minutes: float = 15) -> list[Principal]:
    org.create_team(svc, TeamIn(name="floor"))
    reps = [
        org.create_rep(svc, RepIn(name=f"C{i}", email=f"c{i}@floor.example", teams=["floor"]))
        for i in range(CLIENTS)
    ]
    spec = QueueIn(
        name="line",
        mode="fifo",
        team="floor",
        lease_minutes=lease_minutes,
        policies={"hoarding_cap": 10_000},
    )
    queues.create_queue(svc, spec)
    rulebooks.save(svc, "rules: []\nfallback:\n  queue: {name: line}\n")
    for n in range(leads):
        routing.intake(svc, LeadIn(email=f"p{n}@corp.example", score=n % 100))
    return [Principal(Role.REP, r["name"], r["id"]) for r in reps]


def _drain(svc: Services, rep: Principal) -> int:
    got = 0
    while True:
        try:
            claims.claim_next(svc, "line", rep)
            got += 1
        except Conflict:
            return got


def claims_per_second(db: Database, leads: int, clients: int) -> float:
    svc = Services(db, SystemClock())
    reps = _setup(svc, leads)[:clients]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(lambda r: _drain(svc, r), reps))
    elapsed = time.perf_counter() - started
    assert total == leads, (total, leads)
    return total / elapsed


def timer_lateness_ms(db: Database, timers: int, spread: float) -> list[float]:
    """Claim `timers` leads, then spread their lease ends over `spread` s from 2 s on;
    a worker loop (the one `leadflow serve` runs) expires them; lateness = run - due."""
    svc = Services(db, SystemClock())
    reps = _setup(svc, timers)
    for i in range(timers):
        claims.claim_next(svc, "line", reps[i % len(reps)])
    base = svc.clock.now() + timedelta(seconds=2)
    with svc.db.write() as s:
        for i, timer in enumerate(s.scalars(select(PullTimerRow).order_by(PullTimerRow.id))):
            due = base + timedelta(seconds=i * spread / timers)
            timer.due_at = due
            claim = s.get(ClaimRow, timer.claim_id)
            assert claim is not None
            claim.lease_until = due
    loop = TimerLoop(svc, interval=0.1).start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with svc.db.read() as s:
                late = list(
                    s.scalars(
                        select(PullTimerRow.fired_late_ms).where(
                            PullTimerRow.kind == "lease", PullTimerRow.done_at.is_not(None)
                        )
                    )
                )
            if len(late) >= timers:
                return [float(x) for x in late if x is not None]
            time.sleep(0.5)
        raise RuntimeError("timers did not all fire within 120 s")
    finally:
        loop.stop()


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timers", type=int, default=100)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds")
    args = parser.parse_args()
    server = None
    pg_url = os.environ.get("LEADFLOW_TEST_PG_URL")
    if not pg_url:
        server = postgres.start()
        pg_url = server.url if server else None
    backends = ["sqlite"] + (["postgresql"] if pg_url else [])
    out: dict[str, Any] = {
        "leads": args.leads,
        "clients": CLIENTS,
        "runs": args.runs,
        "timers": args.timers,
        "timer_spread_s": args.spread,
        "load_average_at_start": os.getloadavg()[0],
    }
    n = 0
    try:
        for backend in backends:
            rates: dict[str, list[float]] = {"1": [], str(CLIENTS): []}
            for _ in range(args.runs):
                for clients in (1, CLIENTS):
                    n += 1
                    db = _fresh(backend, pg_url, n)
                    rates[str(clients)].append(claims_per_second(db, args.leads, clients))
                    db.dispose()
            n += 1
            db = _fresh(backend, pg_url, n)
            late = timer_lateness_ms(db, args.timers, args.spread)
            db.dispose()
            med1 = statistics.median(rates["1"])
            med32 = statistics.median(rates[str(CLIENTS)])
            out[backend] = {
                "claims_per_s_1_client_median": round(med1, 1),
                f"claims_per_s_{CLIENTS}_clients_median": round(med32, 1),
                "ratio_32_vs_1": round(med32 / med1, 2),
                "runs": rates,
                "timer_lateness_ms": {
                    "p50": _p(late, 0.5),
                    "p99": _p(late, 0.99),
                    "max": max(late),
                    "timers": len(late),
                },
            }
            print(backend, json.dumps(out[backend], indent=1))
    finally:
        if server is not None:
            server.stop()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
