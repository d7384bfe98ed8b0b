"""Tables of pull distribution: queues, tiers, claims (leases), views, timers, alerts.

Who owns a lead stays in `leads` (owner_rep_id/status/queue); a claim row records the
lease on top of it, so push and pull share one source of truth for ownership.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.store.models import Base, BigId


class QueueRow(Base):
    """A named queue and its configuration (mode, preview, lease, policies)."""

    __tablename__ = "queues"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RepTierRow(Base):
    """A rep's performance tier; a rep without a row is `average`."""

    __tablename__ = "rep_tiers"
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime]


class ClaimRow(Base):
    """One claim of a lead by a rep; `held` while the lease runs (at most one per lead)."""

    __tablename__ = "claims"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"))
    queue: Mapped[str] = mapped_column(String(100))
    score: Mapped[float | None]
    state: Mapped[str] = mapped_column(String(16))  # held, contacted, released, expired, taken
    claimed_at: Mapped[datetime]
    lease_until: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_claims_rep_state", "rep_id", "state"),
        Index("ix_claims_rep_queue_claimed", "rep_id", "queue", "claimed_at"),
        # The database itself guarantees one live lease per lead.
        Index(
            "uq_claims_one_held_per_lead",
            "lead_id",
            unique=True,
            sqlite_where=text("state = 'held'"),
            postgresql_where=text("state = 'held'"),
        ),
    )


class QueueViewRow(Base):
    """A rep opened a lead's details in a queue (cherry-pick skip limit)."""

    __tablename__ = "queue_views"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"))
    queue: Mapped[str] = mapped_column(String(100))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    viewed_at: Mapped[datetime]

    __table_args__ = (Index("ix_queue_views_rep_queue", "rep_id", "queue", "viewed_at"),)


class ActivityRow(Base):
    """Something a rep did with a lead: a call, an e-mail, an outcome."""

    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id", ondelete="SET NULL"))
    type: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class FirstContactRow(Base):
    """When a lead was first contacted, and how long after it arrived."""

    __tablename__ = "first_contacts"
    lead_id: Mapped[int] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id", ondelete="SET NULL"))
    contacted_at: Mapped[datetime]
    seconds: Mapped[int] = mapped_column(BigInteger)


class PullTimerRow(Base):
    """Durable due work: lease expiries, age steps, daily minimum-claims checks."""

    __tablename__ = "pull_timers"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # lease, step, daily
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    queue: Mapped[str] = mapped_column(String(100))
    step: Mapped[int] = mapped_column(Integer, default=0)
    claim_id: Mapped[int | None] = mapped_column(BigInteger)
    due_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    fired_late_ms: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_pull_timers_due", "done_at", "due_at"),
        Index("ix_pull_timers_lead", "lead_id", "kind"),
    )


class PullAlertRow(Base):
    """A notification for people: an escalation step ran, a rep claimed too little."""

    __tablename__ = "pull_alerts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(100))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id", ondelete="SET NULL"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(300), unique=True)  # makes raising idempotent
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)
