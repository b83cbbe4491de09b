"""Every socket event's schema, in one place.

The docs (docs/protocol.md), the browser client and the tests follow this module. Incoming
payloads are validated with pydantic (strict types, unknown fields refused); outgoing snapshot
frames are built by ``encode_snapshot``. Error codes are the ``ErrorCode`` values; a client gets
``error`` {code, message, event} and the server never raises out of a handler.
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata
from enum import Enum
from typing import Annotated, Any, Literal

import msgpack
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError, field_validator

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 16 * 1024  # engine.io max_http_buffer_size: larger frames close the transport
NAME_MAX = 24
CHAT_MAX = 500
STYLES = ("round", "tall", "child", "senior")
LANGS = ("ja", "en")


class ErrorCode(str, Enum):
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_EVENT = "unknown_event"
    RATE_LIMITED = "rate_limited"
    TOO_LONG = "too_long"
    NOT_JOINED = "not_joined"
    ALREADY_JOINED = "already_joined"
    BLOCKED = "blocked"
    ZONE_FORBIDDEN = "zone_forbidden"
    BOOTH_LOCKED = "booth_locked"
    UNKNOWN_ZONE = "unknown_zone"
    NO_PATH = "no_path"
    FILTERED = "filtered"
    SERVER_DRAINING = "server_draining"
    STORE_UNAVAILABLE = "store_unavailable"
    INTERNAL = "internal"


MESSAGES = {
    ErrorCode.INVALID_PAYLOAD: "the event's payload does not match its schema",
    ErrorCode.UNKNOWN_EVENT: "no such event",
    ErrorCode.RATE_LIMITED: "too many events; slow down",
    ErrorCode.TOO_LONG: "text is too long",
    ErrorCode.NOT_JOINED: "join first",
    ErrorCode.ALREADY_JOINED: "already joined",
    ErrorCode.BLOCKED: "a wall or a closed door is in the way",
    ErrorCode.ZONE_FORBIDDEN: "this area is for staff only",
    ErrorCode.BOOTH_LOCKED: "this booth is in a private consultation",
    ErrorCode.UNKNOWN_ZONE: "no such place",
    ErrorCode.NO_PATH: "no way to get there from here",
    ErrorCode.FILTERED: "the message was not sent by the word filter",
    ErrorCode.SERVER_DRAINING: "the server is restarting; you will be reconnected",
    ErrorCode.STORE_UNAVAILABLE: "temporarily unavailable; please try again",
    ErrorCode.INTERNAL: "something went wrong on the server",
}


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        super().__init__(message or MESSAGES[code])
        self.code = code
        self.message = message or MESSAGES[code]


def error_payload(code: ErrorCode, event: str | None, message: str | None = None) -> dict[str, Any]:
    return {"code": code.value, "message": message or MESSAGES[code], "event": event}


# --- text hygiene -------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def clean_text(s: str) -> str:
    """NFKC, no control or bidi-override characters, collapsed whitespace."""
    s = unicodedata.normalize("NFKC", s)
    s = _CONTROL.sub("", s)
    return " ".join(s.split())


# --- client -> server ---------------------------------------------------------------------------
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
Finite = Annotated[StrictFloat | StrictInt, Field(ge=-1000, le=1000)]


class JoinIn(_In):
    """`join`: only a name (optional). Role never comes from here: it is the session's."""

    name: Annotated[str, Field(max_length=200)] | None = None
    style: Literal["round", "tall", "child", "senior"] | None = None
    color: Color | None = None
    lang: Literal["ja", "en"] | None = None
    resume: Annotated[str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = clean_text(v)
        if len(v) > NAME_MAX:
            raise ValueError(f"name longer than {NAME_MAX} characters")
        return v or None


class MoveIn(_In):
    """`move`: exactly one of velocity (vx, vy), target, goto, stop."""

    vx: Finite | None = None
    vy: Finite | None = None
    target: Annotated[list[Finite], Field(min_length=2, max_length=2)] | None = None
    goto: Annotated[str, Field(max_length=40, pattern=r"^[a-z0-9-]+$")] | None = None
    stop: StrictBool | None = None

    def kind(self) -> str:
        forms = [
            ("velocity", self.vx is not None or self.vy is not None),
            ("target", self.target is not None),
            ("goto", self.goto is not None),
            ("stop", self.stop is True),
        ]
        chosen = [k for k, on in forms if on]
        if len(chosen) != 1:
            raise ProtocolError(ErrorCode.INVALID_PAYLOAD, "move takes exactly one of {vx,vy}, target, goto, stop")
        if chosen[0] == "velocity" and (self.vx is None or self.vy is None):
            raise ProtocolError(ErrorCode.INVALID_PAYLOAD, "velocity needs both vx and vy")
        if chosen[0] == "velocity" and not (math.isfinite(self.vx) and math.isfinite(self.vy)):  # type: ignore[arg-type]
            raise ProtocolError(ErrorCode.INVALID_PAYLOAD, "velocity must be finite")
        return chosen[0]


class ChatIn(_In):
    text: Annotated[str, Field(min_length=1, max_length=4000)]


class AppearanceIn(_In):
    style: Literal["round", "tall", "child", "senior"] | None = None
    color: Color | None = None


class LeaveIn(_In):
    pass


INCOMING: dict[str, type[_In]] = {
    "join": JoinIn,
    "move": MoveIn,
    "chat": ChatIn,
    "appearance": AppearanceIn,
    "leave": LeaveIn,
}


def parse(event: str, data: Any) -> _In:
    """Validate one incoming event; raises ProtocolError with a code the client can show."""
    model = INCOMING.get(event)
    if model is None:
        raise ProtocolError(ErrorCode.UNKNOWN_EVENT, f"unknown event {event[:40]!r}")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.INVALID_PAYLOAD, f"{event}: payload must be an object")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or event
        raise ProtocolError(ErrorCode.INVALID_PAYLOAD, f"{event}.{where}: {first.get('msg', 'invalid')}"[:200]) from None


