"""The database handle: one async engine and session factory per process.

``Database(url)`` works with ``sqlite+aiosqlite:///path`` (the embedded default) and
``postgresql+asyncpg://...`` (production). ``migrate()`` brings the schema to the newest Alembic
revision; ``yakuba serve`` calls it at start, so an empty database needs nothing done by hand.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def normalise_url(url: str) -> str:
    """Accept the plain scheme operators write (postgresql://, sqlite:///) and pick the async driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://"):]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
    return url


class Database:
    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kw = {} if self.is_sqlite else {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 5}
        self.engine: AsyncEngine = create_async_engine(self.url, echo=echo, **kw)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits on success, rolls back on error."""
        async with self.sessions() as s:
            async with s.begin():
                yield s

    async def migrate(self) -> None:
        from yakuba.server.db.migrate import upgrade

        await upgrade(self)

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL: readers (other nodes' CLI, `yakuba staff list`) do not block the server's writes.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


__all__ = ["Database", "normalise_url"]
