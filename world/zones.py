"""Zone access rules: who may be in a zone. Pure functions, no state of their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from .layout import Zone


class Role(str, Enum):
    RESIDENT = "resident"
    STAFF = "staff"


@dataclass
class BoothState:
    """A booth's lock. While locked only its members may be inside (no third party)."""

    locked: bool = False
    members: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class RoomHold:
    """Who a held salon room admits (issue #20): a municipality's staff (a meeting room locked
    under that municipality's booking) and named staff (a running event's registrants and its
    organiser). ``muted``: staff the organiser muted, who may stay but not speak. Staff are
    identified by their account id, which the server issued with the avatar's card."""

    municipality: str | None = None
    guests: frozenset[int] = frozenset()
    muted: frozenset[int] = frozenset()
    organiser: int | None = None  # a running event's organiser (staff id): the room's screen is theirs

    def admits(self, municipality: str | None, staff: int | None) -> bool:
        if self.municipality is not None and municipality == self.municipality:
            return True
        return staff is not None and staff in self.guests


# Reasons returned by may_enter (they are also the wire error codes).
ZONE_FORBIDDEN = "zone_forbidden"
BOOTH_LOCKED = "booth_locked"
SALON_STAFF_ONLY = "salon_staff_only"
SALON_ROOM_LOCKED = "salon_room_locked"


def may_enter(zone: Zone, avatar_id: int, role: Role, booth: BoothState | None = None, *,
              verified: bool = False, municipality: str | None = None, staff: int | None = None,
              held_by: RoomHold | None = None) -> str | None:
    """None when the avatar may be in ``zone``, else the reason code.

    Salon zones (access ``salon``, issue #20) take staff whose identity the server verified
    (``verified``, set from the session, carried with the avatar to other nodes); a salon meeting
    room that is held (``held_by``: locked by a municipality, or a running event) takes only those
    the hold admits; those already inside are not this rule's business.
    """
    if zone.access == "public":
        return None
    if zone.access == "staff":
        return None if role is Role.STAFF else ZONE_FORBIDDEN
    if zone.access == "salon":
        if role is not Role.STAFF or not verified:
            return SALON_STAFF_ONLY
        return None if held_by is None or held_by.admits(municipality, staff) else SALON_ROOM_LOCKED
    if zone.access == "members_when_locked":
        if booth is None or not booth.locked:
            return None
        # Staff are refused too: a locked consultation is private even from colleagues.
        return None if avatar_id in booth.members else BOOTH_LOCKED
    return ZONE_FORBIDDEN
