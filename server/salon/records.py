"""The salon's durable records (issue #20, migration 0005): meeting-room bookings, the code of
conduct each account accepted, and reports to the administrators. Functions take an
``AsyncSession`` like db/tenants.py; callers ask the policy first."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from yakuba.server.db.models import SalonBooking, SalonConduct, SalonEvent, SalonReport, utcnow
from yakuba.server.protocol import ErrorCode, ProtocolError

CONDUCT_VERSION = 1  # raise it when the code's text changes: everyone accepts the new one
MAX_BOOKING = timedelta(hours=8)
MAX_AHEAD = timedelta(days=90)


# --- bookings -------------------------------------------------------------------------------------
async def book(s: AsyncSession, room: str, municipality: str, staff_id: int, starts: datetime, ends: datetime,
               now: datetime | None = None) -> SalonBooking:
    """A booking of ``room`` for [starts, ends), refused if it overlaps another (not cancelled).
    Two nodes booking one slot at once take turns (``serialise``), so the second sees the first's row."""
    now = now or utcnow()
    if not (starts < ends and ends - starts <= MAX_BOOKING and ends > now and starts < now + MAX_AHEAD):
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "a slot is up to 8 hours, ends in the future, starts within 90 days")
    await serialise(s, room)
    clash = await s.scalar(select(SalonBooking.id).where(
        SalonBooking.room == room, SalonBooking.cancelled_at.is_(None),
        SalonBooking.starts_at < ends, SalonBooking.ends_at > starts).limit(1))
    if clash is not None:
        raise ProtocolError(ErrorCode.SALON_ROOM_BOOKED)
    b = SalonBooking(room=room, municipality_code=municipality, staff_id=staff_id, starts_at=starts, ends_at=ends)
    s.add(b)
    await s.flush()
    return b


async def serialise(s: AsyncSession, room: str) -> None:
    """Writers of one room's bookings and event places take turns: on PostgreSQL a
    transaction-scoped advisory lock per room; SQLite has a single writer anyway."""
    if s.bind.dialect.name == "postgresql":
        await s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "salon_booking:" + room})


async def get_booking(s: AsyncSession, booking_id: int) -> SalonBooking:
    b = await s.get(SalonBooking, booking_id)
    if b is None or b.cancelled_at is not None:
        raise ProtocolError(ErrorCode.NOT_FOUND, "no such booking")
    return b


async def cancel_booking(s: AsyncSession, b: SalonBooking) -> None:
    """Cancel a meeting's booking (an event's is cancelled with its event)."""
    if await s.scalar(select(SalonEvent.id).where(SalonEvent.booking_id == b.id)) is not None:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "this booking is an event's: cancel the event")
    b.cancelled_at = utcnow()


async def set_locked(s: AsyncSession, room: str, locked: bool, now: datetime | None = None) -> SalonBooking | None:
    b = await running(s, room, now)
    if b is not None:
        b.locked = locked
    return b


async def locked_slots(s: AsyncSession, now: datetime) -> list[tuple[str, str, float, float]]:
    """(room, municipality, start, end) of the locked bookings not yet ended (holds.py)."""
    rows = await s.scalars(select(SalonBooking).where(SalonBooking.locked.is_(True), SalonBooking.cancelled_at.is_(None),
                                                      SalonBooking.ends_at > now))
    return [(b.room, b.municipality_code, b.starts_at.timestamp(), b.ends_at.timestamp()) for b in rows]


async def bookings(s: AsyncSession, room: str | None, since: datetime) -> list[SalonBooking]:
    q = select(SalonBooking).where(SalonBooking.cancelled_at.is_(None), SalonBooking.ends_at > since)
    if room is not None:
        q = q.where(SalonBooking.room == room)
    return list(await s.scalars(q.order_by(SalonBooking.starts_at).limit(200)))


async def running(s: AsyncSession, room: str, now: datetime | None = None) -> SalonBooking | None:
    """The booking of ``room`` that covers ``now``, if any."""
    now = now or utcnow()
    return await s.scalar(select(SalonBooking).where(
        SalonBooking.room == room, SalonBooking.cancelled_at.is_(None),
        SalonBooking.starts_at <= now, SalonBooking.ends_at > now).limit(1))


def out(b: SalonBooking) -> dict:
    return {"id": b.id, "room": b.room, "municipality": b.municipality_code, "staff": b.staff_id,
            "start": b.starts_at.isoformat(), "end": b.ends_at.isoformat(), "locked": b.locked}


# --- conduct --------------------------------------------------------------------------------------
async def conduct_accepted(s: AsyncSession, staff_id: int) -> bool:
    v = await s.scalar(select(SalonConduct.version).where(SalonConduct.staff_id == staff_id))
    return v is not None and v >= CONDUCT_VERSION


async def accept_conduct(s: AsyncSession, staff_id: int) -> None:
    row = await s.get(SalonConduct, staff_id)
    if row is None:
        s.add(SalonConduct(staff_id=staff_id, version=CONDUCT_VERSION, accepted_at=utcnow()))
    else:
        row.version, row.accepted_at = CONDUCT_VERSION, utcnow()


# --- reports --------------------------------------------------------------------------------------
async def report(s: AsyncSession, reporter: int, reported_avatar: int, reported_staff: int | None, room: str,
                 note: str | None) -> SalonReport:
    r = SalonReport(reporter=reporter, reported_avatar=reported_avatar, reported_staff=reported_staff, room=room, note=note)
    s.add(r)
    await s.flush()
    return r


async def reports(s: AsyncSession, limit: int = 200) -> list[dict]:
    rows = await s.scalars(select(SalonReport).order_by(SalonReport.at.desc()).limit(limit))
    return [{"id": r.id, "at": r.at.isoformat(), "reporter": r.reporter, "reported_staff": r.reported_staff,
             "reported_avatar": r.reported_avatar, "room": r.room, "note": r.note} for r in rows]


__all__ = ["CONDUCT_VERSION", "accept_conduct", "book", "bookings", "cancel_booking", "get_booking", "locked_slots", "serialise", "set_locked", "conduct_accepted", "out", "report", "reports", "running"]
