"""A room owns one feature's live state: its members, a state dict with a version, and the
intents that change it.

A client gets the room's ``snapshot()`` (event ``room``) when it joins; changes accumulate as a
pending patch that ``due(now)`` hands out at most ``patch_hz`` times a second (event
``room_patch``), apart from the 10 Hz movement snapshots. Pure: the caller passes the time.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

from yakuba.server.auth.principal import Principal


class RoomError(Exception):
    """An intent the room refuses; ``code`` is the wire error code."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class Room:
    type: ClassVar[str] = "room"
    patch_hz: ClassVar[float] = 5.0

    def __init__(self, room_id: str) -> None:
        self.id = room_id
        self.members: set[int] = set()  # avatar ids
        self.state: dict[str, Any] = self.initial_state()
        self.version = 0
        self._pending: dict[str, Any] = {}
        self._next_at = -math.inf

    # -- for subclasses -----------------------------------------------------------------------
    def initial_state(self) -> dict[str, Any]:
        return {}

    def on_intent(self, principal: Principal, member: int, intent: dict[str, Any]) -> dict[str, Any] | None:
        """The patch an intent makes (None: no change). Raise RoomError to refuse."""
        raise RoomError("unknown_intent", f"{self.type} takes no intents")

    def on_members(self) -> dict[str, Any] | None:
        """The patch a membership change makes (None: members are not part of the state)."""
        return None

    # -- the room's life ----------------------------------------------------------------------
    def join(self, member: int) -> None:
        if member not in self.members:
            self.members.add(member)
            self._apply(self.on_members())

    def leave(self, member: int) -> None:
        if member in self.members:
            self.members.discard(member)
            self._apply(self.on_members())

    def handle(self, principal: Principal, member: int, intent: dict[str, Any]) -> dict[str, Any] | None:
        if member not in self.members:
            raise RoomError("not_member", f"not in room {self.id}")
        patch = self.on_intent(principal, member, intent)
        self._apply(patch)
        return patch

    def update(self, patch: dict[str, Any]) -> None:
        """A service's change to the state (the media service's streams and document), sent to
        the members with the next patch like an intent's."""
        self._apply(patch)

    def _apply(self, patch: dict[str, Any] | None) -> None:
        if not patch:
            return
        self.state.update(patch)
        self._pending.update(patch)
        self.version += 1

    def snapshot(self) -> dict[str, Any]:
        """Event ``room``: {room, type, version, state}."""
        return {"room": self.id, "type": self.type, "version": self.version, "state": copy.deepcopy(self.state)}

    def wait(self, now: float) -> float | None:
        """Seconds until a pending patch may go (None: nothing pending)."""
        return max(0.0, self._next_at - now) if self._pending else None

    def due(self, now: float) -> dict[str, Any] | None:
        """Event ``room_patch`` {room, version, patch} when changes are pending and the room's
        rate allows one now; else None. Several changes in one period make one patch."""
        if not self._pending or now < self._next_at - 1e-6:  # a clock's float sums land just short
            return None
        msg = {"room": self.id, "version": self.version, "patch": copy.deepcopy(self._pending)}
        self._pending = {}
        self._next_at = now + 1.0 / self.patch_hz
        return msg


__all__ = ["Room", "RoomError"]
