"""Reservations: consultation slots staff publish, and residents' bookings of them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "consult_slots",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(70), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        _ts("start_at"),
        _ts("end_at"),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_consult_slots"),
    )
    op.create_index("ix_consult_slots_end_at", "consult_slots", ["end_at"])
    op.create_index("ix_consult_slots_start_at", "consult_slots", ["start_at"])
    op.create_index("ix_consult_slots_topic_start_at", "consult_slots", ["topic", "start_at"])
    op.create_table(
        "consult_bookings",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("slot_id", Id, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("name", sa.String(60), nullable=True),
        sa.Column("lang", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        _ts("reminded_at", nullable=True),
        sa.ForeignKeyConstraint(["slot_id"], ["consult_slots.id"], name="fk_consult_bookings_slot_id_consult_slots"),
        sa.PrimaryKeyConstraint("id", name="pk_consult_bookings"),
        sa.UniqueConstraint("code", name="uq_consult_bookings_code"),
    )
    op.create_index("ix_consult_bookings_slot_id", "consult_bookings", ["slot_id"])


def downgrade() -> None:
    op.drop_index("ix_consult_bookings_slot_id", table_name="consult_bookings")
    op.drop_table("consult_bookings")
    for ix in ("ix_consult_slots_topic_start_at", "ix_consult_slots_start_at", "ix_consult_slots_end_at"):
        op.drop_index(ix, table_name="consult_slots")
    op.drop_table("consult_slots")
