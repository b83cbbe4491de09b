"""A consultation booth: who is inside, and whether the door is locked.

State: {locked: bool, members: [avatar id, ...]}. Intents: {op: "lock"} / {op: "unlock"}, by a
member the policy allows (Action.LOCK_BOOTH). The world's door and zone rule follow the lock
through the booth service (server/consult/socket_handlers.py), which calls ``set_locked``."""

from __future__ import annotations

from typing import Any

from yakuba.server.auth.policy import Action, decide
from yakuba.server.auth.principal import Principal

from .base import Room, RoomError
from .media_state import media_state


class BoothRoom(Room):
    type = "booth"
    patch_hz = 10.0

    def initial_state(self) -> dict[str, Any]:
        return {"locked": False, "members": [], **media_state()}

    def on_members(self) -> dict[str, Any]:
        return {"members": sorted(self.members)}

    def set_locked(self, locked: bool) -> None:
        """The booth service's lock (server/consult), mirrored for the members' `room_patch`."""
        if self.state["locked"] != locked:
            self._apply({"locked": locked})

    def on_intent(self, principal: Principal, member: int, intent: dict[str, Any]) -> dict[str, Any] | None:
        op = intent.get("op")
        if op not in ("lock", "unlock"):
            raise RoomError("unknown_intent", f"booth: no op {str(op)[:20]!r}")
        d = decide(principal, Action.LOCK_BOOTH, self.id)
        if not d:
            raise RoomError(d.code or "forbidden", d.reason)
        locked = op == "lock"
        return None if self.state["locked"] == locked else {"locked": locked}
