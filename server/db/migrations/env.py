"""Alembic environment. ``yakuba.server.db.migrate`` opens the connection (the app's own async
engine, or a scratch SQLite database for ``new_revision``) and hands it over in
``config.attributes["connection"]``; nothing here reads a URL."""

from __future__ import annotations

from alembic import context

from yakuba.server.db.models import Base, UTCDateTime

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # offline (--sql) mode is not offered: the schema is always applied live
    raise RuntimeError("run migrations through yakuba.server.db.migrate (yakuba db upgrade)")


def render_item(type_, obj, autogen_context):
    # Revisions hold plain SQLAlchemy types, so an old revision keeps working when models.py
    # changes; UTCDateTime only converts values in Python and is DateTime(timezone=True) in SQL.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    target_metadata=config.attributes.get("target_metadata", Base.metadata),
    # SQLite cannot ALTER most things: batch mode copies the table instead (and generated
    # revisions use batch operations, which PostgreSQL runs as plain ALTERs).
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
    process_revision_directives=config.attributes.get("process_revision_directives"),
)
with context.begin_transaction():
    context.run_migrations()
