"""Municipalities as tenants (issue #20): state, allowed e-mail domains and the identity provider
of a municipality; staff members' server-issued identity; OpenID identities; invitations.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # batch: SQLite rebuilds the table for the unique constraint; PostgreSQL ALTERs in place.
    with op.batch_alter_table("municipalities") as b:
        # existing municipalities stay active: the server default fills the rows already there
        b.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="active"))
        b.add_column(sa.Column("email_domains", sa.JSON(), nullable=False, server_default="[]"))
        b.add_column(sa.Column("oidc_issuer", sa.String(255), nullable=True))
        b.add_column(sa.Column("oidc_client_id", sa.String(255), nullable=True))
        b.add_column(_ts("state_changed_at", True))
        b.create_unique_constraint("uq_municipalities_oidc_issuer", ["oidc_issuer"])
    with op.batch_alter_table("staff_accounts") as b:
        b.add_column(sa.Column("display_name", sa.String(100), nullable=True))
        b.add_column(sa.Column("department", sa.String(60), nullable=True))
        b.add_column(sa.Column("joined_via", sa.String(16), nullable=True))
    op.create_table(
        "oidc_identities",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("issuer", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("staff_id", Id, nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["staff_id"], ["staff_accounts.id"], name="fk_oidc_identities_staff_id_staff_accounts"),
        sa.PrimaryKeyConstraint("id", name="pk_oidc_identities"),
        sa.UniqueConstraint("issuer", "subject", name="uq_oidc_identities_issuer_subject"),
    )
    op.create_index("ix_oidc_identities_staff_id", "oidc_identities", ["staff_id"])
    op.create_table(
        "invitations",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("municipality_code", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("department", sa.String(60), nullable=True),
        _ts("expires_at"),
        _ts("used_at", True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipalities.code"],
                                name="fk_invitations_municipality_code_municipalities"),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
    )
    op.create_index("ix_invitations_municipality_code", "invitations", ["municipality_code"])


def downgrade() -> None:
    op.drop_index("ix_invitations_municipality_code", table_name="invitations")
    op.drop_table("invitations")
    op.drop_index("ix_oidc_identities_staff_id", table_name="oidc_identities")
    op.drop_table("oidc_identities")
    with op.batch_alter_table("staff_accounts") as b:
        b.drop_column("joined_via")
        b.drop_column("department")
        b.drop_column("display_name")
    with op.batch_alter_table("municipalities") as b:
        b.drop_constraint("uq_municipalities_oidc_issuer", type_="unique")
        b.drop_column("state_changed_at")
        b.drop_column("oidc_client_id")
        b.drop_column("oidc_issuer")
        b.drop_column("email_domains")
        b.drop_column("state")
