"""Zone -> room: one room per zone, created on first use, its type from the zone."""

from __future__ import annotations

from typing import Any, Callable

from yakuba.world.layout import Layout

from .base import Room
from .booth import BoothRoom
from .hall import HallRoom
from .lobby import LobbyRoom
from .salon import SalonRoom


def room_type_for(layout: Layout, zone_id: str) -> type[Room]:
    z = layout.zones.get(zone_id)
    if z is None:
        return LobbyRoom
    if z.access == "members_when_locked":
        return BoothRoom
    if z.id == "hall" or z.kind == "hall":
        return HallRoom
    if z.id.startswith("salon"):
        return SalonRoom
    return LobbyRoom


class RoomRegistry:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.rooms: dict[str, Room] = {}  # room id (= zone id) -> room
        # Called (room, member) after a member leaves a room, whatever the cause (walked out,
        # put out by a lock, disconnected, removed): the media service ends that member's media.
        self.left: list[Callable[[Room, int], None]] = []
        self.created: list[Callable[[Room], None]] = []  # a new room, before its first member (the hall desk)

    def get(self, zone_id: str) -> Room:
        room = self.rooms.get(zone_id)
        if room is None:
            room = self.rooms[zone_id] = room_type_for(self.layout, zone_id)(zone_id)
            for fn in self.created:
                fn(room)
        return room

    def move(self, member: int, old_zone: str | None, new_zone: str | None) -> Room | None:
        """Leave the old zone's room, join the new one's; returns the room joined."""
        if old_zone is not None and old_zone in self.rooms and old_zone != new_zone:
            old = self.rooms[old_zone]
            if member in old.members:
                old.leave(member)
                for fn in self.left:
                    fn(old, member)
        if new_zone is None:
            return None
        room = self.get(new_zone)
        room.join(member)
        return room

    def flush(self, now: float) -> list[tuple[Room, dict[str, Any]]]:
        """Every room's patch that is due now."""
        out = []
        for room in self.rooms.values():
            msg = room.due(now)
            if msg is not None:
                out.append((room, msg))
        return out


__all__ = ["RoomRegistry", "room_type_for"]
