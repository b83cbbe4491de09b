"""The throwaway PostgreSQL cluster the contract tests use: a fresh database per test, dropped after."""

from __future__ import annotations

import asyncpg
import pytest


async def test_create_and_drop_database(postgres_server) -> None:
    a, b = postgres_server.create_database(), postgres_server.create_database()
    assert a != b
    dsn = a.replace("postgresql://", "postgres://")
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("select count(*) from pg_tables where schemaname = 'public'") == 0
        assert await conn.fetchval("select current_user") == "yakuba"
    finally:
        await conn.close()
    keep = await asyncpg.connect(dsn)  # a connection a test forgot to close does not block the drop
    postgres_server.drop_database(a)
    await keep.close()
    with pytest.raises(asyncpg.InvalidCatalogNameError):
        await asyncpg.connect(dsn)
    postgres_server.drop_database(b)
