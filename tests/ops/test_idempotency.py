"""Idempotent intake under concurrent retries: the same external_id or Idempotency-Key
sent by many clients at once makes one lead, and every client is told its id."""

from __future__ import annotations

import threading

import pytest

from leadflow.schemas import LeadIn
from leadflow.services import routing
from leadflow.services.context import Services
from leadflow.services.invariants import check_database
from tests.ops.conftest import World

CLIENTS = 8


def _race(svc: Services, make: dict[str, str | None]) -> list[tuple[int, bool]]:
    barrier = threading.Barrier(CLIENTS)
    answers: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        try:
            barrier.wait()
            view, created = routing.intake(
                svc,
                LeadIn(external_id=make["external_id"], company={"country": "FR"}),
                idempotency_key=make["key"],
            )
            with lock:
                answers.append((view["id"], created))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return answers


@pytest.mark.parametrize("make", [{"external_id": "crm-42", "key": None},
                                  {"external_id": None, "key": "form-submit-42"}],
                         ids=["external_id", "idempotency_key"])
def test_concurrent_duplicates_make_one_lead(
    svc: Services, world: World, make: dict[str, str | None]
) -> None:
    before = len(routing.list_leads(svc, limit=500)["items"])
    answers = _race(svc, make)
    assert len(answers) == CLIENTS
    assert len({lead_id for lead_id, _ in answers}) == 1  # everyone told the same lead
    assert sum(created for _, created in answers) == 1  # exactly one 201, the rest 200
    assert len(routing.list_leads(svc, limit=500)["items"]) == before + 1
    lead_id = answers[0][0]
    assert len(routing.get_decisions(svc, lead_id)) == 1
    assert check_database(svc).ok
