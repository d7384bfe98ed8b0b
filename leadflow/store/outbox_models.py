"""Outbox tables: notifications and outbound events written in the state change's
transaction, delivered afterwards by the worker (at least once, with a stable id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadflow.store.models import Base, BigId


class OutboxRow(Base):
    """One message for one channel and target. In-app rows are the rep's event log."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # inapp, email, slack, webhook
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    target: Mapped[str] = mapped_column(String(2000), default="")
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))  # pending, sent, dead, stored
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_inapp", "rep_id", "channel", "id"),
    )


class WebhookEndpointRow(Base):
    """Where outbound events go: a generic signed webhook or a Slack incoming webhook."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # webhook, slack
    url: Mapped[str] = mapped_column(String(2000))
    # HMAC key: must be readable to sign, so it is stored as given and never shown again.
    secret: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[Any]] = mapped_column(default=list)  # empty: every event
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class NotificationPrefRow(Base):
    """A rep's channels per event type (`hot` adds channels for hot leads)."""

    __tablename__ = "notification_prefs"
    rep_id: Mapped[int] = mapped_column(ForeignKey("reps.id", ondelete="CASCADE"), primary_key=True)
    channels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    slack_url: Mapped[str | None] = mapped_column(String(2000))
    updated_at: Mapped[datetime]
