"""Offered-rate load against a leadflow deployment: throughput, latency p50/p99, errors.

Against a running deployment:

    python -m bench.load --url http://10.0.0.5:8000 --url http://10.0.0.6:8000 \\
        --token $TOKEN --rate 100 --duration 30

Or let the script start one on this machine (and stop it afterwards):

    python -m bench.load --spawn sqlite --rate 25,50,100 --duration 20
    python -m bench.load --spawn postgres --rate 25,50,100 --duration 20

`--spawn sqlite`: one `leadflow serve` on a SQLite file. `--spawn postgres`: a throwaway
PostgreSQL server, 2 `leadflow serve` processes and 2 `leadflow worker` processes;
requests alternate between the two API ports (client-side round robin standing in for
a load balancer).

Open loop: request i is due at start + i/rate whatever happened to earlier ones, and
latency counts from that due time, so a slow server shows up as latency, not as a
politely reduced rate (no coordinated omission). Each lead carries an Idempotency-Key.
Results: bench/results/load-<label>-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from leadflow.testing.seed import COUNTRIES, POOL, seed_over_http, seed_pull_over_http

RESULTS = Path(__file__).parent / "results"
ADMIN = "load-admin-token-0123456789abcdef"


@dataclass
class Sample:
    action: str
    ok: bool
    latency: float  # seconds from the due time to the answer
    service: float  # seconds from the actual send to the answer
    error: str = ""


@dataclass
class Stats:
    offered_rate: float
    duration: float
    samples: list[Sample] = field(default_factory=list)
    wall: float = 0.0

    def summary(self) -> dict[str, Any]:
        ok = [s for s in self.samples if s.ok]
        lat = sorted(s.latency for s in ok)
        svc = sorted(s.service for s in ok)
        return {
            "offered_rate": self.offered_rate,
            "duration_s": self.duration,
            "requests": len(self.samples),
            "ok": len(ok),
            "throughput_per_s": round(len(ok) / self.wall, 1) if self.wall else 0.0,
            "latency_ms": _percentiles(lat),
            "service_ms": _percentiles(svc),
            "errors": dict(Counter(s.error for s in self.samples if not s.ok)),
            "by_action": dict(Counter(s.action for s in self.samples)),
        }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}

    def q(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)

    return {"p50": round(statistics.median(values) * 1000, 1), "p99": q(0.99),
            "max": round(values[-1] * 1000, 1)}


Action = Callable[[httpx.AsyncClient, str, int], Awaitable[httpx.Response]]


def intake_action(run_id: str) -> Action:
    async def send(client: httpx.AsyncClient, base: str, i: int) -> httpx.Response:
        body = {"email": f"p{i}@prospect{i % 89}.example",
                "company": {"name": f"Prospect {i}", "country": COUNTRIES[i % len(COUNTRIES)]}}
        return await client.post(f"{base}/api/v1/leads", json=body,
                                 headers={"Idempotency-Key": f"{run_id}-{i}"})

    return send




def pool_intake_action(run_id: str) -> Action:
    """A lead the rulebook holds in the pull queue (source `load-pool`)."""
    async def send(client: httpx.AsyncClient, base: str, i: int) -> httpx.Response:
        body = {"email": f"pool{i}@prospect{i % 89}.example", "source": POOL,
                "company": {"name": f"Pool prospect {i}", "country": "US"}}
        return await client.post(f"{base}/api/v1/leads", json=body,
                                 headers={"Idempotency-Key": f"{run_id}-pool-{i}"})

    return send


def claim_action(rep_tokens: list[str]) -> Action:
    """A rep claims the next pooled lead and releases it again (a claim is two writes on
    the lead plus its lease timer; releasing keeps reps under the hoarding cap). An empty
    pool answers 409 and is counted as such."""
    async def send(client: httpx.AsyncClient, base: str, i: int) -> httpx.Response:
        rep = {"Authorization": f"Bearer {rep_tokens[i % len(rep_tokens)]}"}
        r = await client.post(f"{base}/api/v1/queues/{POOL}/claim-next", headers=rep)
        if r.status_code == 200:
            await client.post(f"{base}/api/v1/leads/{r.json()['id']}/release", headers=rep)
        return r

    return send


def actions_for(urls: list[str], token: str, run_id: str) -> list[tuple[str, Action]]:
    """Intake always; with pull queues, pooled intake and claims join the mix (intake,
    pooled intake, claim in turn). Offer accepts are not in the mix: a rep can only
    accept an offer made to them, which needs each rep's event stream to be followed."""
    actions: list[tuple[str, Action]] = [("intake", intake_action(run_id))]
    rep_tokens = seed_pull_over_http(urls[0], token)
    if rep_tokens:
        actions += [("intake_pool", pool_intake_action(run_id)),
                    ("claim", claim_action(rep_tokens))]
    return actions


