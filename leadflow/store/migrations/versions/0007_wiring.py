"""wiring: one head again; SLA notifications move to the outbox

The features' migrations (0002 pull … 0006 ops) all branch from 0001; this merges
them. SLA breach, escalation and away notifications now go through the transactional
outbox (in-app rows for reps, webhooks for other systems), so the private
`lifecycle_notifications` table is redundant: its rows are copied into the outbox as
in-app messages (the rep's event log keeps them) and the table is dropped.

Revision ID: 0007
Revises: 0002, 0003, 0004, 0005, 0006
Create Date: 2026-11-28
"""

import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = ("0002", "0003", "0004", "0005", "0006")
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
OLD_KINDS = {"sla_breach": "sla.breached", "rep_set_away": "rep.set_away"}

notifications = sa.table(
    "lifecycle_notifications",
    sa.column("id", ID),
    sa.column("kind", sa.String()),
    sa.column("rep_id", ID),
    sa.column("lead_id", ID),
    sa.column("message", sa.String()),
    sa.column("payload", JSON),
    sa.column("created_at", sa.DateTime()),
)
outbox = sa.table(
    "outbox",
    sa.column("message_id", sa.String()),
    sa.column("event", sa.String()),
    sa.column("channel", sa.String()),
    sa.column("rep_id", ID),
    sa.column("target", sa.String()),
    sa.column("payload", JSON),
    sa.column("status", sa.String()),
    sa.column("attempts", sa.Integer()),
    sa.column("next_attempt_at", sa.DateTime()),
    sa.column("last_error", sa.Text()),
    sa.column("created_at", sa.DateTime()),
)
reps = sa.table("reps", sa.column("id", ID))


def upgrade() -> None:
    bind = op.get_bind()
    known = sa.select(reps.c.id)
    rows = bind.execute(
        sa.select(notifications)
        .where(notifications.c.rep_id.in_(known))
        .order_by(notifications.c.id)
    ).all()
    if rows:
        op.bulk_insert(
            outbox,
            [
                {
                    "message_id": str(uuid.uuid4()),
                    "event": OLD_KINDS.get(r.kind, r.kind),
                    "channel": "inapp",
                    "rep_id": r.rep_id,
                    "target": "",
                    "payload": {"message": r.message, "lead_id": r.lead_id, **(r.payload or {})},
                    "status": "stored",
                    "attempts": 0,
                    "next_attempt_at": r.created_at,
                    "last_error": "",
                    "created_at": r.created_at,
                }
                for r in rows
            ],
        )
    op.drop_table("lifecycle_notifications")


def downgrade() -> None:
    # The table comes back empty: the messages stay in the outbox, where they now live.
    op.create_table(
        "lifecycle_notifications",
        sa.Column("id", ID, autoincrement=True, nullable=False, primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("rep_id", sa.BigInteger(), index=True),
        sa.Column("lead_id", sa.BigInteger()),
        sa.Column("message", sa.String(1000), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
