"""`leadflow serve --workers 2`: two processes on one port; whichever answers `/metrics`
reports the events of both (Prometheus multiprocess mode)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from leadflow.testing import processes
from tests.ops.conftest import ADMIN_TOKEN, bearer
from tests.ops.test_observability import sample

pytestmark = pytest.mark.slow


def test_metrics_summed_across_worker_processes(tmp_path: Path) -> None:
    server = processes.server(
        f"sqlite:///{tmp_path / 'lf.db'}", tmp_path, workers=2,
        LEADFLOW_ADMIN_TOKEN=ADMIN_TOKEN, LEADFLOW_RATE_LIMIT_INTAKE="0",
        LEADFLOW_LOG_LEVEL="warning", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )
    server.start()
    try:
        server.wait_ready()
        # concurrent new connections, so the kernel spreads them over both processes

        def post(_: int) -> int:
            with httpx.Client(base_url=server.url, headers=bearer(ADMIN_TOKEN)) as c:
                return c.post("/api/v1/leads", json={"company": {"country": "US"}}).status_code

        sent = 0
        for _ in range(4):  # the kernel's choice is not guaranteed: a few batches at most
            with ThreadPoolExecutor(max_workers=10) as pool:
                assert list(pool.map(post, range(30))) == [201] * 30
            sent += 30
            if len(_writers(tmp_path)) == 2:
                break
        pages = []
        for _ in range(6):
            with httpx.Client(base_url=server.url) as c:
                pages.append(c.get("/metrics").text)
        # both processes served requests: each writes its own counter file
        assert len(_writers(tmp_path)) == 2
    finally:
        server.stop()
    for page in pages:
        # every process's answer counts all decisions, whichever process made them
        assert sample(page, "leadflow_decisions_total", kind="route", outcome="queued") == sent
        assert sample(page, "leadflow_http_request_duration_seconds_count", method="POST",
                      route="/api/v1/leads", status="201") == sent
        assert sample(page, "leadflow_queue_depth", queue="unassigned") == sent


def _writers(root: Path) -> set[str]:
    """Process ids that wrote metrics: one counter file per process."""
    return {f.stem.rsplit("_", 1)[-1] for f in (root / "metrics").glob("counter_*.db")}