async def offered_load(urls: list[str], token: str, rate: float, duration: float,
                       actions: list[tuple[str, Action]]) -> Stats:
    stats = Stats(rate, duration)
    total = int(rate * duration)
    bases = itertools.cycle(urls)
    mix = itertools.cycle(actions)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30,
                                 limits=limits) as client:
        start = time.perf_counter()

        async def one(i: int, due: float, base: str, name: str, act: Action) -> None:
            sent = time.perf_counter()
            try:
                r = await act(client, base, i)
                ok = r.status_code < 300
                err = "" if ok else f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                ok, err = False, type(exc).__name__
            done = time.perf_counter()
            stats.samples.append(Sample(name, ok, done - due, done - sent, err))

        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            name, act = next(mix)
            tasks.append(asyncio.create_task(one(i, due, next(bases), name, act)))
        await asyncio.gather(*tasks)
        stats.wall = time.perf_counter() - start
    return stats


# --------------------------------------------------------------------- deployments


@contextmanager
def spawn(kind: str, root: Path) -> Iterator[tuple[list[str], str, dict[str, Any]]]:
    from leadflow.testing import postgres as pg
    from leadflow.testing import processes

    env = {"LEADFLOW_ADMIN_TOKEN": ADMIN, "LEADFLOW_RATE_LIMIT_INTAKE": "0",
           "LEADFLOW_LOG_LEVEL": "warning"}
    pg_server = None
    if kind == "sqlite":
        url = f"sqlite:///{root / 'load.db'}"
        servers = [processes.server(url, root, **env)]
        workers: list[processes.Process] = []
    else:
        pg_server = pg.start(durable=True)
        if pg_server is None:
            raise SystemExit("PostgreSQL is not installed")
        url = pg_server.url
        servers = [processes.server(url, root, name=f"serve{i}", **env) for i in range(2)]
        workers = [processes.worker(url, root, name=f"worker{i}", **env) for i in range(2)]
    described = {"deployment": kind, "api_processes": len(servers), "workers": len(workers)}
    try:
        for p in [*servers, *workers]:
            p.start()
        for s in servers:
            s.wait_ready()
        seed_over_http(servers[0].url, ADMIN)
        yield [s.url for s in servers], ADMIN, described
    finally:
        for p in [*servers, *workers]:
            p.stop()
        if pg_server is not None:
            pg_server.stop()


def run(urls: list[str], token: str, rates: list[float], duration: float,
        label: str, described: dict[str, Any]) -> dict[str, Any]:
    run_id = f"{label}-{random.randrange(10**9)}"
    actions = actions_for(urls, token, run_id)
    results = []
    for rate in rates:
        stats = asyncio.run(offered_load(urls, token, rate, duration, actions))
        summary = stats.summary()
        results.append(summary)
        print(json.dumps(summary), flush=True)
    report = {"label": label, **described, "urls": len(urls), "runs": results,
              "python": sys.version.split()[0], "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"load-{label}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", action="append", default=[],
                   help="an API base URL; repeat to alternate between several")
    p.add_argument("--token", default=None, help="admin or intake token (with --url)")
    p.add_argument("--spawn", choices=["sqlite", "postgres"], default=None,
                   help="start a deployment here instead of --url")
    p.add_argument("--rate", default="50", help="offered requests/s; a comma list runs each")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per rate")
    p.add_argument("--label", default=None)
    args = p.parse_args(argv)
    rates = [float(r) for r in args.rate.split(",")]
    if args.spawn:
        with tempfile.TemporaryDirectory(prefix="leadflow-load-") as tmp, \
                spawn(args.spawn, Path(tmp)) as (urls, token, described):
            run(urls, token, rates, args.duration, args.label or args.spawn, described)
        return 0
    if not args.url or not args.token:
        p.error("give --spawn, or --url (one or more) and --token")
    run(args.url, args.token, rates, args.duration, args.label or "remote",
        {"deployment": "remote"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
