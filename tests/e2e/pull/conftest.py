"""A real uvicorn server on a free port, on the parametrised database, with tokens."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from leadflow.api.app import create_app
from leadflow.config import Settings
from leadflow.services.auth import Role, create_token
from leadflow.services.context import Services
from tests.integration.pull.conftest import Pull, build_pull


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    pull: Pull
    base: str
    tokens: dict[str, str]

    def client(self, who: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=headers, timeout=30)


@pytest.fixture
def live(svc: Services, request: pytest.FixtureRequest) -> Iterator[Live]:
    pull = build_pull(svc)
    tokens = {
        "admin": create_token(svc, Role.ADMIN, name="admin")[0],
        "manager": create_token(svc, Role.MANAGER, name="Boss", rep_id=pull.manager.rep_id)[0],
    }
    for i, rep_id in enumerate(pull.reps):
        tokens[f"r{i}"] = create_token(svc, Role.REP, name=f"R{i}", rep_id=rep_id)[0]
    # Like `leadflow serve`: the app opens its own database and runs the timer loop.
    owned = request.node.get_closest_marker("server_timers") is not None
    settings = Settings(database_url=svc.db.url, run_timers=owned)
    app = create_app(settings, None if owned else svc)
    with serving(app) as base:
        yield Live(pull, base, tokens)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
