"""Tables. Authoritative state lives here and only here (no in-process truth)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from leadflow.store.types import JSONType, UTCDateTime

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT for big tables.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType, datetime: UTCDateTime}


class Meta(Base):
    """Counters every process reads to know whether its caches are stale."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class RepRow(Base):
    __tablename__ = "reps"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    teams: Mapped[list[Any]] = mapped_column(default=list)
    territories: Mapped[list[Any]] = mapped_column(default=list)
    skills: Mapped[list[Any]] = mapped_column(default=list)
    languages: Mapped[list[Any]] = mapped_column(default=list)
    timezone: Mapped[str | None] = mapped_column(String(64))
    working_hours: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    max_open: Mapped[int | None] = mapped_column(Integer)
    max_per_day: Mapped[int | None] = mapped_column(Integer)
    max_per_week: Mapped[int | None] = mapped_column(Integer)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="available")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AbsenceRow(Base):
    __tablename__ = "rep_absences"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), index=True)
    start: Mapped[datetime]
    end: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(500), default="")


class RepLoadRow(Base):
    """Counters updated in the same transaction as each assignment (capacity checks)."""

    __tablename__ = "rep_loads"
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), primary_key=True)
    open_count: Mapped[int] = mapped_column(Integer, default=0)
    day_key: Mapped[str] = mapped_column(String(10), default="")
    day_count: Mapped[int] = mapped_column(Integer, default=0)
    week_key: Mapped[str] = mapped_column(String(10), default="")
    week_count: Mapped[int] = mapped_column(Integer, default=0)
    last_assigned_at: Mapped[datetime | None]


class TeamRow(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    manager_rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id", ondelete="SET NULL"))


class TerritoryRow(Base):
    __tablename__ = "territories"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    team: Mapped[str | None] = mapped_column(String(100))
    match: Mapped[dict[str, Any]] = mapped_column(default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=100)


class AccountRow(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(300))
    owner_rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id", ondelete="SET NULL"))
    strategic: Mapped[bool] = mapped_column(Boolean, default=False)
    team: Mapped[str | None] = mapped_column(String(100))
    domains: Mapped[list[Any]] = mapped_column(default=list)


class AccountDomainRow(Base):
    __tablename__ = "account_domains"
    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )


class RulebookRow(Base):
    __tablename__ = "rulebooks"
    version: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200), default="")
    activated_at: Mapped[datetime | None]


class LeadRow(Base):
    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    owner_rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id", ondelete="SET NULL"))
    queue: Mapped[str | None] = mapped_column(String(100))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    territory: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    score: Mapped[float | None]
    data: Mapped[dict[str, Any]]
    rule: Mapped[str | None] = mapped_column(String(120))
    last_decision_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    assigned_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_leads_owner_status", "owner_rep_id", "status"),
        Index("ix_leads_status_created", "status", "created_at"),
        Index("ix_leads_queue_status", "queue", "status"),
    )


class DecisionRow(Base):
    """The explained record of one routing step (the audit trail)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # route, reassign, claim, ...
    outcome: Mapped[str] = mapped_column(String(16))  # assigned, queued, offered
    rule: Mapped[str | None] = mapped_column(String(120))
    method: Mapped[str | None] = mapped_column(String(32))
    rep_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    queue: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")
    rulebook_version: Mapped[int | None] = mapped_column(BigInteger)
    trace: Mapped[dict[str, Any]]
    duration_us: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(200), default="system")
    created_at: Mapped[datetime] = mapped_column(index=True)


class RotationRow(Base):
    """Durable rotation state (round-robin turns, weighted scores) per pool."""

    __tablename__ = "rotations"
    pool_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime | None]


class TokenRow(Base):
    """API tokens: only a SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # migration 0006
