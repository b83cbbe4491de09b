"""The event service on a real migrated database, SQLite and PostgreSQL (``db`` fixture): the
migration, capacity under concurrent registrations (the rest become spectators), a cancel
promoting the first spectator (also when cancels race), event validation against staff
accounts, overlap, cancelling an event, the running event in memory, and the contact purge, all
with an explicit clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select

from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.db import migrate
from yakuba.server.db.models import EventRegistration, HallEvent
from yakuba.server.events.service import EventService
from yakuba.server.protocol.errors import ErrorCode, ProtocolError

from auth.helpers import add_staff

NOW = datetime(2025, 4, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 in Japan
ANON = resident("127.0.0.1")


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


async def _code(aw) -> ErrorCode:
    with pytest.raises(ProtocolError) as e:
        await aw
    return e.value.code


async def _staff(db, name: str = "sato") -> Principal:
    sid = await add_staff(db, name, code="131016")
    return Principal(kind=Kind.STAFF, staff_id=sid, municipality="131016", roles=frozenset({"staff"}))


async def _counts(db, event_id: int) -> tuple[int, int, dict[str, int]]:
    """The event's stored counts and the roles of its active registrations, counted."""
    async with db.session() as s:
        e = await s.get(HallEvent, event_id)
        regs = (await s.scalars(select(EventRegistration).where(EventRegistration.event_id == event_id,
                                                                EventRegistration.status == "registered"))).all()
    roles = {"attendee": 0, "spectator": 0}
    for r in regs:
        roles[r.role] += 1
    return e.attendees, e.spectators, roles


async def test_migration_adds_and_removes_the_tables(db_url: str) -> None:
    from yakuba.server.db.engine import Database

    d = Database(db_url)

    async def tables() -> set[str]:
        async with d.engine.connect() as c:
            return set(await c.run_sync(lambda sc: inspect(sc).get_table_names()))

    try:
        await migrate.upgrade(d)
        assert {"events", "event_registrations"} <= await tables()
        assert await migrate.current_revision(d) == migrate.head_revision()  # later migrations (0004 tenants) sit on top
        await migrate.downgrade(d, "0002")
        assert not {"events", "event_registrations"} & await tables() and "consult_bookings" in await tables()
        await migrate.upgrade(d)
        assert "event_registrations" in await tables()
    finally:
        await d.close()


async def test_capacity_then_spectators_under_concurrent_registrations(db) -> None:
    staff = await _staff(db)
    svc = EventService(db, clock=Clock(NOW))
    ev = await svc.create(staff, "採用説明会", "briefing", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1), 3,
                          [staff.staff_id])
    assert ev["status"] == "scheduled" and ev["presenters"] == [staff.staff_id] and ev["starts"] == "2025-04-02T09:00+09:00"
    results = await asyncio.gather(*(svc.register(ANON, ev["id"], f"n{i}") for i in range(8)))
    roles = [reg.role for reg, _ in results]
    assert roles.count("attendee") == 3 and roles.count("spectator") == 5  # never turned away
    assert len({reg.code for reg, _ in results}) == 8
    assert await _counts(db, ev["id"]) == (3, 5, {"attendee": 3, "spectator": 5})
    # the (capacity + 1)th, in order, is a spectator
    reg, e = await svc.register(ANON, ev["id"])
    assert reg.role == "spectator" and e.attendees == 3 and e.spectators == 6
    (listed,) = await svc.upcoming()
    assert listed["attendees"] == 3 and listed["spectators"] == 6 and "presenters" not in listed


async def test_a_cancel_promotes_the_first_spectator(db) -> None:
    staff = await _staff(db)
    svc = EventService(db, clock=Clock(NOW))
    ev = await svc.create(staff, "まちづくり説明会", "meeting", NOW + timedelta(hours=2), NOW + timedelta(hours=3), 2, [])
    regs = [(await svc.register(ANON, ev["id"], f"n{i}"))[0] for i in range(5)]
    assert [r.role for r in regs] == ["attendee", "attendee", "spectator", "spectator", "spectator"]
    # a spectator leaving frees nothing and promotes nobody
    r, e, promoted = await svc.cancel(ANON, ev["id"], regs[3].code)
    assert r.status == "cancelled" and promoted is None and (e.attendees, e.spectators) == (2, 2)
    # an attendee leaving: the first spectator still registered (#2, not the cancelled #3) takes the place
    r, e, promoted = await svc.cancel(ANON, ev["id"], regs[0].code.lower())
    assert promoted == regs[2].id and (e.attendees, e.spectators) == (2, 1)
    found, _ = await svc.find(ev["id"], regs[2].code)
    assert found.role == "attendee"
    assert await _code(svc.cancel(ANON, ev["id"], regs[0].code)) is ErrorCode.REGISTRATION_CANCELLED
    assert await _code(svc.cancel(ANON, ev["id"], "ACDE-FHJK")) is ErrorCode.UNKNOWN_REGISTRATION
    assert await _code(svc.cancel(ANON, ev["id"] + 1, regs[1].code)) is ErrorCode.UNKNOWN_REGISTRATION  # codes are per event
    # attendees leave with nobody waiting: places free up, and the next registrant attends
    await svc.cancel(ANON, ev["id"], regs[1].code)  # promotes #4
    await svc.cancel(ANON, ev["id"], regs[4].code)
    assert await _counts(db, ev["id"]) == (1, 0, {"attendee": 1, "spectator": 0})
    reg, e = await svc.register(ANON, ev["id"])
    assert reg.role == "attendee" and e.attendees == 2


