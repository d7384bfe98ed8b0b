"""Crash harness: real `leadflow serve` and `leadflow worker` processes under continuous
intake, killed with SIGKILL at random moments and restarted (and optionally the
PostgreSQL server crashed and restarted); then the promises are checked:

- every lead that got a 2xx exists, under the id the client was given;
- retries with the same Idempotency-Key never made a second lead;
- every lead has exactly one routing outcome (one `route` decision);
- with pull queues, a third of the leads wait in a pool that reps claim from during the
  chaos: no lead was answered `200` to two claims, and each claimed lead is owned by the
  rep whose claim succeeded (one owner per lead);
- another third are broadcast as offers to the reps with tokens, who accept them through
  the chaos with their own tokens: every campaign has at most one winner, and every accept
  answered `200` is its campaign's winner and owns the lead;
- once the workers have drained, every due timer has fired (offer expiries, pull age
  steps: the pool auto-assigns leads left unclaimed) and none twice;
- no outbox message is lost: every event the stored state implies has exactly one
  message per sink, every message is delivered after the drain, and each one the outbox
  calls delivered reached the real webhook receiver or SMTP server (duplicates allowed);
- `leadflow check` passes (owners, counters, caps, offers, timers, outbox).

Used small in the test suite (tests/crash) and large in `bench/crash.py`.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadflow.store.db import Database
from leadflow.store.models import DecisionRow, LeadRow
from leadflow.store.offers_models import OfferRow
from leadflow.store.pull_models import PullTimerRow
from leadflow.testing import processes
from leadflow.testing.crash_checks import (
    Accept,
    Delivery,
    due_work,
    offer_problems,
    outbox_problems,
    timer_problems,
)
from leadflow.testing.postgres import PostgresServer
from leadflow.testing.receivers import HttpReceiver, SmtpReceiver, http_receiver, smtp_receiver
from leadflow.testing.seed import COUNTRIES, OFFERED, POOL, Mix, seed_mix_over_http, seed_over_http

ADMIN = "crash-admin-token-0123456789abcdef"
MAX_ATTEMPTS = 8
OUTBOX_ENV = {
    # A message claimed by a worker killed mid-send is due again after the lease: short
    # here so the drain does not wait a minute; fast retries for the failing receiver.
    "LEADFLOW_OUTBOX_LEASE_SECONDS": "3",
    "LEADFLOW_OUTBOX_BACKOFF_SECONDS": "0.5",
    "LEADFLOW_OUTBOX_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
}


@dataclass
class CrashConfig:
    servers: int = 2
    workers: int = 1
    clients: int = 4
    duration: float = 15.0
    kill_every: tuple[float, float] = (1.0, 3.0)
    restart_postgres_at: float | None = None  # seconds into the run
    reps: int = 6
    seed: int = 1
    offer_timeout: str = "5s"  # short: some offers expire during the run (timers fire)
    auto_assign_minutes: float = 0.1  # pooled leads unclaimed after 6 s are auto-assigned
    accepters: int = 2  # threads of reps accepting offers (they race each other)
    webhook_failures: int = 5  # the receiver's first answers are 500s: retries happen
    drain_timeout: float = 90.0  # seconds to wait for the workers to finish what is due


@dataclass
class CrashResult:
    accepted: dict[str, int] = field(default_factory=dict)  # key -> lead id answered
    claims: list[tuple[int, int]] = field(default_factory=list)  # (lead id, rep id) got 200
    accepts: list[Accept] = field(default_factory=list)  # offer accepts answered 200
    lost_races: int = 0  # accepts answered 409 (taken, expired, moved on)
    offers: dict[str, int] = field(default_factory=dict)  # offers by final status
    timers: dict[str, int] = field(default_factory=dict)  # timers fired, per kind
    outbox: dict[str, Any] = field(default_factory=dict)
    drain_s: float = 0.0
    attempts: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # why a try did not get a 2xx
    kills: Counter[str] = field(default_factory=Counter)
    postgres_restarts: int = 0
    problems: list[str] = field(default_factory=list)  # broken promises, found afterwards
    check_output: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "accepted": len(self.accepted),
            "attempts": self.attempts,
            "claims": len(self.claims),
            "accepts": len(self.accepts),
            "lost_races": self.lost_races,
            "offers": self.offers,
            "timers_fired": self.timers,
            "outbox": self.outbox,
            "drain_s": round(self.drain_s, 1),
            "failed_tries": dict(self.failures),
            "kills": dict(self.kills),
            "postgres_restarts": self.postgres_restarts,
            "problems": self.problems[:50],
        }


class CrashRun:
    def __init__(
        self,
        database_url: str,
        log_dir: Path,
        config: CrashConfig,
        postgres: PostgresServer | None = None,
    ) -> None:
        self.url = database_url
        self.log_dir = log_dir
        self.cfg = config
        self.pg = postgres
        self.rng = random.Random(config.seed)
        self.servers: list[processes.Server] = []
        self.workers: list[processes.Process] = []
        self.result = CrashResult()
        self.pending: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.rep_tokens: list[str] = []
        self.mix: Mix | None = None
        self.webhooks: HttpReceiver | None = None
        self.mailbox: SmtpReceiver | None = None

    def _processes(self, smtp_port: int) -> None:
        env = {
            "LEADFLOW_ADMIN_TOKEN": ADMIN,
            "LEADFLOW_RATE_LIMIT_INTAKE": "0",
            "LEADFLOW_RATE_LIMIT_CLAIM": "0",
            "LEADFLOW_LOG_LEVEL": "warning",
            "LEADFLOW_SMTP_HOST": "127.0.0.1",
            "LEADFLOW_SMTP_PORT": str(smtp_port),
            **OUTBOX_ENV,
        }
        self.servers = [
            processes.server(self.url, self.log_dir, name=f"serve{i}", **env)
            for i in range(self.cfg.servers)
        ]
        self.workers = [
            processes.worker(self.url, self.log_dir, name=f"worker{i}", **env)
            for i in range(self.cfg.workers)
        ]

    # ------------------------------------------------------------------ run

    def run(self) -> CrashResult:
        failures = self.cfg.webhook_failures
        with http_receiver(failures=failures) as hooks, smtp_receiver() as mailbox:
            self.webhooks, self.mailbox = hooks, mailbox
            self._processes(mailbox.port)
            for p in [*self.servers, *self.workers]:
                p.start()
            try:
                for s in self.servers:
                    s.wait_ready()
                self._seed()
                self._chaos_run()
                self._settle()
                self._drain()
                self._verify()
            finally:
                for p in [*self.servers, *self.workers]:
                    p.stop()
        return self.result

    def _chaos_run(self) -> None:
        clients = [
            threading.Thread(target=self._client, args=(i,), daemon=True)
            for i in range(self.cfg.clients)
        ]
        if self.rep_tokens:
            clients.append(threading.Thread(target=self._claimer, daemon=True))
            clients += [
                threading.Thread(target=self._accepter, args=(i,), daemon=True)
                for i in range(self.cfg.accepters)
            ]
        chaos = threading.Thread(target=self._chaos, daemon=True)
        for t in [*clients, chaos]:
            t.start()
        time.sleep(self.cfg.duration)
        self._stop.set()
        for t in [*clients, chaos]:
            t.join(timeout=120)

    def _seed(self) -> None:
        url = self.servers[0].url
        seed_over_http(url, ADMIN, reps=self.cfg.reps, max_open=10_000)
        assert self.webhooks is not None
        with httpx.Client(base_url=url, timeout=30) as c:
            c.post(
                "/api/v1/webhooks",
                headers={"Authorization": f"Bearer {ADMIN}"},
                json={"name": "crm", "kind": "webhook", "url": self.webhooks.url},
            ).raise_for_status()
            self.mix = seed_mix_over_http(
                url,
                ADMIN,
                offer_timeout=self.cfg.offer_timeout,
                offer_rounds=2,
                auto_assign_minutes=self.cfg.auto_assign_minutes,
            )
            for token in self.mix.tokens if self.mix else []:  # offers also by e-mail
                c.put(
                    "/api/v1/me/notifications",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"channels": {"offer.made": ["inapp", "email"]}},
                ).raise_for_status()
        self.rep_tokens = self.mix.tokens if self.mix else []

    def _lead(self, rng: random.Random) -> dict[str, Any]:
        n = rng.randrange(1_000_000)
        lead: dict[str, Any] = {
            "email": f"p{n}@prospect{n % 97}.example",
            "company": {"name": f"Prospect {n}", "country": rng.choice(COUNTRIES)},
        }
        pick = rng.random()
        if self.rep_tokens and pick < 1 / 3:
            lead["source"] = POOL  # waits in the pull queue for the claimer
        elif self.rep_tokens and pick < 2 / 3:
            lead["source"] = OFFERED  # broadcast to the reps with tokens
        return lead

    def _accepter(self, index: int) -> None:
        """Reps accepting their pending offers through the chaos (picking at random, so
        two reps often go for the same lead); a 200 is a promise of ownership."""
        rng = random.Random(self.cfg.seed * 104729 + index)
        with httpx.Client(timeout=10) as c:
            while not self._stop.is_set():
                server = rng.choice(self.servers)
                k = rng.randrange(len(self.rep_tokens))
                rep = {"Authorization": f"Bearer {self.rep_tokens[k]}"}
                try:
                    r = c.get(
                        f"{server.url}/api/v1/me/offers",
                        headers=rep,
                        params={"status": "pending", "limit": 50},
                    )
                    pending = r.json() if r.status_code == 200 else []
                    if not pending:
                        time.sleep(0.2)
                        continue
                    offer = rng.choice(pending)
                    r = c.post(f"{server.url}/api/v1/offers/{offer['id']}/accept", headers=rep)
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                assert self.mix is not None
                with self._lock:
                    if r.status_code == 200:
                        self.result.accepts.append(
                            Accept(offer["id"], self.mix.rep_ids[k], offer["lead"]["id"])
                        )
                    elif r.status_code in (409, 410):
                        self.result.lost_races += 1
                    else:
                        self.result.failures[f"accept HTTP {r.status_code}"] += 1
                time.sleep(rng.uniform(0.1, 0.6))  # slow enough that some offers expire

    def _claimer(self) -> None:
        """Reps claiming from the pool through the chaos; a 200 is a promise of ownership."""
        rng = random.Random(self.cfg.seed * 7919)
        with httpx.Client(timeout=10) as c:
            while not self._stop.is_set():
                server = rng.choice(self.servers)
                token = rng.choice(self.rep_tokens)
                try:
                    r = c.post(
                        f"{server.url}/api/v1/queues/{POOL}/claim-next",
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                if r.status_code == 200:
                    lead = r.json()
                    with self._lock:
                        self.result.claims.append((lead["id"], lead["owner_rep_id"]))
                else:
                    time.sleep(0.05)  # empty pool (409) or a server going down

    def _client(self, index: int) -> None:
        rng = random.Random(self.cfg.seed * 1000 + index)
        h = {"Authorization": f"Bearer {ADMIN}"}
        n = 0
        with httpx.Client(headers=h, timeout=10) as c:
            while not self._stop.is_set():
                key = f"c{index}-{n}"
                body = self._lead(rng)
                # one logical lead, retried with its key until some server answers 2xx
                while not self._send(c, key, body, rng):
                    if self._stop.is_set():
                        with self._lock:
                            self.pending[key] = body  # re-sent once everything is back up
                        return
                    time.sleep(0.05)
                n += 1

    def _send(self, c: httpx.Client, key: str, body: dict[str, Any], rng: random.Random) -> bool:
        # what a load balancer does: any server, and a failed try goes to a random one
        server = rng.choice(self.servers)
        with self._lock:
            self.result.attempts += 1
        try:
            r = c.post(f"{server.url}/api/v1/leads", json=body, headers={"Idempotency-Key": key})
        except httpx.HTTPError as exc:
            self._failed(type(exc).__name__)
            return False
        if r.status_code in (200, 201):
            self._accepted(key, r.json()["id"])
            return True
        self._failed(f"HTTP {r.status_code}")
        return False

    def _accepted(self, key: str, lead_id: int) -> None:
        with self._lock:
            first = self.result.accepted.setdefault(key, lead_id)
            if first != lead_id:
                self.result.problems.append(f"key {key}: answered lead {first}, then {lead_id}")

    def _failed(self, why: str) -> None:
        with self._lock:
            self.result.failures[why] += 1

    def _chaos(self) -> None:
        started = time.monotonic()
        pg_done = False
        victims: list[processes.Process] = [*self.servers, *self.workers]
        # The first kills take one of each kind (in a random order), so even a short run
        # crashes an API process and a worker; after that, anyone at random.
        first = [self.rng.choice(group) for group in (self.servers, self.workers) if group]
        self.rng.shuffle(first)
        while not self._stop.wait(self.rng.uniform(*self.cfg.kill_every)):
            at = self.cfg.restart_postgres_at
            if self.pg and at is not None and not pg_done and time.monotonic() - started >= at:
                self.pg.restart()
                pg_done = True
                self.result.postgres_restarts += 1
                continue
            victim = first.pop() if first else self.rng.choice(victims)
            victim.kill()
            self.result.kills["serve" if victim in self.servers else "worker"] += 1
            victim.start()  # not waiting for it: the next kill may hit it while it boots

    # ------------------------------------------------------------------ afterwards

    def _settle(self) -> None:
        """Bring every process back, then re-send every lead whose client never heard a
        2xx (the client's retry after an outage): each must now get exactly one lead."""
        for p in [*self.servers, *self.workers]:
            if not p.running:
                p.start()
        for s in self.servers:
            s.wait_ready()
        rng = random.Random(self.cfg.seed)
        with httpx.Client(headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30) as c:
            for key, body in self.pending.items():
                for _ in range(20):
                    if self._send(c, key, body, rng):
                        break
                    time.sleep(0.5)
                else:
                    self.result.problems.append(f"key {key}: never accepted after the run")

    def _drain(self) -> None:
        """Let the (restarted) workers finish everything that is due: offers run out
        (their timeouts), age steps, outbox deliveries (a killed sender's lease ends)."""
        db = Database(self.url)
        started = time.monotonic()
        left: dict[str, int] = {}
        try:
            while time.monotonic() - started < self.cfg.drain_timeout:
                with db.read() as s:
                    left = due_work(s, datetime.now(UTC))
                if not any(left.values()):
                    break
                time.sleep(0.5)
        finally:
            db.dispose()
        self.result.drain_s = time.monotonic() - started
        if any(left.values()):
            self.result.problems.append(f"not drained after {self.cfg.drain_timeout}s: {left}")

    def _verify_claims(self, owners: dict[int, int | None]) -> None:
        """One owner per lead: never two successful claims of a lead (nobody releases
        here, and a lease outlives the run), and the owner is the rep who claimed it."""
        by_lead: dict[int, list[int]] = {}
        for lead_id, rep_id in self.result.claims:
            by_lead.setdefault(lead_id, []).append(rep_id)
        for lead_id, reps in by_lead.items():
            if len(reps) > 1:
                self.result.problems.append(f"lead {lead_id}: claimed by reps {reps}")
            elif owners.get(lead_id) != reps[0]:
                self.result.problems.append(
                    f"lead {lead_id}: claimed by rep {reps[0]}, owned by {owners.get(lead_id)}"
                )

    def _verify_offers_timers_outbox(self, s: Session) -> None:
        problems = self.result.problems
        problems += offer_problems(s, self.result.accepts)
        problems += timer_problems(s, datetime.now(UTC))
        assert self.webhooks is not None and self.mailbox is not None
        received = Delivery(
            Counter(
                next((v for k, v in r.headers.items() if k.lower() == "x-leadflow-id"), "")
                for r in self.webhooks.requests
            ),
            Counter(str(m["X-Leadflow-Id"]) for m in self.mailbox.messages),
        )
        email_reps = set(self.mix.rep_ids) if self.mix else set()
        lost, self.result.outbox = outbox_problems(s, received, MAX_ATTEMPTS, email_reps)
        problems += lost
        self.result.offers = dict(Counter(s.scalars(select(OfferRow.status))))
        fired = Counter(
            s.scalars(select(PullTimerRow.kind).where(PullTimerRow.done_at.is_not(None)))
        )
        self.result.timers = {
            **{f"pull {k}": n for k, n in fired.items()},
            "offer expiries": self.result.offers.get("expired", 0),
        }

    def _verify(self) -> None:
        db = Database(self.url)
        try:
            with db.read() as s:
                leads = {k: i for k, i in s.execute(select(LeadRow.idempotency_key, LeadRow.id))}
                total = s.scalar(select(func.count()).select_from(LeadRow)) or 0
                routes = Counter(
                    lead_id
                    for (lead_id,) in s.execute(
                        select(DecisionRow.lead_id).where(DecisionRow.kind == "route")
                    )
                )
                claimed = {lead_id for lead_id, _ in self.result.claims}
                owners: dict[int, int | None] = {
                    lead_id: owner
                    for lead_id, owner in s.execute(
                        select(LeadRow.id, LeadRow.owner_rep_id).where(LeadRow.id.in_(claimed))
                    )
                }
                self._verify_offers_timers_outbox(s)
        finally:
            db.dispose()
        problems = self.result.problems
        self._verify_claims(owners)
        for key, lead_id in self.result.accepted.items():
            if key not in leads:
                problems.append(f"key {key}: got a 2xx (lead {lead_id}) but no lead is stored")
            elif leads[key] != lead_id:
                problems.append(f"key {key}: answered lead {lead_id}, stored as {leads[key]}")
        if total != len(leads):
            problems.append(f"{total - len(leads)} lead(s) without an idempotency key")
        for key, lead_id in leads.items():
            if routes[lead_id] != 1:
                problems.append(f"lead {lead_id} ({key}): {routes[lead_id]} route decisions")
        check = subprocess.run(
            [sys.executable, "-m", "leadflow.cli.main", "check", "--timer-grace", "30"],
            env=processes.leadflow_env(self.url),
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.result.check_output = check.stdout + check.stderr
        if check.returncode != 0:
            problems.append(f"leadflow check failed:\n{self.result.check_output}")
