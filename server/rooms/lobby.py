"""The lobby and other open zones: a room with members and no state of its own yet."""

from __future__ import annotations

from .base import Room


class LobbyRoom(Room):
    type = "lobby"
