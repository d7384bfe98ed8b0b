"""Fuzz the whole API from its OpenAPI document (schemathesis) against a real server:
no answer is a 5xx, and every answer conforms to the document (status codes, content
types, bodies, headers). Bounded: a fixed number of examples per operation."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from leadflow.testing import processes
from leadflow.testing.seed import seed_over_http

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis

ADMIN = "fuzz-admin-token-0123456789abcdef"
EXAMPLES = int(os.environ.get("LEADFLOW_FUZZ_EXAMPLES", "20"))
pytestmark = pytest.mark.slow

#: A JSON schema cannot say "a real phone number" or "an existing team": domain checks
#: refuse some schema-valid inputs with 422, which is right, so that check does not apply.
NOT_APPLICABLE = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[processes.Server]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    srv = processes.server(
        f"sqlite:///{root / 'fuzz.db'}", root,
        LEADFLOW_ADMIN_TOKEN=ADMIN, LEADFLOW_RATE_LIMIT_INTAKE="0", LEADFLOW_LOG_LEVEL="warning",
    )
    srv.start()
    try:
        srv.wait_ready()
        _seed(srv.url)
        yield srv
    finally:
        srv.stop()


def _seed(url: str) -> None:
    """Something to find: ids 1… exist, so generated ids sometimes hit real rows."""
    seed_over_http(url, ADMIN, reps=2)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        c.post("/api/v1/leads", json={"company": {"country": "FR"}}).raise_for_status()


def test_no_5xx_and_answers_conform(server: processes.Server) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {ADMIN}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            try:
                case.call_and_validate(base_url=server.url, headers=headers,
                                       excluded_checks=NOT_APPLICABLE)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                # keep going: collect every failing operation, not only the first
                failures.append(f"{case.operation.label}: {str(exc)[:1500]}")

        run()
    assert server.running, server.output()[-3000:]
    assert not failures, "\n\n".join([*dict.fromkeys(failures), "server log:",
                                         server.output()[-4000:]])


