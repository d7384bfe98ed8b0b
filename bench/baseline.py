"""The baseline: a loop of single-row INSERT + COMMIT into SQLite, durable like leadflow.

Same settings as `leadflow.store.db` (WAL journal, synchronous=FULL, BEGIN IMMEDIATE), a
lead-shaped row with the same JSON payload, on the same disk: the best a one-commit-per-
lead design can do on this machine, and what the intake ratio is measured against.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from bench.stats import summary_ms

SCHEMA = """
CREATE TABLE leads (
    id INTEGER PRIMARY KEY,
    external_id TEXT UNIQUE,
    status TEXT NOT NULL,
    email TEXT,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL
)
"""


def measure_baseline(path: Path, lead_bodies: list[dict[str, Any]], rows: int) -> dict[str, Any]:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(SCHEMA)
        durations = []
        started = time.perf_counter()
        for i in range(rows):
            body = lead_bodies[i % len(lead_bodies)]
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO leads (external_id, status, email, data, created_at)"
                " VALUES (?, 'new', ?, ?, datetime('now'))",
                (f"baseline-{i}", body.get("email"), json.dumps(body)),
            )
            conn.execute("COMMIT")
            durations.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    return {
        "rows": rows,
        "seconds": round(elapsed, 3),
        "rows_per_s": round(rows / elapsed, 1),
        "commit": summary_ms(durations),
    }


class DiskProbe:
    """One durable single-row commit every `interval` seconds, in a thread, for as long as
    a measurement runs: the disk's own commit latency over the same seconds. A flush that
    stalls for 100 ms delays every lead waiting on it by as much, whatever leadflow does,
    so intake latency percentiles are read beside these."""

    def __init__(self, path: Path, interval: float = 0.02) -> None:
        self.path, self.interval = path, interval
        self.durations: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disk-probe", daemon=True)

    def __enter__(self) -> DiskProbe:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("CREATE TABLE probe (at REAL)")
            while not self._stop.wait(self.interval):
                t0 = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO probe VALUES (?)", (t0,))
                conn.execute("COMMIT")
                self.durations.append(time.perf_counter() - t0)
        finally:
            conn.close()

    def summary(self) -> dict[str, Any]:
        stalls = sum(d > 0.05 for d in self.durations)
        return summary_ms(self.durations) | {"over_50_ms": stalls}
