"""The media part of a room's state (booth, hall, salon), written by the media service.

streams: [{id, owner (avatar id), source (mic|camera|screen), muted, audio_only}, ...]
doc:     {id, type (pdf|png|jpeg|webp), by (avatar id), pages} | None -- the shown document
page:    the shown page (1-based)
pointer: [x, y] in 0..1 of the page, or None
Only members get a room's state, so a locked booth's streams are never listed to outsiders."""

from __future__ import annotations

from typing import Any


def media_state() -> dict[str, Any]:
    return {"streams": [], "doc": None, "page": 1, "pointer": None}


__all__ = ["media_state"]
