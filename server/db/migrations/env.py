"""Alembic environment. ``yakuba.server.db.migrate`` opens the connection (the app's own async
engine) and hands it over in ``config.attributes["connection"]``; nothing here reads a URL."""

from __future__ import annotations

from alembic import context

from yakuba.server.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # offline (--sql) mode is not offered: the schema is always applied live
    raise RuntimeError("run migrations through yakuba.server.db.migrate (yakuba db upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
