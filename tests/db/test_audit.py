"""AuditLog: a log line and a row per event, ids only, never blocking or failing the caller."""

from __future__ import annotations

import logging

import pytest

from yakuba.server.auth.audit import AuditLog
from yakuba.server.auth.policy import Action, PolicyDenied, ZoneResource, require
from yakuba.server.auth.principal import Kind, Principal
from yakuba.server.db.audit_store import list_events
from yakuba.server.db.engine import Database
from yakuba.world.layout import load_layout
from yakuba.world.zones import Role, may_enter


def _staff_only_zone():
    for z in load_layout().zones.values():
        if may_enter(z, 1, Role.RESIDENT, None) is not None and may_enter(z, 1, Role.STAFF, None) is None:
            return z
    pytest.skip("layout has no staff-only zone")


async def test_policy_refusal_is_audited_with_ids_only(db, caplog) -> None:
    caplog.set_level(logging.INFO, logger="yakuba.audit")
    audit = AuditLog(db, node_id="node-a")
    visitor = Principal(kind=Kind.RESIDENT, client_key="sid123")
    zone = _staff_only_zone()
    with pytest.raises(PolicyDenied) as e:
        require(visitor, Action.ENTER_ZONE, ZoneResource(zone, 7), audit=audit)
    with pytest.raises(PolicyDenied):
        require(visitor, Action.UPLOAD_DATASET, audit=audit)
    audit.record("login", Principal(kind=Kind.STAFF, staff_id=12, municipality="271209"), resource="session:abc")
    await audit.flush()
    async with db.session() as s:
        rows = await list_events(s)
    got = sorted((r.kind, r.principal, r.action, r.code, r.resource, r.node) for r in rows)
    assert got == sorted([
        ("refused", "anon:sid123", "enter_zone", e.value.code, f"zone:{zone.id}", "node-a"),
        ("refused", "anon:sid123", "upload_dataset", "forbidden", None, "node-a"),
        ("login", "staff:12", None, None, "session:abc", "node-a"),
    ])
    lines = [r.getMessage() for r in caplog.records if r.name == "yakuba.audit"]
    assert len(lines) == 3 and all("principal=" in ln for ln in lines)
    assert "principal=staff:12" in lines[2]
    await audit.close()
    assert audit.written == 3 and audit.dropped == 0


async def test_full_queue_drops_without_raising(db) -> None:
    audit = AuditLog(db, node_id="n", maxsize=2)
    p = Principal(kind=Kind.STAFF, staff_id=1)
    for _ in range(5):  # synchronous burst: the writer has had no turn yet
        audit.record("refused", p, action="chat", code="rate_limited")
    assert audit.dropped == 3
    await audit.flush()
    async with db.session() as s:
        assert len(await list_events(s)) == 2
    await audit.close()


async def test_database_down_does_not_reach_the_caller(tmp_path, caplog) -> None:
    broken = Database(f"sqlite:///{tmp_path / 'no-schema.sqlite3'}")  # never migrated: inserts fail
    audit = AuditLog(broken, node_id="n")
    audit.refused(Principal(), "chat", "forbidden")
    await audit.flush()
    assert audit.dropped == 1 and audit.written == 0
    assert "not stored" in caplog.text
    audit.refused(Principal(), "chat", "forbidden")  # the writer is still alive after a failure
    await audit.flush()
    assert audit.dropped == 2
    await audit.close()
    await broken.close()


async def test_events_after_close_are_logged_not_queued(db, caplog) -> None:
    caplog.set_level(logging.INFO, logger="yakuba.audit")
    audit = AuditLog(db, node_id="n")
    audit.record("login", Principal(kind=Kind.STAFF, staff_id=3))
    await audit.close()  # writes what was queued first
    assert audit.written == 1 and audit.task is None
    # A socket closing during shutdown: logged, counted, and no writer task left running.
    audit.refused(Principal(kind=Kind.STAFF, staff_id=3), "chat", "forbidden")
    assert audit.task is None and audit.dropped == 1 and audit.queue.empty()
    assert "principal=staff:3 action=chat" in caplog.text
    audit.start()  # reopened (a test app restarted on the same log)
    audit.refused(Principal(kind=Kind.STAFF, staff_id=3), "chat", "forbidden")
    await audit.flush()
    async with db.session() as s:
        assert [r.kind for r in await list_events(s)] == ["refused", "login"]
    await audit.close()


async def test_close_gives_up_on_a_stuck_database_and_counts_the_loss() -> None:
    import asyncio
    import socket

    # A real PostgreSQL client against a port that takes the TCP connection and never answers
    # (a database behind a dead link): close() must not wait forever, and says what was lost.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # never accept()ed: the kernel completes the handshake, nobody replies
        stuck = Database(f"postgresql://yakuba@127.0.0.1:{silent.getsockname()[1]}/none")
        audit = AuditLog(stuck, node_id="n")
        for i in range(3):
            audit.record("refused", Principal(kind=Kind.STAFF, staff_id=i), action="chat", code="forbidden")
        await asyncio.sleep(0)  # the writer takes the batch and waits on the database
        audit.record("refused", Principal(kind=Kind.STAFF, staff_id=9), action="chat", code="forbidden")
        await audit.close(timeout=0.2)
        assert audit.task is None and audit.written == 0 and audit.dropped == 4 and audit.queue.empty()
        await stuck.close()
