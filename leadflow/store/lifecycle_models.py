"""Tables of the lead lifecycle: enrichment, dedup, touches, SLA timers, scoring models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.store.models import Base, BigId


class FirmographicRow(Base):
    """Local company data keyed by domain (imported from CSV), used to fill gaps."""

    __tablename__ = "firmographics"
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(300))
    size: Mapped[int | None] = mapped_column(Integer)
    industry: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime]


class DedupKeyRow(Base):
    """One row per identity key (`email:…`, `phone:…`, `domain:…`) → the open lead holding it.

    The primary key serialises concurrent intakes of the same person: the second
    transaction waits on the first one's insert, then sees its lead and merges.
    """

    __tablename__ = "lead_dedup_keys"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), index=True
    )
    updated_at: Mapped[datetime]


class TouchRow(Base):
    """A later submission merged into an existing lead (a duplicate is a touch, not a lead)."""

    __tablename__ = "lead_touches"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    matched_on: Mapped[str] = mapped_column(String(400))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class SlaTimerRow(Base):
    """A first-contact deadline for one owner of one lead (durable, claimed by workers)."""

    __tablename__ = "sla_timers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[int] = mapped_column(BigInteger, index=True)
    policy: Mapped[str] = mapped_column(String(120))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="pending")  # met, breached, cancelled
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_sla_timers_state_due", "state", "due_at"),)


class RepSlaRow(Base):
    """Consecutive SLA misses of a rep (reset by a met SLA or by the automatic "away")."""

    __tablename__ = "rep_sla_stats"
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), primary_key=True)
    consecutive_misses: Mapped[int] = mapped_column(Integer, default=0)
    total_misses: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class ScoringModelRow(Base):
    """A trained scorer (logistic regression weights) and its held-out quality."""

    __tablename__ = "scoring_models"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    model: Mapped[dict[str, Any]]
    auc: Mapped[float | None] = mapped_column(Float)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
