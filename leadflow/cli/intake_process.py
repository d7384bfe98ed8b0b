"""`leadflow serve`'s intake writer process on SQLite: started, watched, restarted, stopped.

See `leadflow.services.intake_writer` for why it exists. The HTTP processes find it
through `LEADFLOW_INTAKE_SOCKET`; while it is down they route leads themselves.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("leadflow.intake_writer")

SOCKET_ENV = "LEADFLOW_INTAKE_SOCKET"
READY_TIMEOUT_S = 30.0
RESTART_DELAY_S = 1.0


def wanted(database_url: str) -> bool:
    """A writer process only helps SQLite files (PostgreSQL has concurrent writers)."""
    if not database_url.startswith("sqlite"):
        return False
    path = database_url.split("///", 1)[-1]
    return bool(path) and path != ":memory:"


@contextlib.contextmanager
def running_writer() -> Iterator[str | None]:
    """Start the writer, export its socket path to the HTTP processes started within, and
    keep it running until the block ends. Yields the socket path (None if it never came up:
    the server then routes in its HTTP processes, as it did before)."""
    folder = Path(tempfile.mkdtemp(prefix="leadflow-intake-"))  # mode 0700: ours only
    path = folder / "intake.sock"
    stopping = threading.Event()
    current: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "leadflow.cli.main", "intake-writer", "--socket", str(path)]
        env = {**os.environ, "LEADFLOW_PARENT_PID": str(os.getpid())}
        # Its metrics are counted by the HTTP processes (see decision_metrics): it must not
        # add its own to the shared directory of `--workers N`.
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        proc = subprocess.Popen(cmd, env=env)
        current[:] = [proc]
        return proc

    def watch() -> None:
        while not stopping.is_set():
            code = current[0].wait()
            if stopping.is_set():
                return
            log.warning("intake writer exited (code %s); restarting it", code)
            time.sleep(RESTART_DELAY_S)
            if not stopping.is_set():
                start()

    first = start()
    ready = _wait_ready(path, first)
    if ready:
        os.environ[SOCKET_ENV] = str(path)
        threading.Thread(target=watch, name="intake-writer-watch", daemon=True).start()
    else:
        log.warning("the intake writer did not start; leads are routed in the HTTP process")
    try:
        yield str(path) if ready else None
    finally:
        stopping.set()
        os.environ.pop(SOCKET_ENV, None)
        for proc in current:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(path: Path, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as probe:
            probe.connect(str(path))
            return True
        time.sleep(0.05)
    return False
