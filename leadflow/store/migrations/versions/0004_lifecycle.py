"""lead lifecycle: firmographics, dedup keys, touches, SLA timers, notifications, scorers

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", ID, autoincrement=True, nullable=False, primary_key=True)


def _lead_fk(nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "lead_id",
        sa.BigInteger(),
        sa.ForeignKey("leads.id", ondelete="CASCADE"),
        nullable=nullable,
        index=True,
    )


def upgrade() -> None:
    op.create_table(
        "firmographics",
        sa.Column("domain", sa.String(253), primary_key=True),
        sa.Column("name", sa.String(300)),
        sa.Column("size", sa.Integer()),
        sa.Column("industry", sa.String(100)),
        sa.Column("country", sa.String(3)),
        sa.Column("state", sa.String(10)),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "lead_dedup_keys",
        sa.Column("key", sa.String(400), primary_key=True),
        _lead_fk(nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "lead_touches",
        _id(),
        _lead_fk(),
        sa.Column("matched_on", sa.String(400), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "sla_timers",
        _id(),
        _lead_fk(),
        sa.Column("rep_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("policy", sa.String(120), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime()),
    )
    op.create_index("ix_sla_timers_state_due", "sla_timers", ["state", "due_at"])
    op.create_table(
        "rep_sla_stats",
        sa.Column(
            "rep_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("reps.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("consecutive_misses", sa.Integer(), nullable=False),
        sa.Column("total_misses", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "lifecycle_notifications",
        _id(),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("rep_id", sa.BigInteger(), index=True),
        sa.Column("lead_id", sa.BigInteger()),
        sa.Column("message", sa.String(1000), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "scoring_models",
        _id(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("model", JSON, nullable=False),
        sa.Column("auc", sa.Float()),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "scoring_models",
        "lifecycle_notifications",
        "rep_sla_stats",
        "sla_timers",
        "lead_touches",
        "lead_dedup_keys",
        "firmographics",
    ):
        op.drop_table(table)
