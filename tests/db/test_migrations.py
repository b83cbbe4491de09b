"""Migrations up, down and up on both backends, and the migrated schema equals models.py."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from yakuba.server.db import migrate
from yakuba.server.db.engine import Database
from yakuba.server.db.models import Base

TABLES = {"municipalities", "staff_accounts", "audit_events", "datasets", "jobs"}


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as c:
        return set(await c.run_sync(lambda sc: inspect(sc).get_table_names()))


async def _diff(db: Database) -> list:
    def go(sc):
        return compare_metadata(MigrationContext.configure(sc, opts={"compare_type": True}), Base.metadata)

    async with db.engine.connect() as c:
        return await c.run_sync(go)


async def test_up_down_up_is_idempotent(db_url: str) -> None:
    db = Database(db_url)
    try:
        assert await migrate.current_revision(db) is None
        await migrate.downgrade(db)  # on an empty database: nothing to do, no error
        await migrate.upgrade(db)
        assert TABLES <= await _tables(db)
        assert await migrate.current_revision(db) == migrate.head_revision()
        await migrate.upgrade(db)  # already at head: a no-op (every `yakuba serve` start does this)
        await migrate.downgrade(db)
        assert await _tables(db) & TABLES == set()
        assert await migrate.current_revision(db) is None
        await db.migrate()
        assert TABLES <= await _tables(db)
    finally:
        await db.close()


async def test_migrated_schema_matches_models(db: Database) -> None:
    # A model change without a migration (or the reverse) shows up here on both backends.
    assert await _diff(db) == []


def test_migrations_found_from_any_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # no alembic.ini anywhere: the config is built in code
    newest = max(p.name.split("_")[0] for p in (migrate.MIGRATIONS / "versions").glob("[0-9]*_*.py"))
    assert migrate.head_revision() == newest


async def test_nodes_starting_together_migrate_once(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        import pytest

        pytest.skip("one SQLite file is one node's; nodes that share a database use PostgreSQL")
    import asyncio

    nodes = [Database(db_url) for _ in range(3)]
    try:
        # Without the advisory lock the losers fail with "relation already exists".
        await asyncio.gather(*(n.migrate() for n in nodes))
        assert await migrate.current_revision(nodes[0]) == migrate.head_revision()
    finally:
        for n in nodes:
            await n.close()


async def test_new_revision_is_generated_and_round_trips(db_url: str, tmp_path) -> None:
    # The developer's path for a model change: `yakuba db revision MESSAGE` writes 0002_*.py,
    # and that revision goes up and down on both backends. Done on a copy of the migrations
    # with a changed copy of the models, so the source tree is untouched.
    import shutil

    from sqlalchemy import Column, MetaData, String

    import pytest

    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    with pytest.raises(migrate.NothingToGenerate):
        await migrate.new_revision("nothing", scripts)
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for t in Base.metadata.tables.values():
        t.to_metadata(changed)
    changed.tables["datasets"].append_column(Column("licence", String(80), nullable=True))

    old = migrate.head_revision(scripts)
    new = f"{int(old) + 1:04d}"  # revisions are numbered 0001, 0002, ...
    path = await migrate.new_revision("datasets: licence", scripts, metadata=changed)
    assert path.name == f"{new}_datasets_licence.py"
    text = path.read_text()
    assert "licence" in text and "batch_alter_table" in text and "UTCDateTime" not in text
    assert migrate.head_revision(scripts) == new

    async def columns(db) -> set[str]:
        async with db.engine.connect() as c:
            return {x["name"] for x in await c.run_sync(lambda sc: inspect(sc).get_columns("datasets"))}

    db = Database(db_url)
    try:
        await migrate.upgrade(db, script_location=scripts)
        assert "licence" in await columns(db) and await migrate.current_revision(db) == new
        await migrate.downgrade(db, old, script_location=scripts)
        assert "licence" not in await columns(db) and await migrate.current_revision(db) == old
        await migrate.upgrade(db, script_location=scripts)
        assert "licence" in await columns(db)
    finally:
        await db.close()
