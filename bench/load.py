"""Offered-rate load against a leadflow deployment: lead intake, claims and offer
accepts at configurable rates; throughput, latency p50/p99 and error counts per action.

Against a running deployment (it adds a pool queue, an offer rule and rep tokens):

    python -m bench.load --url http://10.0.0.5:8000 --url http://10.0.0.6:8000 \\
        --token $TOKEN --rate 100 --claim-rate 20 --accept-rate 20 --duration 30

Or let the script start one on this machine (and stop it afterwards):

    python -m bench.load --spawn sqlite --rate 20,40 --duration 30
    python -m bench.load --spawn postgres --rate 20,40 --claim-rate 25% --accept-rate 25%

`--spawn sqlite`: one `leadflow serve` on a SQLite file. `--spawn postgres`: a throwaway
PostgreSQL server, 2 `leadflow serve` processes and 2 `leadflow worker` processes;
requests alternate between the two API ports (client-side round robin standing in for
a load balancer).

Actions: `intake` (routed by rules), `intake_pool` (held in the pull queue),
`intake_offer` (broadcast as an offer to 4 reps), `claim` (a rep claims the next pooled
lead, then releases it), `accept` (a rep lists their pending offers with their own token
and accepts the oldest; a `409` — taken by another rep, expired — is a lost race, counted
apart from errors). `--rate` counts every lead; of those, `--claim-rate` per second go to
the pool and `--accept-rate` per second are offered.

Open loop: request i of an action is due at start + i/rate whatever happened to earlier
ones, and latency counts from that due time, so a slow server shows up as latency, not as
a politely reduced rate (no coordinated omission). Each lead carries an Idempotency-Key.
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

from leadflow.testing.seed import (
    COUNTRIES,
    OFFERED,
    POOL,
    Mix,
    seed_mix_over_http,
    seed_over_http,
)

RESULTS = Path(__file__).parent / "results"
ADMIN = "load-admin-token-0123456789abcdef"


OK, LOST, EMPTY, ERROR = "ok", "lost_race", "empty", "error"
"""How an action ended: done; lost a race the API documents (`409` for an offer another rep
took or that expired: `lost_race`); nothing to do (no pooled lead, no pending offer:
`empty`); anything else (`error`: 5xx, other 4xx, timeouts, refused connections)."""


@dataclass
class Sample:
    action: str
    outcome: str
    latency: float  # seconds from the due time to the answer
    service: float  # seconds from the actual send to the answer
    error: str = ""


@dataclass
class Stats:
    rates: dict[str, float]
    duration: float
    samples: list[Sample] = field(default_factory=list)
    wall: float = 0.0

    def summary(self) -> dict[str, Any]:
        per_action = {
            name: self._one([s for s in self.samples if s.action == name], rate)
            for name, rate in self.rates.items() if rate > 0
        }
        total = self._one(self.samples, sum(self.rates.values()))
        return {"offered_rate": round(sum(self.rates.values()), 2), "duration_s": self.duration,
                **total, "actions": per_action}

    def _one(self, samples: list[Sample], rate: float) -> dict[str, Any]:
        ok = [s for s in samples if s.outcome == OK]
        return {
            "offered_per_s": round(rate, 2),
            "requests": len(samples),
            "ok": len(ok),
            "lost_race": sum(s.outcome == LOST for s in samples),
            "empty": sum(s.outcome == EMPTY for s in samples),
            "error_count": sum(s.outcome == ERROR for s in samples),
            "throughput_per_s": round(len(ok) / self.wall, 1) if self.wall else 0.0,
            "latency_ms": _percentiles(sorted(s.latency for s in ok)),
            "service_ms": _percentiles(sorted(s.service for s in ok)),
            "errors": dict(Counter(s.error for s in samples if s.outcome == ERROR)),
        }


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}

    def q(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)

    return {"p50": round(statistics.median(values) * 1000, 1), "p99": q(0.99),
            "max": round(values[-1] * 1000, 1)}


Result = tuple[str, str]  # (outcome, error detail)
Action = Callable[[httpx.AsyncClient, str, int], Awaitable[Result]]


def _answer(
    r: httpx.Response, *, lost: tuple[int, ...] = (), empty: tuple[int, ...] = ()
) -> Result:
    if r.status_code < 300:
        return OK, ""
    if r.status_code in lost:
        return LOST, ""
    if r.status_code in empty:
        return EMPTY, ""
    return ERROR, f"HTTP {r.status_code}"


def intake_action(run_id: str, source: str | None = None) -> Action:
    """A new lead with its Idempotency-Key; `source` sends it to the pool or the offer rule."""
    tag = source or "lead"

    async def send(client: httpx.AsyncClient, base: str, i: int) -> Result:
        body: dict[str, Any] = {
            "email": f"{tag}{i}@prospect{i % 89}.example",
            "company": {"name": f"Prospect {tag} {i}", "country": COUNTRIES[i % len(COUNTRIES)]}}
        if source:
            body["source"] = source
        r = await client.post(f"{base}/api/v1/leads", json=body,
                              headers={"Idempotency-Key": f"{run_id}-{tag}-{i}"})
        return _answer(r)

    return send


def claim_action(rep_tokens: list[str]) -> Action:
    """A rep claims the next pooled lead and releases it again (a claim is two writes on
    the lead plus its lease timer; releasing keeps reps under the hoarding cap). An empty
    pool answers 409: counted as `empty`."""
    async def send(client: httpx.AsyncClient, base: str, i: int) -> Result:
        rep = {"Authorization": f"Bearer {rep_tokens[i % len(rep_tokens)]}"}
        r = await client.post(f"{base}/api/v1/queues/{POOL}/claim-next", headers=rep)
        if r.status_code == 200:
            await client.post(f"{base}/api/v1/leads/{r.json()['id']}/release", headers=rep)
        return _answer(r, empty=(409,))

    return send


def accept_action(rep_tokens: list[str]) -> Action:
    """A rep, with their own token, lists their pending offers and accepts the oldest (the
    lead's broadcast went to every rep with a token, so reps race for it). No pending
    offer: `empty`. `409` (another rep took it first, it expired, the lead moved on) or
    `410`: `lost_race`, the documented answer to losing, not an error."""
    async def send(client: httpx.AsyncClient, base: str, i: int) -> Result:
        rep = {"Authorization": f"Bearer {rep_tokens[i % len(rep_tokens)]}"}
        r = await client.get(f"{base}/api/v1/me/offers",
                             params={"status": "pending", "limit": 50}, headers=rep)
        if r.status_code != 200:
            return _answer(r)
        pending = r.json()
        if not pending:
            return EMPTY, ""
        oldest = min(pending, key=lambda o: o["id"])
        r = await client.post(f"{base}/api/v1/offers/{oldest['id']}/accept", headers=rep)
        return _answer(r, lost=(409, 410))

    return send


@dataclass(frozen=True)
class Rates:
    """Per-second rates of one run. `intake` counts every lead; of those, `claim` per
    second go to the pool (one claim each) and `accept` per second are offered (one
    accept each), so the claims and accepts have work to find."""

    intake: float
    claim: float
    accept: float

    def streams(self) -> dict[str, float]:
        return {"intake": self.intake - self.claim - self.accept, "intake_pool": self.claim,
                "intake_offer": self.accept, "claim": self.claim, "accept": self.accept}


def actions_for(run_id: str, mix: Mix | None) -> dict[str, Action]:
    """Intake always; with pull queues and offers (`mix`), pooled and offered intake,
    claims and offer accepts by the reps of `mix` (also the offer's recipients)."""
    actions: dict[str, Action] = {"intake": intake_action(run_id)}
    if mix:
        actions |= {"intake_pool": intake_action(run_id, POOL),
                    "intake_offer": intake_action(run_id, OFFERED),
                    "claim": claim_action(mix.tokens), "accept": accept_action(mix.tokens)}
    return actions


def schedule(rates: dict[str, float], duration: float) -> list[tuple[float, str, int]]:
    """Open-loop due times (seconds from the start) of every action, merged in order:
    each action's i-th request is due at i / its rate."""
    due = [(i / rate, name, i) for name, rate in rates.items() if rate > 0
           for i in range(int(rate * duration))]
    return sorted(due)


async def offered_load(urls: list[str], token: str, rates: dict[str, float], duration: float,
                       actions: dict[str, Action]) -> Stats:
    rates = {name: rate for name, rate in rates.items() if name in actions}
    stats = Stats(rates, duration)
    bases = itertools.cycle(urls)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30,
                                 limits=limits) as client:
        start = time.perf_counter()

        async def one(i: int, due: float, base: str, name: str) -> None:
            sent = time.perf_counter()
            try:
                outcome, err = await actions[name](client, base, i)
            except httpx.HTTPError as exc:
                outcome, err = ERROR, type(exc).__name__
            done = time.perf_counter()
            stats.samples.append(Sample(name, outcome, done - due, done - sent, err))

        tasks = []
        for at, name, i in schedule(rates, duration):
            due = start + at
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due, next(bases), name)))
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


