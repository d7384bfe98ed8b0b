"""Offer tables: one campaign per offered lead, one row per rep asked.

A pending offer's `expires_at` is its durable timer (the worker expires due rows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.store.models import Base, BigId


class OfferCampaignRow(Base):
    """The progress of offering one lead: its order, round and cursor, and how it ended."""

    __tablename__ = "offer_campaigns"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    decision_id: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(120))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # open, accepted, fallback
    spec: Mapped[dict[str, Any]]  # timeout, rounds, size, then (as compiled), team
    rep_order: Mapped[list[Any]]  # rep ids in round-1 order
    round_no: Mapped[int] = mapped_column(Integer, default=1)
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    winner_rep_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class OfferRow(Base):
    __tablename__ = "offers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("offer_campaigns.id", ondelete="CASCADE"), index=True
    )
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"))
    round_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # pending accepted declined expired withdrawn
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    responded_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (
        Index("ix_offers_due", "status", "expires_at"),
        Index("ix_offers_rep_status", "rep_id", "status"),
        # A pending offer is a timer: `leadflow check` and /metrics watch its lateness.
        {"info": {"timer_due": "expires_at"}},
    )
