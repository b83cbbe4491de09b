"""Schema migrations with Alembic, configured in code.

The Alembic ``Config`` is built here (script location = the installed ``migrations`` package),
so migrations run from a wheel and from any working directory. They run on the app's own async
engine: one connection is opened and handed to ``migrations/env.py``. ``upgrade`` on an
up-to-date database and ``downgrade`` on an empty one do nothing, so every start may call them.
"""

from __future__ import annotations

import logging
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


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(db) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def upgrade(db, revision: str = "head") -> None:
    await _run(db, command.upgrade, revision)


async def downgrade(db, revision: str = "base") -> None:
    await _run(db, command.downgrade, revision)


async def _run(db, fn, revision: str) -> None:
    cfg = alembic_config()

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


__all__ = ["alembic_config", "current_revision", "downgrade", "head_revision", "upgrade"]
