"""Structured logs of a real server run, and no secret in them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from leadflow.observability.logs import JsonFormatter, redact
from leadflow.testing import processes
from tests.ops.conftest import ADMIN_TOKEN, RULEBOOK, bearer


class TestRedact:
    @pytest.mark.parametrize(
        "text",
        [
            "auth with lf_AbCdEf0123456789_-xyzXYZ failed",
            "Authorization: Bearer sometoken123",
            "headers={'authorization': 'Bearer abc.def'}",
            "password=hunter2secret&x=1",
            "postgresql+psycopg://leadflow:s3cretpw@db.internal:5432/leadflow",
        ],
    )
    def test_secret_shapes_scrubbed(self, text: str) -> None:
        out = redact(text)
        for secret in ("AbCdEf0123456789", "sometoken123", "abc.def", "hunter2secret", "s3cretpw"):
            assert secret not in out

    def test_traceback_text_is_scrubbed_too(self) -> None:
        import logging
        import sys

        try:
            raise RuntimeError("token lf_Zz9Zz9Zz9Zz9Zz9Zz9Zz9 rejected")
        except RuntimeError:
            record = logging.LogRecord("x", logging.ERROR, "f", 1, "boom", None, sys.exc_info())
        line = JsonFormatter().format(record)
        assert "Zz9Zz9Zz9" not in line
        assert json.loads(line)["exception"]


def test_full_run_logs_are_json_and_hold_no_secret(tmp_path: Path) -> None:
    """Drive a real server through setup, intake, login, failures and revocation with
    DEBUG logs on; then no token (admin, created, or mistyped) appears in its output."""
    server = processes.server(
        f"sqlite:///{tmp_path / 'lf.db'}",
        tmp_path,
        LEADFLOW_ADMIN_TOKEN=ADMIN_TOKEN,
        LEADFLOW_LOG_JSON="1",
        LEADFLOW_LOG_LEVEL="debug",
    )
    server.start()
    secrets = [ADMIN_TOKEN]
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=10) as c:
            admin = bearer(ADMIN_TOKEN)
            r = c.post("/api/v1/teams", headers=admin, json={"name": "france"})
            assert r.status_code == 201
            rep = c.post("/api/v1/reps", headers=admin,
                         json={"name": "A", "email": "a@corp.example", "teams": ["france"]}).json()
            r = c.put("/api/v1/rulebook", headers={**admin, "Content-Type": "application/yaml"},
                      content=RULEBOOK)
            assert r.status_code == 200
            made = {}
            for role in ("manager", "rep", "intake"):
                body = {"role": role, "rep_id": rep["id"] if role == "rep" else None}
                made[role] = c.post("/api/v1/tokens", headers=admin, json=body).json()
                secrets.append(made[role]["token"])
            for n in range(3):
                r = c.post("/api/v1/leads", headers={**bearer(made["intake"]["token"]),
                                                     "Idempotency-Key": f"k{n}"},
                           json={"email": f"p{n}@x.example", "company": {"country": "FR"}})
                assert r.status_code == 201
            assert c.get("/api/v1/leads", headers=bearer(made["rep"]["token"])).status_code == 200
            # web login: the token travels in a form body and then a cookie
            csrf = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
            assert csrf is not None  # the sign-in form's CSRF token, as a browser sends it
            r = c.post("/login/token", data={"csrf": csrf[1], "token": made["manager"]["token"]})
            assert r.status_code == 303
            assert c.get("/", follow_redirects=True).status_code == 200  # home by role
            c.cookies.clear()
            # mistakes a client makes with secrets: wrong token, token in the query string
            wrong = "lf_" + "W" * 43
            secrets.append(wrong)
            assert c.get("/api/v1/leads", headers=bearer(wrong)).status_code == 401
            assert c.get(f"/api/v1/leads?token={wrong}").status_code == 401
            r = c.post(f"/api/v1/tokens/{made['rep']['id']}/revoke", headers=admin)
            assert r.status_code == 200
            assert c.get("/api/v1/leads", headers=bearer(made["rep"]["token"])).status_code == 401
    finally:
        server.stop()
    output = server.output()
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) > 20
    access = []
    for line in lines:
        entry = json.loads(line)  # every line is one JSON object
        assert {"ts", "level", "logger", "message"} <= entry.keys()
        if entry["logger"] == "leadflow.access":
            access.append(entry)
    assert len(access) >= 15
    assert all(len(e["request_id"]) == 32 and e["duration_ms"] >= 0 for e in access)
    assert {"route": "/api/v1/leads", "status": 201} in [
        {"route": e["route"], "status": e["status"]} for e in access
    ]
    for secret in secrets:
        assert secret not in output
        assert secret[3:20] not in output  # not even a recognisable piece


def test_worker_logs_json_too(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = processes.leadflow_env(f"sqlite:///{tmp_path / 'w.db'}", LEADFLOW_LOG_JSON="1")
    done = subprocess.run([sys.executable, "-m", "leadflow.cli.main", "worker", "--once"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert any(e["logger"] == "leadflow.worker" and e["message"] == "worker started"
               for e in entries)
