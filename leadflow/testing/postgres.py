"""A throwaway PostgreSQL server for tests: initdb into a temp dir, start on a free port.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user
(Debian's package creates it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CANDIDATE_BIN_DIRS = [
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
]


def _bin(name: str) -> str | None:
    for d in CANDIDATE_BIN_DIRS:
        p = Path(d) / name
        if p.exists():
            return str(p)
    return shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    datadir: Path
    port: int
    user: str | None
    options: str = ""

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def restart(self) -> None:
        """Stop as a crash would (`immediate`: no checkpoint, clients cut off) and start
        again on the same port: PostgreSQL recovers from its WAL."""
        pg_ctl = _bin("pg_ctl")
        assert pg_ctl
        _run([pg_ctl, "-D", str(self.datadir), "-m", "immediate", "stop"], self.user, check=False)
        _run(
            [pg_ctl, "-D", str(self.datadir), "-o", self.options, "-w", "-l",
             str(self.datadir / "log"), "start"],
            self.user,
        )

    def stop(self) -> None:
        pg_ctl = _bin("pg_ctl")
        if pg_ctl:
            _run(
                [pg_ctl, "-D", str(self.datadir), "-m", "immediate", "stop"], self.user, check=False
            )
        shutil.rmtree(self.datadir, ignore_errors=True)


def _run(cmd: list[str], user: str | None, check: bool = True) -> None:
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    subprocess.run(cmd, check=check, capture_output=True, timeout=120)


def start(*, durable: bool = False) -> PostgresServer | None:
    """Start a server, or None when PostgreSQL is not installed here.

    `durable`: commits are in the WAL before they are acknowledged (synchronous_commit=on),
    so a crash of the server loses nothing acknowledged; for crash tests. Default: fast."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        return None
    user = "postgres" if os.geteuid() == 0 else None
    datadir = Path(tempfile.mkdtemp(prefix="leadflow-pg-"))
    if user:
        shutil.chown(datadir, user)
    port = _free_port()
    _run(
        [initdb, "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        user,
    )
    opts = (
        f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off "
        f"-c max_connections=200 -c synchronous_commit={'on' if durable else 'off'}"
    )
    _run([pg_ctl, "-D", str(datadir), "-o", opts, "-w", "-l", str(datadir / "log"), "start"], user)
    server = PostgresServer(datadir, port, user, opts)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("PostgreSQL did not start")


def create_database(server_url: str, name: str) -> str:
    """(Re)create an empty database `name` on the server of `server_url`; its URL."""
    from sqlalchemy import create_engine, text

    base = server_url.rpartition("/")[0]
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            c.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    return f"{base}/{name}"
