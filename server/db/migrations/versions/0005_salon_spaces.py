"""The salon's meeting-room bookings (and their locks), events with their members, department
booths' pins, code-of-conduct acceptances and reports (issue #20).

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
        sa.Column("locked", sa.Boolean(), nullable=False),
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
    op.create_table(
        "salon_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("booking_id", Id, nullable=False),
        sa.Column("organiser", Id, nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("hybrid", sa.Boolean(), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["booking_id"], ["salon_bookings.id"], name="fk_salon_events_booking_id_salon_bookings"),
        sa.ForeignKeyConstraint(["organiser"], ["staff_accounts.id"], name="fk_salon_events_organiser_staff_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_salon_events"),
    )
    op.create_table(
        "salon_event_members",
        sa.Column("event_id", Id, nullable=False),
        sa.Column("staff_id", Id, nullable=False),
        _ts("registered_at"),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("muted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["salon_events.id"], name="fk_salon_event_members_event_id_salon_events"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], name="fk_salon_event_members_staff_id_staff_accounts"),
        sa.PrimaryKeyConstraint("event_id", "staff_id", name="pk_salon_event_members"),
    )
    op.create_table(
        "salon_pins",
        sa.Column("booth", sa.String(40), nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("staff_id", Id, nullable=False),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], name="fk_salon_pins_staff_id_staff_accounts"),
        sa.PrimaryKeyConstraint("booth", name="pk_salon_pins"),
    )


def downgrade() -> None:
    op.drop_table("salon_pins")
    op.drop_table("salon_event_members")
    op.drop_table("salon_events")
    op.drop_index("ix_salon_reports_at", table_name="salon_reports")
    op.drop_table("salon_reports")
    op.drop_table("salon_conduct")
    op.drop_index("ix_salon_bookings_room_starts_at", table_name="salon_bookings")
    op.drop_table("salon_bookings")
