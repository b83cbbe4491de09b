"""A staff salon room (lounge, meeting rooms): members only, for now. The salon issue adds its
intents (topics, invitations)."""

from __future__ import annotations

from .base import Room


class SalonRoom(Room):
    type = "salon"
