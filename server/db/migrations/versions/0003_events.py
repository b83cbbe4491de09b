"""Events in the hall (issue #18): events staff schedule, and residents' registrations.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _ts("starts_at"),
        _ts("ends_at"),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("attendees", sa.Integer(), nullable=False),
        sa.Column("spectators", sa.Integer(), nullable=False),
        sa.Column("presenters", sa.JSON(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_ends_at", "events", ["ends_at"])
    op.create_index("ix_events_starts_at", "events", ["starts_at"])
    op.create_table(
        "event_registrations",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("event_id", Id, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(60), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("cancelled_at", nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name="fk_event_registrations_event_id_events"),
        sa.PrimaryKeyConstraint("id", name="pk_event_registrations"),
        sa.UniqueConstraint("code", name="uq_event_registrations_code"),
    )
    op.create_index("ix_event_registrations_event_id_role_status", "event_registrations", ["event_id", "role", "status"])


def downgrade() -> None:
    op.drop_index("ix_event_registrations_event_id_role_status", table_name="event_registrations")
    op.drop_table("event_registrations")
    op.drop_index("ix_events_starts_at", table_name="events")
    op.drop_index("ix_events_ends_at", table_name="events")
    op.drop_table("events")