def run(urls: list[str], token: str, runs: list[Rates], duration: float,
        label: str, described: dict[str, Any], offer_timeout: str = "60s") -> dict[str, Any]:
    run_id = f"{label}-{random.randrange(10**9)}"
    mix = seed_mix_over_http(urls[0], token, offer_timeout=offer_timeout)
    results = []
    for step, rates in enumerate(runs):
        actions = actions_for(f"{run_id}-{step}", mix)  # fresh Idempotency-Keys per step
        stats = asyncio.run(offered_load(urls, token, rates.streams(), duration, actions))
        summary = stats.summary()
        results.append(summary)
        print(json.dumps(summary), flush=True)
    report = {"label": label, **described, "urls": len(urls), "offer_timeout": offer_timeout,
              "runs": results, "python": sys.version.split()[0],
              "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"load-{label}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out}")
    return report


def _share(value: str, intake: float) -> float:
    """`12.5` (per second) or `25%` (of the intake rate)."""
    if value.endswith("%"):
        return intake * float(value[:-1]) / 100
    return float(value)


def parse_rates(rate: str, claim: str, accept: str) -> list[Rates]:
    runs = []
    for r in rate.split(","):
        intake = float(r)
        one = Rates(intake, _share(claim, intake), _share(accept, intake))
        if min(one.intake, one.claim, one.accept) < 0 or one.claim + one.accept > intake:
            raise ValueError(f"at {intake}/s: claims + accepts ({one.claim} + {one.accept}) "
                             "must not exceed the intake rate (each needs a lead of its own)")
        runs.append(one)
    return runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", action="append", default=[],
                   help="an API base URL; repeat to alternate between several")
    p.add_argument("--token", default=None, help="admin token (with --url)")
    p.add_argument("--spawn", choices=["sqlite", "postgres"], default=None,
                   help="start a deployment here instead of --url")
    p.add_argument("--rate", default="40",
                   help="leads/s taken in (all sources); a comma list runs each in turn")
    p.add_argument("--claim-rate", default="25%",
                   help="claims/s (or a %% of --rate); as many leads/s go to the pool")
    p.add_argument("--accept-rate", default="25%",
                   help="offer accepts/s (or a %% of --rate); as many leads/s are offered")
    p.add_argument("--offer-timeout", default="60s", help="the offer rule's timeout")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per rate")
    p.add_argument("--label", default=None)
    args = p.parse_args(argv)
    try:
        runs = parse_rates(args.rate, args.claim_rate, args.accept_rate)
    except ValueError as exc:
        p.error(str(exc))
    if args.spawn:
        with tempfile.TemporaryDirectory(prefix="leadflow-load-") as tmp, \
                spawn(args.spawn, Path(tmp)) as (urls, token, described):
            run(urls, token, runs, args.duration, args.label or args.spawn, described,
                args.offer_timeout)
        return 0
    if not args.url or not args.token:
        p.error("give --spawn, or --url (one or more) and --token")
    run(args.url, args.token, runs, args.duration, args.label or "remote",
        {"deployment": "remote"}, args.offer_timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
