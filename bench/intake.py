"""(b) HTTP intake against a real `leadflow serve` process on SQLite.

Two runs on the same server:

- latency at a fixed offered rate (open loop): lead i is due at start + i/rate and its
  latency is counted from that due time, so a slow server cannot hide its queueing by
  slowing the client down (no coordinated omission);
- throughput flat out (closed loop): `concurrency` clients each send the next lead as soon
  as the previous one is answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.baseline import DiskProbe
from bench.http import Connection, HttpError
from bench.stats import summary_ms

REPO = Path(__file__).resolve().parent.parent
LEADS_PATH = "/api/v1/leads"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a process has used so far (Linux /proc; None elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in listing.read_text().split()]
        except OSError:
            continue
    return found


def tree_cpu_seconds(pid: int) -> tuple[float, float] | None:
    """CPU time used so far by a server process and every process under it (the intake
    writer, uvicorn workers), and the intake writer's share of it. None off Linux."""
    total = cpu_seconds(pid)
    if total is None:
        return None
    writer = 0.0
    pending = _children(pid)
    while pending:
        child = pending.pop()
        used = cpu_seconds(child) or 0.0
        total += used
        try:
            if b"intake-writer" in Path(f"/proc/{child}/cmdline").read_bytes():
                writer += used
        except OSError:
            pass
        pending += _children(child)
    return total, writer


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@contextmanager
def running_server(
    db_path: Path, token: str, log_path: Path, *options: str
) -> Iterator[Server]:
    """`leadflow serve [options]` on a free local port, with this database and admin token."""
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "LEADFLOW_DATABASE_URL": f"sqlite:///{db_path}",
        "LEADFLOW_ADMIN_TOKEN": token,
        "LEADFLOW_HOST": "127.0.0.1",
        "LEADFLOW_PORT": str(port),
        "LEADFLOW_LOG_LEVEL": "warning",  # no access log line per request
        # The per-caller intake limit protects a deployment from one runaway client; the
        # benchmark is that one client on purpose, measuring what the engine sustains.
        "LEADFLOW_RATE_LIMIT_INTAKE": "0",
    }
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "leadflow.cli.main", "serve", *options],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_healthy(url, proc, log_path)
            yield Server(url, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become healthy within 60 s")


OPEN_LOOP_CONNECTIONS = 64


async def _open_loop(
    url: str, token: str, bodies: list[dict[str, Any]], rate: float, drain_s: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    due_queue: asyncio.Queue[tuple[dict[str, Any], float]] = asyncio.Queue()
    results: list[tuple[float, int]] = []

    async def sender() -> None:
        conn = Connection(url, token)
        try:
            while True:
                body, due = await due_queue.get()
                try:
                    status, _ = await conn.post_json(LEADS_PATH, body)
                    results.append((loop.time() - due, status))
                except (OSError, asyncio.IncompleteReadError, HttpError):
                    results.append((loop.time() - due, 0))
                    await conn.close()
                finally:
                    due_queue.task_done()
        finally:
            await conn.close()

    senders = [asyncio.create_task(sender()) for _ in range(OPEN_LOOP_CONNECTIONS)]
    start = loop.time() + 0.05
    for i, body in enumerate(bodies):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        due_queue.put_nowait((body, due))
    # An overloaded server would take unbounded time to drain its backlog: give up after
    # `drain_s` and count what is still unanswered (the run then fails its target).
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(due_queue.join(), drain_s)
    elapsed = loop.time() - start
    for task in senders:
        task.cancel()
    await asyncio.gather(*senders, return_exceptions=True)
    report = _report(results, elapsed)
    unanswered = len(bodies) - len(results)
    report["errors"] += unanswered
    return report | {"offered_per_s": rate, "unanswered": unanswered}


async def _closed_loop(
    url: str, token: str, bodies: list[dict[str, Any]], concurrency: int, seconds: float
) -> dict[str, Any]:
    pending = iter(bodies)
    results: list[tuple[float, int]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def worker() -> None:
        conn = Connection(url, token)
        try:
            for body in pending:
                t0 = loop.time()
                try:
                    status, _ = await conn.post_json(LEADS_PATH, body)
                except (OSError, asyncio.IncompleteReadError, HttpError):
                    status = 0
                    await conn.close()
                results.append((loop.time() - t0, status))
                if loop.time() >= deadline:
                    return
        finally:
            await conn.close()

    start = loop.time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = loop.time() - start
    return _report(results, elapsed) | {"concurrency": concurrency}


def _report(results: list[tuple[float, int]], elapsed: float) -> dict[str, Any]:
    ok = [latency for latency, code in results if code == 201]
    return {
        "sent": len(results),
        "created": len(ok),
        "errors": len(results) - len(ok),
        "seconds": round(elapsed, 3),
        "rows_per_s": round(len(ok) / elapsed, 1) if elapsed > 0 else 0.0,
        "latency": summary_ms(ok),
    }


@contextmanager
def quiet_collector() -> Iterator[None]:
    """The load generator is not what is measured, but its pauses would count as server
    latency (lateness is measured from each lead's due time). By now this process holds
    everything the in-process decision runs built, and a full collection walks it all:
    freeze that, so the collector only looks at what the load generator itself makes."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def measure_intake(
    db_path: Path,
    token: str,
    bodies: list[dict[str, Any]],
    *,
    rate: float,
    latency_seconds: float,
    drain_seconds: float,
    throughput_seconds: float,
    concurrency: int,
    warmup: int = 20,
) -> dict[str, Any]:
    """Warm up, then latency at `rate`, then throughput flat out with the remaining leads."""
    at_rate_count = round(rate * latency_seconds)
    warm, at_rate = bodies[:warmup], bodies[warmup : warmup + at_rate_count]
    flat_out = bodies[warmup + at_rate_count :]
    with running_server(db_path, token, db_path.with_suffix(".log")) as server:
        url = server.url
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as c:
            for body in warm:
                c.post(LEADS_PATH, json=body).raise_for_status()
        with quiet_collector():
            with DiskProbe(db_path.with_name("disk-probe.db")) as probe:
                latency = asyncio.run(_open_loop(url, token, at_rate, rate, drain_seconds))
            latency["disk_commit"] = probe.summary()
            throughput = _flat_out(server, token, flat_out, concurrency, throughput_seconds)
    stored, decided = _stored(db_path)
    return {
        "outcomes": _outcomes(db_path),
        "latency_at_rate": latency,
        "throughput": throughput,
        "warmup_leads": len(warm),
        "stored_leads": stored,
        "stored_decisions": decided,
        "answered_leads": len(warm) + latency["created"] + throughput["created"],
    }


def measure_one_process(
    db_path: Path,
    token: str,
    bodies: list[dict[str, Any]],
    *,
    throughput_seconds: float,
    concurrency: int,
    warmup: int = 20,
    writer: bool = False,
) -> dict[str, Any]:
    """Throughput flat out alone. By default with the routing in the HTTP process
    (`--no-intake-writer`), as every SQLite server ran before the intake writer: the
    comparison for the same run; `writer`: as `leadflow serve` runs (another database)."""
    warm, rest = bodies[:warmup], bodies[warmup:]
    log_path = db_path.with_suffix(".log")
    flags = () if writer else ("--no-intake-writer",)
    with running_server(db_path, token, log_path, *flags) as server:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}
        ) as c:
            for body in warm:
                c.post(LEADS_PATH, json=body).raise_for_status()
        with quiet_collector():
            throughput = _flat_out(server, token, rest, concurrency, throughput_seconds)
    stored, decided = _stored(db_path)
    return throughput | {
        "stored_leads": stored,
        "stored_decisions": decided,
        "outcomes": _outcomes(db_path),
    }


def _flat_out(
    server: Server, token: str, bodies: list[dict[str, Any]], concurrency: int, seconds: float
) -> dict[str, Any]:
    before = tree_cpu_seconds(server.pid)
    throughput = asyncio.run(_closed_loop(server.url, token, bodies, concurrency, seconds))
    after = tree_cpu_seconds(server.pid)
    # The server's own CPU per lead does not depend on how busy the rest of the machine
    # is: 1000 / it is the rate one free core could sustain.
    created = throughput["created"]
    if before is not None and after is not None and created:
        per_lead = (after[0] - before[0]) * 1000 / created
        throughput["server_cpu_ms_per_lead"] = round(per_lead, 3)
        throughput["writer_cpu_ms_per_lead"] = round((after[1] - before[1]) * 1000 / created, 3)
        throughput["per_free_core_leads_per_s"] = round(1000 / per_lead, 1) if per_lead else None
    return throughput


def _outcomes(db_path: Path) -> dict[str, int]:
    """Stored leads by status: which decision the run measured (assigned or queued)."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT status, count(*) FROM leads GROUP BY status").fetchall()
    return {str(status): int(n) for status, n in rows}


def _stored(db_path: Path) -> tuple[int, int]:
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
        decided = conn.execute("SELECT count(*) FROM decisions").fetchone()[0]
    return int(stored), int(decided)
