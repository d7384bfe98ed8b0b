"""A real leadflow server in a subprocess, on a free port and a temporary SQLite file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "e2e-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """`python -m leadflow.cli.main serve` on one database; can be killed and restarted."""

    directory: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.directory / 'e2e.db'}"

    @property
    def log(self) -> Path:
        # A file, not a pipe: a chatty server never blocks on a full pipe buffer.
        return self.directory / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "LEADFLOW_DATABASE_URL": self.database_url,
            "LEADFLOW_ADMIN_TOKEN": ADMIN_TOKEN,
            "LEADFLOW_HOST": "127.0.0.1",
            "LEADFLOW_PORT": str(self.port),
            "LEADFLOW_LOG_LEVEL": "warning",
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "leadflow.cli.main", "serve"],
                cwd=ROOT,  # this checkout's package, not another installed copy
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}: {self.log.read_text()}"
                )
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not answer /api/v1/health within 60 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, like a power cut for the process."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=30,
        )


def _running(directory: Path) -> Iterator[Server]:
    srv = Server(directory)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server shared by a module's tests (starting one takes seconds)."""
    yield from _running(tmp_path_factory.mktemp("e2e"))


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    """A server of the test's own, for tests that kill it or need an empty database."""
    yield from _running(tmp_path)
