"""Shared set-up for offer tests: a team, its reps and a rulebook with one offer rule."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from leadflow.domain.model import LeadStatus
from leadflow.schemas import LeadIn, RepIn, RepPatch, TeamIn
from leadflow.services import org, routing, rulebooks
from leadflow.services.context import Services
from leadflow.store.models import LeadRow
from leadflow.store.offers_models import OfferRow
from leadflow.store.outbox_models import OutboxRow
from leadflow.testing.factories import ensure_queues


def make_team(svc: Services, n: int, team: str = "sales") -> list[int]:
    org.create_team(svc, TeamIn(name=team))
    return [
        int(
            org.create_rep(
                svc, RepIn(name=f"{team}{i}", email=f"{team}{i}@x.example", teams=[team])
            )["id"]
        )
        for i in range(n)
    ]


def offer_rulebook(svc: Services, offer: str) -> None:
    ensure_queues(svc, ["triage"])  # the `then: {queue: triage}` of the tests' offers
    rulebooks.save(
        svc,
        f"""
rules:
  - name: offer-it
    offer: {offer}
fallback:
  queue: unassigned
""",
    )


def new_lead(svc: Services, n: int = 1, score: float | None = None) -> dict[str, Any]:
    view, _ = routing.intake(
        svc, LeadIn(email=f"b{n}@p{n}.example", company={"name": f"Co {n}"}, score=score)
    )
    return view


def offers_of(svc: Services, lead_id: int) -> list[OfferRow]:
    with svc.db.read() as s:
        return list(
            s.scalars(select(OfferRow).where(OfferRow.lead_id == lead_id).order_by(OfferRow.id))
        )


def pending(svc: Services, lead_id: int) -> list[OfferRow]:
    return [o for o in offers_of(svc, lead_id) if o.status == "pending"]


def events(svc: Services, **where: Any) -> list[OutboxRow]:
    with svc.db.read() as s:
        q = select(OutboxRow).order_by(OutboxRow.id)
        for k, v in where.items():
            q = q.where(getattr(OutboxRow, k) == v)
        return list(s.scalars(q))


def set_status(svc: Services, rep_id: int, status: str) -> None:
    org.update_rep(svc, rep_id, RepPatch(status=status))  # type: ignore[arg-type]


def log_outcomes(svc: Services, rep_id: int, won: int, lost: int) -> None:
    """Closed leads owned by the rep: what the conversion rate is computed from."""
    now = svc.clock.now()
    with svc.db.write() as s:
        for i in range(won + lost):
            s.add(
                LeadRow(
                    status=LeadStatus.WON if i < won else LeadStatus.LOST,
                    owner_rep_id=rep_id,
                    data={},
                    created_at=now,
                    updated_at=now,
                )
            )
