"""Reading offers: a rep's own, and a lead's offer history for staff."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from leadflow.errors import NotFound
from leadflow.services.context import Services
from leadflow.services.events import lead_summary
from leadflow.store.models import LeadRow
from leadflow.store.offers_models import OfferCampaignRow, OfferRow

PENDING = "pending"


def offer_view(o: OfferRow) -> dict[str, Any]:
    return {
        "id": o.id,
        "lead_id": o.lead_id,
        "rep_id": o.rep_id,
        "campaign_id": o.campaign_id,
        "round": o.round_no,
        "status": o.status,
        "created_at": o.created_at,
        "expires_at": o.expires_at,
        "responded_at": o.responded_at,
        "reason": o.reason,
    }


def get_offer(svc: Services, offer_id: int, rep_id: int) -> dict[str, Any]:
    with svc.db.read() as s:
        o = s.get(OfferRow, offer_id)
        if o is None or o.rep_id != rep_id:
            raise NotFound(f"offer {offer_id} not found")
        lead = s.get(LeadRow, o.lead_id)
        return {**offer_view(o), "lead": lead_summary(lead) if lead else None}


def my_offers(
    svc: Services, rep_id: int, status: str | None = PENDING, limit: int = 50
) -> list[dict[str, Any]]:
    q = select(OfferRow).where(OfferRow.rep_id == rep_id).order_by(OfferRow.id.desc()).limit(limit)
    if status:
        q = q.where(OfferRow.status == status)
    with svc.db.read() as s:
        rows = list(s.scalars(q))
        ids = {o.lead_id for o in rows}
        leads = {lead.id: lead for lead in s.scalars(select(LeadRow).where(LeadRow.id.in_(ids)))}
        return [{**offer_view(o), "lead": lead_summary(leads[o.lead_id])} for o in rows]


def campaigns_of(svc: Services, lead_id: int) -> list[dict[str, Any]]:
    """A lead's offer history (staff view)."""
    with svc.db.read() as s:
        cs = list(
            s.scalars(
                select(OfferCampaignRow)
                .where(OfferCampaignRow.lead_id == lead_id)
                .order_by(OfferCampaignRow.id)
            )
        )
        out = []
        for c in cs:
            offers = s.scalars(
                select(OfferRow).where(OfferRow.campaign_id == c.id).order_by(OfferRow.id)
            )
            out.append(
                {
                    "id": c.id,
                    "mode": c.mode,
                    "rule": c.rule,
                    "status": c.status,
                    "round": c.round_no,
                    "order": c.rep_order,
                    "winner_rep_id": c.winner_rep_id,
                    "created_at": c.created_at,
                    "closed_at": c.closed_at,
                    "offers": [offer_view(o) for o in offers],
                }
            )
        return out
