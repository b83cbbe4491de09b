"""Which salon rooms are held now, and by whom (issue #20): pure, from the schedule a node keeps
in memory (locked bookings and events of the next hours, reloaded from SQL on every change) and a
time. A running event holds its room for its registrants; a locked booking holds it for its
municipality's staff. The desk applies the result to the world's rule each tick, so a lock or an
event starts and ends on time on every node without a message at that moment."""

from __future__ import annotations

from dataclasses import dataclass, field

from yakuba.world.zones import RoomHold

from .events import EventSlot


@dataclass(frozen=True)
class Schedule:
    locks: tuple[tuple[str, str, float, float], ...] = ()  # (room, municipality, start, end)
    events: tuple[EventSlot, ...] = field(default=())


def running_event(schedule: Schedule, room: str, now: float) -> EventSlot | None:
    return next((e for e in schedule.events if e.room == room and e.starts <= now < e.ends), None)


def holds_at(schedule: Schedule, now: float) -> dict[str, RoomHold]:
    out: dict[str, RoomHold] = {}
    for room, muni, starts, ends in schedule.locks:
        if starts <= now < ends:
            out[room] = RoomHold(municipality=muni)
    for e in schedule.events:  # an event's hold wins: it has a booking of its own, never both
        if e.starts <= now < e.ends:
            out[e.room] = RoomHold(guests=e.guests, muted=e.muted, organiser=e.organiser)
    return out


__all__ = ["Schedule", "holds_at", "running_event"]
