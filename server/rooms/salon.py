"""A staff salon room (lounge, meeting rooms): members only, for now. The salon issue adds its
intents (topics, invitations)."""

from __future__ import annotations

from typing import Any

from .base import Room
from .media_state import media_state


class SalonRoom(Room):
    type = "salon"

    def initial_state(self) -> dict[str, Any]:
        return media_state()
