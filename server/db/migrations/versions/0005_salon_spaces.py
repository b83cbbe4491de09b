"""The salon's meeting-room bookings, code-of-conduct acceptances and reports (issue #20).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "salon_bookings",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("room", sa.String(40), nullable=False),
        sa.Column("municipality_code", sa.String(16), nullable=False),
        sa.Column("staff_id", Id, nullable=False),
        _ts("starts_at"),
        _ts("ends_at"),
        _ts("created_at"),
        _ts("cancelled_at", True),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipalities.code"],
                                name="fk_salon_bookings_municipality_code_municipalities"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], name="fk_salon_bookings_staff_id_staff_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_salon_bookings"),
    )
    op.create_index("ix_salon_bookings_room_starts_at", "salon_bookings", ["room", "starts_at"])
    op.create_table(
        "salon_conduct",
        sa.Column("staff_id", Id, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("accepted_at"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], name="fk_salon_conduct_staff_id_staff_accounts"),
        sa.PrimaryKeyConstraint("staff_id", name="pk_salon_conduct"),
    )
    op.create_table(
        "salon_reports",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        _ts("at"),
        sa.Column("reporter", sa.Integer(), nullable=False),
        sa.Column("reported_staff", sa.Integer(), nullable=True),
        sa.Column("reported_avatar", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(40), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_salon_reports"),
    )
    op.create_index("ix_salon_reports_at", "salon_reports", ["at"])


def downgrade() -> None:
    op.drop_index("ix_salon_reports_at", table_name="salon_reports")
    op.drop_table("salon_reports")
    op.drop_table("salon_conduct")
    op.drop_index("ix_salon_bookings_room_starts_at", table_name="salon_bookings")
    op.drop_table("salon_bookings")
