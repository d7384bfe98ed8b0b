"""Real leadflow processes for end-to-end, crash and load tests: `leadflow serve` and
`leadflow worker` as child processes of this one, on a free port, with their output in
a file. `kill()` is a `kill -9` (no clean shutdown: what a crash looks like).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def leadflow_env(database_url: str, **extra: str) -> dict[str, str]:
    import leadflow

    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADFLOW_")}
    # The children import this very copy of leadflow, whatever is installed.
    root = str(Path(leadflow.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["LEADFLOW_DATABASE_URL"] = database_url
    env.update(extra)
    return env


@dataclass
class Process:
    """One `python -m leadflow.cli.main <args>` child; restartable."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leadflow.cli.main", *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches its children
        )
        log.close()
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no flush, no goodbye."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Server(Process):
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"server exited:\n{self.output()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout}s:\n{self.output()[-3000:]}")


def server(
    database_url: str, log_dir: Path, *, name: str = "serve", workers: int = 1, **env: str
) -> Server:
    port = free_port()
    args = ["serve", "--port", str(port)] + (["--workers", str(workers)] if workers > 1 else [])
    return Server(
        args=args,
        env=leadflow_env(database_url, **env),
        log_path=log_dir / f"{name}.log",
        port=port,
    )


def worker(database_url: str, log_dir: Path, *, name: str = "worker", **env: str) -> Process:
    return Process(
        args=["worker", "--interval", "0.2"],
        env=leadflow_env(database_url, **env),
        log_path=log_dir / f"{name}.log",
    )
