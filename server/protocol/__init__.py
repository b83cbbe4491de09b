"""THE protocol: every socket event, the snapshot codec, HTTP bodies and the error codes.

Modules (one concern each):

* ``limits``   shared limits and enumerations (NAME_MAX, CHAT_MAX, MAX_FRAME_BYTES, ...)
* ``errors``   ``ErrorCode`` (one list for socket and HTTP), messages, statuses, ``ProtocolError``
* ``events``   socket events in both directions as pydantic models, ``EVENTS`` registry, ``parse``
* ``snapshot`` the binary ``snap`` frame: layout as data, ``encode_snapshot``/``decode_snapshot``
* ``http``     HTTP request and response bodies (imported on its own: it pulls in the fire-spread
  scenario parser, which the realtime path does not need)
* ``export``   writes ``clients/web/src/protocol.gen.js`` and ``docs/protocol.schema.json``
  (``yakuba protocol export [--check]``)

``docs/protocol.md`` follows these modules; tests fail when the generated files are stale or
the page misses an event. Everything the realtime code imported from the old single module is
re-exported here.
"""

from __future__ import annotations

from .errors import HTTP_STATUS, MESSAGES, ErrorCode, ProtocolError, error_payload
from .events import (
    EVENTS,
    INCOMING,
    OUTGOING,
    REGISTRY,
    AppearanceIn,
    ChatIn,
    ChatOut,
    ErrorAck,
    ErrorOut,
    EventSpec,
    JoinAck,
    JoinIn,
    LeaveIn,
    MoveIn,
    NoticeOut,
    OkAck,
    PrincipalOut,
    RoomPatchOut,
    RoomStateOut,
    ZoneOut,
    clean_text,
    parse,
)
from .limits import CHAT_MAX, CHAT_RADIUS_M, LANGS, MAX_FRAME_BYTES, NAME_MAX, PROTOCOL_VERSION, STYLES
from .snapshot import UPD, UPD_DTYPE, SnapshotOut, decode_snapshot, encode_snapshot, quantise

__all__ = [
    "CHAT_MAX", "CHAT_RADIUS_M", "EVENTS", "HTTP_STATUS", "INCOMING", "LANGS", "MAX_FRAME_BYTES", "MESSAGES", "NAME_MAX", "OUTGOING",
    "PROTOCOL_VERSION", "REGISTRY", "STYLES", "UPD", "UPD_DTYPE", "AppearanceIn", "ChatIn", "ChatOut", "ErrorAck",
    "ErrorCode", "ErrorOut", "EventSpec", "JoinAck", "JoinIn", "LeaveIn", "MoveIn", "NoticeOut", "OkAck",
    "PrincipalOut", "ProtocolError", "RoomPatchOut", "RoomStateOut", "SnapshotOut", "ZoneOut", "clean_text",
    "decode_snapshot", "encode_snapshot", "error_payload", "parse", "quantise",
]
