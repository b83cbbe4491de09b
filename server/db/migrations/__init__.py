"""Alembic environment and revisions, configured in code (see ``yakuba.server.db.migrate``) so
they run from an installed package and any working directory, with no alembic.ini to find."""
