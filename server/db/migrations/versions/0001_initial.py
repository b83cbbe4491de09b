"""Initial schema: municipalities, staff accounts, audit events, datasets, jobs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# BigInteger ids on PostgreSQL; INTEGER PRIMARY KEY (the rowid, autoincrementing) on SQLite.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "municipalities",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("code", name="pk_municipalities"),
    )
    op.create_table(
        "staff_accounts",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("municipality_code", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        _ts("created_at"),
        _ts("password_changed_at"),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipalities.code"],
                                name="fk_staff_accounts_municipality_code_municipalities"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_accounts"),
        sa.UniqueConstraint("username", name="uq_staff_accounts_username"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        _ts("at"),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("principal", sa.String(80), nullable=False),
        sa.Column("action", sa.String(60), nullable=True),
        sa.Column("code", sa.String(60), nullable=True),
        sa.Column("resource", sa.String(120), nullable=True),
        sa.Column("node", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("buildings", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("dataset", sa.String(100), nullable=True),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("stage", sa.String(60), nullable=True),
        sa.Column("node", sa.String(80), nullable=True),
        sa.Column("result_path", sa.Text(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("started_at", True),
        _ts("finished_at", True),
        _ts("heartbeat_at", True),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_owner_state", "jobs", ["owner", "state"])
    op.create_index("ix_jobs_state", "jobs", ["state"])


def downgrade() -> None:
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.drop_index("ix_jobs_owner_state", table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("datasets")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("staff_accounts")
    op.drop_table("municipalities")
