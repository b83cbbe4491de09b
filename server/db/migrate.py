"""PROVISIONAL (lead): create_all until the DB engineer's Alembic upgrade/downgrade replaces this file."""

from __future__ import annotations


async def upgrade(db, revision: str = "head") -> None:
    from yakuba.server.db.models import Base

    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
