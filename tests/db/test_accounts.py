"""Accounts, datasets and audit rows: the same contract on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from yakuba.server.db import accounts, audit_store, datasets
from yakuba.server.db.errors import (
    DuplicateMunicipality,
    DuplicateUsername,
    InvalidRecord,
    RecordError,
    UnknownMunicipality,
    UnknownStaff,
)


async def _seed(db) -> int:
    async with db.session() as s:
        await accounts.add_municipality(s, "271209", "堺市")
        a = await accounts.add_staff(s, "Tanaka", "271209", "hash-1")
    return a.id


async def test_municipalities(db) -> None:
    async with db.session() as s:
        await accounts.add_municipality(s, "131016", "千代田区")
        await accounts.add_municipality(s, "011002", "札幌市")
    async with db.session() as s:
        assert [m.code for m in await accounts.list_municipalities(s)] == ["011002", "131016"]
        assert (await accounts.get_municipality(s, "131016")).name == "千代田区"
        assert await accounts.get_municipality(s, "999999") is None
    with pytest.raises(DuplicateMunicipality):
        async with db.session() as s:
            await accounts.add_municipality(s, "131016", "again")
    for code, name in (("", "x"), ("a b", "x"), ("1" * 17, "x"), ("131017", "  ")):
        with pytest.raises(InvalidRecord):
            async with db.session() as s:
                await accounts.add_municipality(s, code, name)


async def test_staff_add_get_list(db) -> None:
    sid = await _seed(db)
    async with db.session() as s:
        admin = await accounts.add_staff(s, "sato@city", "271209", "hash-2", admin=True)
    async with db.session() as s:
        a = await accounts.get_staff(s, sid)
        assert (a.username, a.municipality_code, a.is_admin, a.disabled, a.roles) == ("tanaka", "271209", False, False, ["staff"])
        assert (await accounts.get_staff_by_username(s, " TANAKA ")).id == sid  # one account per name, any case
        assert await accounts.get_staff_by_username(s, "nobody") is None
        assert await accounts.get_staff(s, 10_000) is None
        assert [x.id for x in await accounts.list_staff(s)] == [sid, admin.id]
        assert [x.id for x in await accounts.list_staff(s, "271209")] == [sid, admin.id]
        assert await accounts.list_staff(s, "000000") == []
        got = await accounts.get_staff(s, admin.id)
        assert got.is_admin and got.roles == ["staff", "admin"]
        assert got.created_at.tzinfo is not None and got.created_at.utcoffset().total_seconds() == 0


async def test_staff_constraint_errors(db) -> None:
    await _seed(db)
    with pytest.raises(DuplicateUsername):
        async with db.session() as s:
            await accounts.add_staff(s, "tanaka", "271209", "h")
    with pytest.raises(UnknownMunicipality):
        async with db.session() as s:
            await accounts.add_staff(s, "suzuki", "999999", "h")
    for name in ("", "a b", "x" * 65, "-lead"):
        with pytest.raises(InvalidRecord):
            async with db.session() as s:
                await accounts.add_staff(s, name, "271209", "h")
    with pytest.raises(InvalidRecord):
        async with db.session() as s:
            await accounts.add_staff(s, "suzuki", "271209", "")
    with pytest.raises(UnknownStaff):
        async with db.session() as s:
            await accounts.set_disabled(s, "nobody", True)
    with pytest.raises(UnknownStaff):
        async with db.session() as s:
            await accounts.set_password_hash(s, "nobody", "h")
    assert issubclass(DuplicateUsername, RecordError) and DuplicateUsername.code == "duplicate_username"
    async with db.session() as s:  # nothing half-written by the failures
        assert len(await accounts.list_staff(s)) == 1


async def test_duplicate_username_race_is_a_clear_error(db) -> None:
    # Two writers check, both see no account, both insert: the unique constraint decides.
    await _seed(db)
    async with db.session() as s:
        await accounts.add_municipality(s, "131016", "千代田区")

    async def add(n: str):
        async with db.session() as s:
            return await accounts.add_staff(s, "race", n, "h")

    results = await asyncio.gather(add("271209"), add("131016"), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["DuplicateUsername", "StaffAccount"]


async def test_disable_and_password(db) -> None:
    sid = await _seed(db)
    async with db.session() as s:
        before = (await accounts.get_staff(s, sid)).password_changed_at
        assert (await accounts.set_disabled(s, "TANAKA", True)).disabled
    async with db.session() as s:
        assert (await accounts.get_staff(s, sid)).disabled
        await accounts.set_disabled(s, "tanaka", False)
        a = await accounts.set_password_hash(s, "tanaka", "hash-new")
    async with db.session() as s:
        a = await accounts.get_staff(s, sid)
        assert not a.disabled and a.password_hash == "hash-new"
        assert a.password_changed_at >= before
        with pytest.raises(InvalidRecord):
            await accounts.set_password_hash(s, "tanaka", "")


async def test_datasets(db) -> None:
    async with db.session() as s:
        await datasets.upsert_dataset(s, "sakai", "堺市 2023", "datasets/sakai", 120, created_by="admin:api-token")
        await datasets.upsert_dataset(s, "kita", "北区", "datasets/kita", 5)
    async with db.session() as s:
        d = await datasets.upsert_dataset(s, "sakai", "堺市 2024", "datasets/sakai", 130, created_by="staff:9")
        assert (d.name, d.buildings, d.created_by) == ("堺市 2024", 130, "admin:api-token")
    async with db.session() as s:
        assert sorted(d.id for d in await datasets.list_datasets(s)) == ["kita", "sakai"]
        assert (await datasets.get_dataset(s, "sakai")).buildings == 130
        assert await datasets.delete_dataset(s, "kita") is True
        assert await datasets.delete_dataset(s, "kita") is False
        assert await datasets.get_dataset(s, "kita") is None
    for bad in ({"id": "", "path": "x"}, {"id": "a", "path": "/etc"}, {"id": "a", "path": "../x"}):
        with pytest.raises(InvalidRecord):
            async with db.session() as s:
                await datasets.upsert_dataset(s, bad["id"], "n", bad["path"])


async def test_audit_store(db) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    async with db.session() as s:
        n = await audit_store.insert_events(s, [
            {"kind": "refused", "principal": "anon:abc", "action": "enter_zone", "code": "staff_only", "resource": "zone:back", "at": t0},
            {"kind": "login", "principal": "staff:1", "node": "n1"},
            {"kind": "x" * 100, "principal": "p" * 200},  # cut to the column widths, not an error
        ])
    assert n == 3
    async with db.session() as s:
        rows = await audit_store.list_events(s)
        assert [r.kind for r in rows][-1] == "refused"  # newest first; t0 is oldest
        assert [r.code for r in await audit_store.list_events(s, principal="anon:abc")] == ["staff_only"]
        assert [r.principal for r in await audit_store.list_events(s, kind="login")] == ["staff:1"]
        assert len(await audit_store.list_events(s, since=datetime(2026, 6, 1, tzinfo=timezone.utc))) == 2
        assert {len(r.kind) for r in rows} <= {5, 7, 40}
        assert rows[-1].at == t0
