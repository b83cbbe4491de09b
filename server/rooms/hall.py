"""The event hall: who presents and what the audience is shown.

State: {presenter: avatar id | None, view: dict | None}. Intents: {op: "present"} (take the
stage, Action.PRESENT), {op: "release"} (presenter only), {op: "view", view: {...}} (presenter
only: the shared view, e.g. a camera or a slide)."""

from __future__ import annotations

from typing import Any

from yakuba.server.auth.policy import Action, decide
from yakuba.server.auth.principal import Principal

from .base import Room, RoomError
from .media_state import media_state

VIEW_MAX_KEYS = 16


class HallRoom(Room):
    type = "hall"
    patch_hz = 5.0

    def initial_state(self) -> dict[str, Any]:
        return {"presenter": None, "view": None, **media_state()}

    def on_members(self) -> dict[str, Any] | None:
        if self.state["presenter"] is not None and self.state["presenter"] not in self.members:
            return {"presenter": None}  # the presenter walked out
        return None

    def on_intent(self, principal: Principal, member: int, intent: dict[str, Any]) -> dict[str, Any] | None:
        op = intent.get("op")
        if op == "present":
            d = decide(principal, Action.PRESENT, self.id)
            if not d:
                raise RoomError(d.code or "forbidden", d.reason)
            if self.state["presenter"] not in (None, member):
                raise RoomError("busy", "someone is presenting")
            return {"presenter": member}
        if op in ("release", "view") and self.state["presenter"] != member:
            raise RoomError("forbidden", "only the presenter")
        if op == "release":
            return {"presenter": None, "view": None, **media_state()}
        if op == "view":
            view = intent.get("view")
            if not isinstance(view, dict) or len(view) > VIEW_MAX_KEYS:
                raise RoomError("invalid_payload", "view must be a small object")
            return {"view": view}
        raise RoomError("unknown_intent", f"hall: no op {str(op)[:20]!r}")
