"""The role checks (async dependencies) still guard the intake endpoint, over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from leadflow.api.app import create_app
from leadflow.config import Settings
from leadflow.services.auth import Role, create_token
from leadflow.services.context import Services

ADMIN = "admin-secret-for-tests"


@pytest.fixture
def base_url(svc: Services) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings(admin_token=SecretStr(ADMIN)), svc)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def test_roles_on_lead_intake_and_listing(svc: Services, base_url: str) -> None:
    intake_token, _ = create_token(svc, Role.INTAKE, name="web form")
    lead = {"email": "a@prospect.example"}
    with httpx.Client(base_url=base_url) as client:
        assert client.post("/api/v1/leads", json=lead).status_code == 401
        bad = client.post("/api/v1/leads", json=lead, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        form = {"Authorization": f"Bearer {intake_token}"}
        created = client.post("/api/v1/leads", json=lead, headers=form)
        assert created.status_code == 201
        assert set(created.json()) == {"id", "status"}  # a web form learns nothing more
        assert client.get("/api/v1/leads", headers=form).status_code == 403
        admin = {"Authorization": f"Bearer {ADMIN}"}
        listed = client.get("/api/v1/leads", headers=admin)
        assert listed.status_code == 200 and len(listed.json()["items"]) == 1
