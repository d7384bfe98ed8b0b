"""A rep's notification channels are read once per intake transaction (`txcache`): a
group commit of many leads for the same rep reads them once, and a change made between
two intakes is seen by the next one (SQLite's writer keeps its session across batches)."""

from __future__ import annotations

from sqlalchemy import select

from leadflow.schemas import LeadIn
from leadflow.services import notifications, routing
from leadflow.services.context import Services
from leadflow.store.outbox_models import OutboxRow
from tests.integration.conftest import french_team


def _leads(svc: Services, *names: str) -> list[int]:
    batch = [
        (LeadIn(email=f"{n}@prospect.example", company={"country": "FR"}), None) for n in names
    ]
    return [view["id"] for view, _ in routing.intake_many(svc, batch, actor="test")]


def _channels(svc: Services, rep_id: int) -> list[str]:
    with svc.db.read() as s:
        rows = s.scalars(
            select(OutboxRow.channel)
            .where(OutboxRow.rep_id == rep_id, OutboxRow.event == "lead.assigned")
            .order_by(OutboxRow.id)
        )
        return list(rows)


def test_each_lead_of_a_batch_notifies_and_a_change_is_seen_next_time(svc: Services) -> None:
    (rep,) = french_team(svc, 1)
    assert len(_leads(svc, "a", "b", "c")) == 3
    assert _channels(svc, rep) == ["inapp"] * 3
    notifications.set_prefs(svc, rep, {"lead.assigned": ["email"]}, None)
    _leads(svc, "d")
    assert _channels(svc, rep) == ["inapp"] * 3 + ["email"]
    notifications.set_prefs(svc, rep, {"lead.assigned": ["inapp", "email"]}, None)
    _leads(svc, "e", "f")
    assert _channels(svc, rep)[4:] == ["email", "inapp", "email", "inapp"]
