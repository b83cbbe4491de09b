"""The reservation service on a real migrated database, SQLite and PostgreSQL (``db`` fixture):
capacity under concurrent bookings, cancel, check-in, withdraw, the day view, and the sweep
(no-shows, contact data erased after the retention period), all with an explicit clock."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select

from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.consult.catalogue import load_catalogue
from yakuba.server.consult.reservation_service import Policy, ReservationService
from yakuba.server.db import migrate
from yakuba.server.db.models import ConsultBooking
from yakuba.server.protocol.errors import ErrorCode, ProtocolError

NOW = datetime(2025, 4, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 in Japan
STAFF = Principal(kind=Kind.STAFF, staff_id=12, municipality="131016", roles=frozenset({"staff"}))
ANON = resident("127.0.0.1")


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def _svc(db, clock: Clock, **policy) -> ReservationService:
    return ReservationService(db, load_catalogue(), Policy(**policy), clock=clock, origin="https://city.example.jp")


async def _code(aw) -> ErrorCode:
    with pytest.raises(ProtocolError) as e:
        await aw
    return e.value.code


async def test_migration_adds_and_removes_the_tables(db_url: str) -> None:
    from yakuba.server.db.engine import Database

    d = Database(db_url)

    async def tables() -> set[str]:
        async with d.engine.connect() as c:
            return set(await c.run_sync(lambda sc: inspect(sc).get_table_names()))

    try:
        await migrate.upgrade(d)
        assert {"consult_slots", "consult_bookings"} <= await tables()
        await migrate.downgrade(d, "0001")
        assert not {"consult_slots", "consult_bookings"} & await tables() and "jobs" in await tables()
        await migrate.upgrade(d)
        assert "consult_bookings" in await tables()
    finally:
        await d.close()


async def test_capacity_holds_under_concurrent_bookings(db) -> None:
    svc = _svc(db, Clock(NOW))
    (slot,) = await svc.publish(STAFF, "tax.payment", NOW + timedelta(days=1), NOW + timedelta(days=1, minutes=25), 2)
    assert slot["department"] == "tax" and slot["free"] == 2 and slot["start"] == "2025-04-02T09:00+09:00"
    results = await asyncio.gather(*(svc.book(ANON, slot["id"]) for _ in range(6)), return_exceptions=True)
    ok = [x for x in results if not isinstance(x, BaseException)]
    refused = [x for x in results if isinstance(x, ProtocolError)]
    assert len(ok) == 2 and len(refused) == 4 and {e.code for e in refused} == {ErrorCode.SLOT_FULL}
    assert len({b.code for b, _ in ok}) == 2
    assert await svc.free_slots("tax.payment", None, None) == []  # full slots are not offered
    # a cancel gives the place back
    await svc.cancel(ANON, ok[0][0].code.lower())
    (free,) = await svc.free_slots("tax.payment", None, None)
    assert free["free"] == 1
    assert await _code(svc.cancel(ANON, ok[0][0].code)) is ErrorCode.BOOKING_CLOSED
    assert await _code(svc.book(ANON, 999_999)) is ErrorCode.UNKNOWN_SLOT
    assert await _code(svc.publish(STAFF, "tax.nothing", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))) is ErrorCode.UNKNOWN_TOPIC


async def test_cancel_window_check_in_and_withdraw(db) -> None:
    clock = Clock(NOW)
    svc = _svc(db, clock, cancel_before=timedelta(hours=1))
    start = NOW + timedelta(hours=3)
    slots = await svc.publish(STAFF, "resident.moving", start, start + timedelta(minutes=15), 1, {"count": 3})
    assert [s["start"][11:16] for s in slots] == ["12:00", "12:15", "12:30"]
    b1, _ = await svc.book(ANON, slots[0]["id"], name=" 山田 ", email="yamada@example.jp")
    b2, _ = await svc.book(ANON, slots[1]["id"])
    assert b1.name == "山田" and b2.email is None and b2.name is None  # nothing stored unless given
    clock.t = start - timedelta(minutes=59)
    assert await _code(svc.cancel(ANON, b1.code)) is ErrorCode.TOO_LATE_TO_CANCEL
    # the desk: too early, then in the window, then used
    assert await _code(svc.check_in(b1.code, now=start - timedelta(minutes=31))) is ErrorCode.CHECK_IN_WINDOW
    assert await svc.check_in(b1.code, now=start - timedelta(minutes=10)) == ("resident.moving", b1.id)
    assert await _code(svc.check_in(b1.code, now=start)) is ErrorCode.BOOKING_CLOSED
    assert await _code(svc.check_in("ACDE-3479")) is ErrorCode.UNKNOWN_BOOKING
    # staff withdraw the second slot: its booking is cancelled, its code says so
    assert await svc.withdraw(STAFF, slots[1]["id"]) == 1
    b2x, _ = await svc.find(b2.code)
    assert b2x.status == "cancelled"
    assert await _code(svc.withdraw(STAFF, slots[1]["id"])) is ErrorCode.UNKNOWN_SLOT
    day = await svc.day(date(2025, 4, 1))
    assert [s["withdrawn"] for s in day["slots"]] == [False, True, False]
    assert day["slots"][0]["bookings"] == [{"id": b1.id, "code": f"{b1.code[:4]}-{b1.code[4:]}", "status": "checked_in",
                                            "name": "山田", "email_given": True}]
    assert (await svc.day(date(2025, 4, 2)))["slots"] == []


async def test_sweep_marks_no_shows_and_purges_contacts_after_retention(db) -> None:
    clock = Clock(NOW)
    svc = _svc(db, clock, retention=timedelta(days=30))
    start = NOW + timedelta(hours=2)
    (slot,) = await svc.publish(STAFF, "tax.payment", start, start + timedelta(minutes=30), 3)
    came, _ = await svc.book(ANON, slot["id"], name="来た人", email="came@example.jp")
    absent, _ = await svc.book(ANON, slot["id"], name="来ない人", email="absent@example.jp")
    await svc.check_in(came.code, now=start)
    assert await svc.sweep(start) == {"no_show": 0, "purged": 0, "reminded": 0}  # slot not over
    end = start + timedelta(minutes=30)
    assert (await svc.sweep(end))["no_show"] == 1
    # 30 days after the end: still kept; a moment later: erased, the rest of the record stays
    assert await svc.purge_contacts(end + timedelta(days=30)) == 0
    assert await svc.purge_contacts(end + timedelta(days=30, seconds=1)) == 2
    async with db.session() as s:
        rows = (await s.scalars(select(ConsultBooking).order_by(ConsultBooking.id))).all()
    assert [(b.name, b.email, b.status) for b in rows] == [(None, None, "checked_in"), (None, None, "no_show")]
    assert {b.code for b in rows} == {came.code, absent.code}
    assert await svc.purge_contacts(end + timedelta(days=60)) == 0  # nothing left to erase
