"""Schema migrations with Alembic, configured in code.

The Alembic ``Config`` is built here (script location = the installed ``migrations`` package),
so migrations run from a wheel and from any working directory. They run on the app's own async
engine: one connection is opened and handed to ``migrations/env.py``. ``upgrade`` on an
up-to-date database and ``downgrade`` on an empty one do nothing, so every start may call them.

``new_revision`` (``yakuba db revision MESSAGE``, for developers) writes the next revision from
the difference between models.py and the schema at head, computed on a scratch SQLite database.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

log = logging.getLogger("yakuba.db")
# Alembic logs every context set-up at INFO; our own line below says what changed.
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant: PostgreSQL advisory lock so that nodes starting together migrate one at a time.
_LOCK_KEY = 0x79616B75  # "yaku"


class NothingToGenerate(Exception):
    code = "no_changes"


def alembic_config(script_location: Path | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location or MIGRATIONS))
    return cfg


def head_revision(script_location: Path | None = None) -> str | None:
    return ScriptDirectory.from_config(alembic_config(script_location)).get_current_head()


async def current_revision(db) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def upgrade(db, revision: str = "head", script_location: Path | None = None) -> None:
    await _run(db, command.upgrade, revision, script_location)


async def downgrade(db, revision: str = "base", script_location: Path | None = None) -> None:
    await _run(db, command.downgrade, revision, script_location)


async def _run(db, fn, revision: str, script_location: Path | None = None) -> None:
    cfg = alembic_config(script_location)

    def go(conn) -> None:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
        cfg.attributes["connection"] = conn
        fn(cfg, revision)

    before = await current_revision(db)
    async with db.engine.begin() as conn:
        await conn.run_sync(go)
    after = await current_revision(db)
    if before != after:
        log.info("database migrated %s -> %s", before or "base", after or "base")


async def new_revision(message: str, script_location: Path | None = None, metadata=None) -> Path:
    """Write the next revision (``0002_<slug>.py``, ...) holding what ``metadata`` (models.py by
    default) has and the newest revision does not. Generated on SQLite, so it uses batch
    operations, which run on both backends; read it, and test it with tests/db/test_migrations.py
    on SQLite and PostgreSQL. Raises NothingToGenerate when the models match the migrations."""
    from yakuba.server.db.engine import Database

    cfg = alembic_config(script_location)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    rev_id = f"{int(head) + 1:04d}" if head and head.isdigit() else None
    if metadata is not None:
        cfg.attributes["target_metadata"] = metadata
    empty: list[bool] = []

    def skip_empty(context, revision, directives) -> None:
        if directives[0].upgrade_ops.is_empty():
            directives[:] = []
            empty.append(True)

    cfg.attributes["process_revision_directives"] = skip_empty
    with tempfile.TemporaryDirectory(prefix="yakuba-revision-") as tmp:
        scratch = Database(f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}")
        try:
            await upgrade(scratch, "head", script_location)

            def go(conn):
                cfg.attributes["connection"] = conn
                return command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)

            async with scratch.engine.begin() as conn:
                script = await conn.run_sync(go)
        finally:
            await scratch.close()
    if empty or script is None:
        raise NothingToGenerate("models.py matches the newest migration: nothing to generate")
    log.info("new migration %s", script.path)
    return Path(script.path)


__all__ = ["NothingToGenerate", "alembic_config", "current_revision", "downgrade", "head_revision",
           "new_revision", "upgrade"]
