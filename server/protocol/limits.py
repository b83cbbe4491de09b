"""Limits and enumerations the server and the browser share (exported to protocol.gen.js)."""

from __future__ import annotations

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024  # engine.io max_http_buffer_size: larger frames close the transport
NAME_MAX = 24
CHAT_MAX = 500
# In open-plan areas (the lobby) chat reaches those within this distance of the speaker, the
# people you see around you; in rooms (booths, hall, salon rooms) it reaches the room.
CHAT_RADIUS_M = 12.0
STYLES = ("round", "tall", "child", "senior")
LANGS = ("ja", "en")

__all__ = ["CHAT_MAX", "CHAT_RADIUS_M", "LANGS", "MAX_FRAME_BYTES", "NAME_MAX", "PROTOCOL_VERSION", "STYLES"]