# --- server -> client ---------------------------------------------------------------------------
# Snapshot frame (event `snap`, one binary argument), msgpack map:
#   t   tick number
#   f   1 = full (replace everything you know), 0 = delta
#   add [[id, name, style, color, role, x_cm, y_cm, heading_u8, zone], ...]  new in view
#   upd bytes: 9-byte little-endian records <u32 id, u16 x_cm, u16 y_cm, u8 heading>
#   del [id, ...]  left the view
UPD = struct.Struct("<IHHB")
UPD_DTYPE = [("id", "<u4"), ("x", "<u2"), ("y", "<u2"), ("h", "u1")]


def quantise(x: float, y: float, heading: float) -> tuple[int, int, int]:
    """Centimetres (the hall is < 655 m across) and 256 heading steps."""
    return (
        max(0, min(65535, int(round(x * 100)))),
        max(0, min(65535, int(round(y * 100)))),
        int(round(heading / 360 * 256)) & 0xFF,
    )


def encode_snapshot(tick: int, full: bool, add: list[list[Any]], upd: bytes, dels: list[int]) -> bytes:
    # No per-receiver field: one encoded frame serves every client that shares a view.
    return msgpack.packb({"t": tick, "f": 1 if full else 0, "add": add, "upd": upd, "del": dels}, use_bin_type=True)


def decode_snapshot(frame: bytes) -> dict[str, Any]:
    """For tests and tools: the frame with `upd` expanded to (id, x_cm, y_cm, heading_u8) tuples."""
    m = msgpack.unpackb(frame, raw=False)
    m["upd"] = [UPD.unpack_from(m["upd"], i) for i in range(0, len(m["upd"]), UPD.size)]
    return m


# Other server events (JSON):
#   chat   {id, name, text, zone, ts}
#   zone   {zone}
#   error  {code, message, event}
#   notice {kind: "draining", retry_after_s}
