"""Helpers for lifecycle tests: a small organisation, a rulebook with a lifecycle section."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from leadflow.api.app import create_app
from leadflow.config import Settings
from leadflow.schemas import LeadIn, RepIn, TeamIn
from leadflow.services import org, routing, rulebooks
from leadflow.services.auth import Role, create_token
from leadflow.services.context import Services
from leadflow.testing.factories import ensure_queues, queues_named


def rulebook(lifecycle: dict[str, Any] | None = None, **extra: Any) -> str:
    doc: dict[str, Any] = {
        "rules": [
            {
                "name": "sales",
                "when": {"company.country": {"in": ["FR", "BE", "DE"]}},
                "assign": {"team": "sales", "method": "round_robin"},
            }
        ],
        "fallback": {"queue": "unassigned"},
        **extra,
    }
    if lifecycle is not None:
        doc["lifecycle"] = lifecycle
    return yaml.safe_dump(doc)


def make_org(
    svc: Services, reps: int = 3, *, manager: bool = False, **rep_fields: Any
) -> list[int]:
    """A `sales` team of `reps` reps (r0…), optionally managed by an extra rep `boss`."""
    org.create_team(svc, TeamIn(name="sales"))
    ids = [
        org.create_rep(
            svc, RepIn(name=f"R{i}", email=f"r{i}@corp.example", teams=["sales"], **rep_fields)
        )["id"]
        for i in range(reps)
    ]
    if manager:
        boss = org.create_rep(svc, RepIn(name="Boss", email="boss@corp.example"))["id"]
        from leadflow.store.models import TeamRow

        with svc.db.write() as s:
            team = s.query(TeamRow).filter_by(name="sales").one()
            team.manager_rep_id = boss
        ids.append(boss)
    return ids


def add_lead(svc: Services, **fields: Any) -> dict[str, Any]:
    fields.setdefault("company", {"country": "FR"})
    view, _ = routing.intake(svc, LeadIn.model_validate(fields))
    return view


def activate(svc: Services, lifecycle: dict[str, Any] | None = None, **extra: Any) -> None:
    text = rulebook(lifecycle, **extra)
    ensure_queues(svc, queues_named(yaml.safe_load(text)) - {"unassigned"})
    rulebooks.save(svc, text)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def api(svc: Services) -> Iterator[httpx.Client]:
    """A real uvicorn server on 127.0.0.1 and an admin client talking HTTP to it."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(), svc),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    token, _ = create_token(svc, Role.ADMIN, name="test admin")
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client
    server.should_exit = True
    thread.join(timeout=10)


def rep_client(api: httpx.Client, svc: Services, rep_id: int) -> httpx.Client:
    token, _ = create_token(svc, Role.REP, name=f"rep {rep_id}", rep_id=rep_id)
    return httpx.Client(base_url=api.base_url, headers={"Authorization": f"Bearer {token}"})
