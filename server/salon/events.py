"""Salon events as durable records (issue #20): an organiser schedules an event in a salon room
(title, time, capacity, hybrid or not), members register, and the organiser moderates while it
runs (mute, remove). An event holds its room through a booking of its own (records.book), so it
never overlaps a meeting; cancelling the event cancels that booking.

Functions take an ``AsyncSession`` like records.py; callers ask the policy first. Moderation is
kept on the member's row so every node (and one that starts during the event) applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from yakuba.server.db.models import SalonBooking, SalonEvent, SalonEventMember, StaffAccount, utcnow
from yakuba.server.protocol import ErrorCode, ProtocolError
from yakuba.server.salon import records

MAX_CAPACITY = 200  # a salon room is not the event hall
SCHEDULE_AHEAD = timedelta(hours=24)  # what a node keeps in memory to hold rooms (holds.py)


@dataclass(frozen=True)
class EventSlot:
    """What a node needs to hold the room while the event runs (holds.py)."""

    id: int
    title: str
    room: str
    starts: float  # epoch seconds
    ends: float
    organiser: int
    hybrid: bool
    guests: frozenset[int]  # registered and not removed (the organiser included)
    removed: frozenset[int]
    muted: frozenset[int]


async def create(s, organiser: int, municipality: str, title: str, room: str, starts: datetime, ends: datetime,
                 capacity: int, hybrid: bool) -> SalonEvent:
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, f"capacity: 1 to {MAX_CAPACITY}")
    b = await records.book(s, room, municipality, organiser, starts, ends)
    e = SalonEvent(title=title, booking_id=b.id, organiser=organiser, capacity=capacity, hybrid=hybrid)
    s.add(e)
    await s.flush()
    s.add(SalonEventMember(event_id=e.id, staff_id=organiser))  # the organiser has a place
    await s.flush()
    return e


async def get(s, event_id: int) -> tuple[SalonEvent, SalonBooking]:
    row = (await s.execute(select(SalonEvent, SalonBooking).join(SalonBooking, SalonEvent.booking_id == SalonBooking.id)
                           .where(SalonEvent.id == event_id, SalonBooking.cancelled_at.is_(None)))).first()
    if row is None:
        raise ProtocolError(ErrorCode.NOT_FOUND, "no such salon event")
    return row[0], row[1]


async def _count(s, event_id: int) -> int:
    return await s.scalar(select(func.count()).select_from(SalonEventMember).where(
        SalonEventMember.event_id == event_id, SalonEventMember.removed.is_(False))) or 0


async def register(s, event_id: int, staff_id: int, now: datetime | None = None) -> SalonEventMember:
    """A place for ``staff_id`` (again idempotent); the places are counted in the same transaction
    (on PostgreSQL under the room's advisory lock, like bookings)."""
    e, b = await get(s, event_id)
    if b.ends_at <= (now or utcnow()):
        raise ProtocolError(ErrorCode.EVENT_CLOSED, "the event has ended")
    row = await s.get(SalonEventMember, (event_id, staff_id))
    if row is not None:
        if row.removed:
            raise ProtocolError(ErrorCode.SALON_REMOVED)
        return row
    await records.serialise(s, b.room)
    if await _count(s, event_id) >= e.capacity:
        raise ProtocolError(ErrorCode.SALON_EVENT_FULL)
    row = SalonEventMember(event_id=event_id, staff_id=staff_id)
    s.add(row)
    await s.flush()
    return row


async def unregister(s, event_id: int, staff_id: int) -> None:
    e, _ = await get(s, event_id)
    row = await s.get(SalonEventMember, (event_id, staff_id))
    if row is None or row.removed:
        raise ProtocolError(ErrorCode.UNKNOWN_REGISTRATION)
    if staff_id == e.organiser:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "the organiser cancels the event instead")
    await s.delete(row)


async def cancel(s, event_id: int) -> SalonEvent:
    e, b = await get(s, event_id)
    b.cancelled_at = utcnow()
    return e


async def moderate(s, event_id: int, staff_id: int, action: str) -> None:
    """``mute``, ``unmute`` or ``remove`` a registered member (someone not registered is not in
    the room while the event runs: the hold admits registrants only)."""
    row = await s.get(SalonEventMember, (event_id, staff_id))
    if row is None:
        row = SalonEventMember(event_id=event_id, staff_id=staff_id)
        s.add(row)
    if action == "remove":
        row.removed = True
    else:
        row.muted = action == "mute"
    await s.flush()


async def upcoming(s, now: datetime, me: int | None) -> list[dict]:
    """Events not yet ended, soonest first, with the places taken and whether ``me`` has one."""
    rows = (await s.execute(select(SalonEvent, SalonBooking, StaffAccount.display_name, StaffAccount.municipality_code)
                            .join(SalonBooking, SalonEvent.booking_id == SalonBooking.id)
                            .join(StaffAccount, StaffAccount.id == SalonEvent.organiser)
                            .where(SalonBooking.cancelled_at.is_(None), SalonBooking.ends_at > now)
                            .order_by(SalonBooking.starts_at).limit(100))).all()
    ids = [e.id for e, *_ in rows]
    taken = dict((await s.execute(select(SalonEventMember.event_id, func.count()).where(
        SalonEventMember.event_id.in_(ids), SalonEventMember.removed.is_(False)).group_by(SalonEventMember.event_id))).all())
    mine = set(await s.scalars(select(SalonEventMember.event_id).where(
        SalonEventMember.event_id.in_(ids), SalonEventMember.staff_id == me, SalonEventMember.removed.is_(False)))) if me is not None else set()
    out = []
    for e, b, name, muni in rows:  # one query for the places and one for mine, not two per event
        out.append({"id": e.id, "title": e.title, "room": b.room, "start": b.starts_at.isoformat(),
                    "end": b.ends_at.isoformat(), "capacity": e.capacity, "taken": taken.get(e.id, 0),
                    "hybrid": e.hybrid, "organiser": {"staff": e.organiser, "display_name": name, "municipality": muni},
                    "registered": e.id in mine})
    return out


async def slots(s, now: datetime) -> list[EventSlot]:
    """Events running now or starting within SCHEDULE_AHEAD, with their members (holds.py)."""
    rows = (await s.execute(select(SalonEvent, SalonBooking).join(SalonBooking, SalonEvent.booking_id == SalonBooking.id)
                            .where(SalonBooking.cancelled_at.is_(None), SalonBooking.ends_at > now,
                                   SalonBooking.starts_at < now + SCHEDULE_AHEAD))).all()
    members: dict[int, list[SalonEventMember]] = {}
    for m in await s.scalars(select(SalonEventMember).where(SalonEventMember.event_id.in_([e.id for e, _ in rows]))):
        members.setdefault(m.event_id, []).append(m)
    out = []
    for e, b in rows:
        ms = members.get(e.id, [])
        out.append(EventSlot(e.id, e.title, b.room, b.starts_at.timestamp(), b.ends_at.timestamp(), e.organiser, e.hybrid,
                             frozenset(m.staff_id for m in ms if not m.removed),
                             frozenset(m.staff_id for m in ms if m.removed),
                             frozenset(m.staff_id for m in ms if m.muted)))
    return out


__all__ = ["EventSlot", "MAX_CAPACITY", "cancel", "create", "get", "moderate", "register", "slots", "unregister", "upcoming"]