async def test_racing_cancels_promote_distinct_spectators(db) -> None:
    staff = await _staff(db)
    svc = EventService(db, clock=Clock(NOW))
    ev = await svc.create(staff, "説明会", "meeting", NOW + timedelta(hours=2), NOW + timedelta(hours=3), 4, [])
    regs = [(await svc.register(ANON, ev["id"]))[0] for i in range(10)]
    out = await asyncio.gather(*(svc.cancel(ANON, ev["id"], r.code) for r in regs[:4]))
    promoted = sorted(p for _, _, p in out)
    assert promoted == sorted(r.id for r in regs[4:8])  # the four first spectators, each once
    assert await _counts(db, ev["id"]) == (4, 2, {"attendee": 4, "spectator": 2})


async def test_events_are_checked_against_staff_accounts_and_each_other(db) -> None:
    staff = await _staff(db)
    svc = EventService(db, clock=Clock(NOW))
    start = NOW + timedelta(days=3)
    with pytest.raises(ProtocolError) as e:
        await svc.create(staff, "説明会", "briefing", start, start + timedelta(hours=1), 10, [staff.staff_id, 999])
    assert e.value.code is ErrorCode.INVALID_EVENT and e.value.message == "presenters: no active staff account 999"
    assert await _code(svc.create(staff, "説明会", "briefing", start, start - timedelta(hours=1), 10, [])) is ErrorCode.INVALID_EVENT
    first = await svc.create(staff, "説明会", "briefing", start, start + timedelta(hours=2), 10, [])
    # the hall holds one event at a time; back to back is fine
    assert await _code(svc.create(staff, "別の会", "meeting", start + timedelta(hours=1), start + timedelta(hours=3), 10, [])) \
        is ErrorCode.EVENT_OVERLAP
    await svc.create(staff, "次の会", "meeting", start + timedelta(hours=2), start + timedelta(hours=3), 10, [])
    # a cancelled event frees its time, refuses registrations, and its codes still answer
    reg, _ = await svc.register(ANON, first["id"], "山田")
    out = await svc.cancel_event(staff, first["id"])
    assert out["status"] == "cancelled"
    assert (await svc.cancel_event(staff, first["id"]))["status"] == "cancelled"  # idempotent
    assert await _code(svc.register(ANON, first["id"])) is ErrorCode.EVENT_CLOSED
    found, e = await svc.find(first["id"], reg.code)
    assert found.status == "registered" and e.cancelled
    assert await _code(svc.cancel(ANON, first["id"], reg.code)) is ErrorCode.EVENT_CLOSED
    await svc.create(staff, "代わりの会", "meeting", start, start + timedelta(hours=1), 10, [])
    assert await _code(svc.cancel_event(staff, 999_999)) is ErrorCode.UNKNOWN_HALL_EVENT
    assert await _code(svc.register(ANON, 999_999)) is ErrorCode.UNKNOWN_HALL_EVENT
    assert [x["title"] for x in await svc.upcoming()] == ["代わりの会", "次の会"]


async def test_the_running_event_is_known_from_memory(db) -> None:
    staff = await _staff(db)
    kato = await _staff(db, "kato")
    clock = Clock(NOW)
    svc = EventService(db, clock=clock)
    assert svc.current() is None
    ev = await svc.create(staff, "説明会", "briefing", NOW + timedelta(minutes=30), NOW + timedelta(hours=1, minutes=30), 2,
                          [staff.staff_id, kato.staff_id])
    assert svc.current() is None  # not started yet, but already in memory:
    clock.t = NOW + timedelta(minutes=30)
    live = svc.current()
    assert live is not None and live.id == ev["id"] and live.capacity == 2
    assert live.presenters == frozenset({f"staff:{staff.staff_id}", f"staff:{kato.staff_id}"})
    # another node's change reaches this one at the next refresh
    other = EventService(db, clock=clock)
    await other.cancel_event(staff, ev["id"])
    assert svc.current() is not None
    await svc.refresh()
    assert svc.current() is None
    clock.t = NOW + timedelta(hours=3)
    assert svc.current() is None


async def test_contacts_are_erased_after_the_retention_period(db) -> None:
    staff = await _staff(db)
    clock = Clock(NOW)
    svc = EventService(db, retention=timedelta(days=30), clock=clock)
    ev = await svc.create(staff, "説明会", "meeting", NOW + timedelta(hours=1), NOW + timedelta(hours=2), 5, [])
    reg, _ = await svc.register(ANON, ev["id"], "山田", "yamada@example.jp")
    assert await svc.purge_contacts(NOW + timedelta(days=29)) == 0
    assert await svc.purge_contacts(NOW + timedelta(days=31)) == 1
    _, rows = await svc.registrations(ev["id"])
    assert rows[0].code == reg.code and rows[0].name is None and rows[0].email is None and rows[0].role == "attendee"
