"""Time from lead intake to the offer event on the reps' SSE streams, 50 reps connected.

A real server (`leadflow serve`, its own process) on 127.0.0.1; 50 reps each hold an
event stream open; leads are posted one at a time over HTTP and broadcast to every rep.
For each lead and rep: t(event received) - t(POST sent). Baseline in the same run: the
POST /leads round trip itself (the intake, whose transaction writes the offers).

    python bench/offer_sse_latency.py [--leads 40] [--reps 50] [--database URL]

Writes bench/results/offer_sse_latency.json; the summary goes in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from leadflow.schemas import RepIn, TeamIn  # noqa: E402
from leadflow.services import auth, org, rulebooks  # noqa: E402
from leadflow.services.context import Services  # noqa: E402
from leadflow.store.db import Database  # noqa: E402
from leadflow.testing.receivers import free_port  # noqa: E402

RULEBOOK = """
rules:
  - name: shark-tank
    offer: {team: floor, mode: broadcast, timeout: 10m}
fallback:
  queue: unassigned
"""


def seed(url: str, reps: int) -> tuple[list[str], str]:
    db = Database(url)
    db.upgrade()
    svc = Services(db)
    org.create_team(svc, TeamIn(name="floor"))
    tokens = []
    for i in range(reps):
        rep = org.create_rep(
            svc, RepIn(name=f"Rep {i}", email=f"rep{i}@bench.example", teams=["floor"])
        )
        tokens.append(auth.create_token(svc, auth.Role.REP, rep_id=rep["id"])[0])
    rulebooks.save(svc, RULEBOOK)
    admin = auth.create_token(svc, auth.Role.ADMIN)[0]
    db.dispose()
    return tokens, admin


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def listen(
    client: httpx.AsyncClient,
    token: str,
    ready: asyncio.Event,
    arrivals: dict[int, list[float]],
    counter: list[int],
    n_reps: int,
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with client.stream("GET", "/api/v1/me/events", headers=headers) as resp:
        resp.raise_for_status()
        counter[0] += 1
        if counter[0] == n_reps:
            ready.set()
        async for line in resp.aiter_lines():
            if line.startswith("data:"):
                data = json.loads(line[5:])
                if data.get("event") == "offer.made":
                    arrivals.setdefault(data["lead"]["id"], []).append(time.perf_counter())


async def run(base: str, tokens: list[str], admin: str, leads: int) -> dict[str, object]:
    limits = httpx.Limits(max_connections=len(tokens) + 10)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        ready = asyncio.Event()
        arrivals: dict[int, list[float]] = {}
        counter = [0]
        tasks = [
            asyncio.create_task(listen(client, t, ready, arrivals, counter, len(tokens)))
            for t in tokens
        ]
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(0.5)
        sent: dict[int, float] = {}
        intake_ms: list[float] = []
        for n in range(leads):
            t0 = time.perf_counter()
            r = await client.post(
                "/api/v1/leads",
                json={"email": f"b{n}@p{n}.example"},
                headers={"Authorization": f"Bearer {admin}"},
            )
            intake_ms.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            sent[r.json()["id"]] = t0
            deadline = time.perf_counter() + 10
            while (
                len(arrivals.get(r.json()["id"], [])) < len(tokens)
                and time.perf_counter() < deadline
            ):
                await asyncio.sleep(0.002)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    latencies = [
        (t - sent[lead]) * 1000 for lead, ts in arrivals.items() if lead in sent for t in ts
    ]
    expected = leads * len(tokens)
    return {
        "leads": leads,
        "reps": len(tokens),
        "events_expected": expected,
        "events_received": len(latencies),
        "intake_to_event_ms": {
            "p50": median(latencies),
            "p99": pct(latencies, 99),
            "max": max(latencies),
        },
        "intake_round_trip_ms": {"p50": median(intake_ms), "p99": pct(intake_ms, 99)},
        "ratio_p50_event_vs_intake": median(latencies) / median(intake_ms),
    }


def measure(url: str, leads: int, reps: int) -> dict[str, object]:
    tokens, admin = seed(url, reps)
    port = free_port()
    env = {**os.environ, "LEADFLOW_DATABASE_URL": url, "LEADFLOW_LOG_LEVEL": "warning"}
    server = subprocess.Popen(
        [sys.executable, "-m", "leadflow.cli.main", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        return asyncio.run(run(base, tokens, admin, leads))
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=40)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL")
    args = parser.parse_args()
    results: dict[str, object] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    with tempfile.TemporaryDirectory() as tmp:
        results["sqlite"] = measure(f"sqlite:///{tmp}/bench.db", args.leads, args.reps)
    if args.postgres:
        from leadflow.testing import postgres

        pg = postgres.start()
        if pg is None:
            raise SystemExit("PostgreSQL binaries not found")
        try:
            results["postgresql"] = measure(pg.url, args.leads, args.reps)
        finally:
            pg.stop()
    out = ROOT / "bench" / "results" / "offer_sse_latency.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
