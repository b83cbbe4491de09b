"""Every socket event, both directions, as pydantic models, and the registry of them.

Incoming payloads are validated strictly (types are not coerced, unknown fields are refused) by
``parse``, which raises ``ProtocolError`` with a code the client can show. Outgoing payloads are
built by the server as plain dicts (the realtime path is hot); their models here are the schema
the docs, the JSON Schema and the tests hold those dicts to (unknown fields refused there too).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, ValidationError, field_validator

from .errors import ErrorCode, ProtocolError
from .limits import NAME_MAX, PROTOCOL_VERSION
from .snapshot import SnapshotOut

# --- text hygiene -------------------------------------------------------------------------------
ZWJ = "\u200d"  # joins emoji sequences (👨‍👩‍👧); it cannot reorder or hide text, so it stays
MAX_MARKS = 2  # combining marks per base character (Japanese and Vietnamese need at most two)


def strip_invisible(s: str) -> str:
    """Remove control (Cc) and format (Cf) characters: bidi overrides and isolates (U+202A-202E,
    U+2066-2069), U+061C, zero-width spaces, BOM, soft hyphen, ESC, NUL, CR/LF...; bound stacks
    of combining marks. Whitespace separators become spaces (collapsed by the callers)."""
    out: list[str] = []
    marks = 0
    for ch in s:
        cat = unicodedata.category(ch)
        if cat in ("Mn", "Me"):
            marks += 1
            if marks > MAX_MARKS:
                continue
        else:
            marks = 0
        if cat == "Cc":
            out.append(" " if ch in "\t\n\r\x0b\x0c\x85" else "")
        elif cat == "Cf" and ch != ZWJ:
            continue
        elif cat in ("Zl", "Zp", "Co", "Cs", "Cn"):
            out.append(" " if cat in ("Zl", "Zp") else "")
        else:
            out.append(ch)
    return "".join(out)


def clean_text(s: str) -> str:
    """Names: NFKC, no invisible or control characters, collapsed whitespace."""
    return " ".join(strip_invisible(unicodedata.normalize("NFKC", s)).split())


def clean_chat(s: str) -> str:
    """Chat: the same cleaning without NFKC (a resident's full-width digits stay as typed)."""
    return " ".join(strip_invisible(s).split())


# --- client -> server ---------------------------------------------------------------------------
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Color = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
Finite = Annotated[StrictFloat | StrictInt, Field(ge=-1000, le=1000)]
Style = Literal["round", "tall", "child", "senior"]  # = limits.STYLES (a test keeps them equal)
Lang = Literal["ja", "en"]  # = limits.LANGS


class JoinIn(_In):
    """`join`: only a name (optional). Role never comes from here: it is the session's."""

    name: Annotated[str, Field(max_length=200)] | None = None
    style: Style | None = None
    color: Color | None = None
    lang: Lang | None = None
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
    """`chat`: cleaned here (clean_chat); the handler enforces CHAT_MAX (too_long) and refuses
    what is empty after cleaning; 4000 only bounds the parse."""

    text: Annotated[str, Field(min_length=1, max_length=4000)]

    @field_validator("text")
    @classmethod
    def _clean(cls, v: str) -> str:
        return clean_chat(v)


class AppearanceIn(_In):
    style: Style | None = None
    color: Color | None = None


class LeaveIn(_In):
    pass


# --- server -> client ---------------------------------------------------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrincipalOut(_Out):
    """What a client is told about itself: ``Principal.public()``."""

    kind: Literal["resident", "staff", "admin"]
    municipality: str | None = None
    roles: list[str] = Field(default_factory=list)


class JoinAck(_Out):
    """The ack of a successful `join`."""

    ok: Literal[True] = True
    id: int
    token: str = Field(description="resume token: send it as `join.resume` after a reconnect")
    zone: str
    role: Literal["resident", "staff"] = Field(description="the world role (zone rules); staff includes admin")
    x: float
    y: float
    heading: float
    tick_hz: float = Field(gt=0, description="snapshot rate: interpolate with 1/tick_hz")
    principal: PrincipalOut
    protocol: int = Field(PROTOCOL_VERSION, description="PROTOCOL_VERSION of the server")


class OkAck(_Out):
    """The ack of `leave`."""

    ok: Literal[True] = True


class ErrorOut(_Out):
    """Event `error`, also the `error` of a refused ack."""

    code: ErrorCode
    message: str
    event: str | None = None


class ErrorAck(_Out):
    """The ack of a refused `join` or `leave`."""

    ok: Literal[False] = False
    error: ErrorOut


class ChatOut(_Out):
    id: int
    name: str
    text: str
    zone: str
    ts: float = Field(description="server time, seconds since the epoch")
    card: dict[str, Any] | None = Field(None, description="in the salon: the speaker's server-issued identity (SalonCardOut)")


class ZoneOut(_Out):
    zone: str


class NoticeOut(_Out):
    """`draining`: the node is stopping, reconnect and resume. `session_ended`: logout or a
    disabled account ended the staff session; the server disconnects right after."""

    kind: Literal["draining", "session_ended"]
    retry_after_s: float | None = None


class RoomStateOut(_Out):
    """Event `room`: a room's whole state, sent when the client joins the room."""

    room: str
    type: str = Field(description="room type: lobby, booth, hall, salon, ...")
    version: int = Field(ge=0)
    state: dict[str, Any]


class RoomPatchOut(_Out):
    """Event `room_patch`: the room's changes since its last patch, at the room's own rate.
    `version` is the room's version after them; it can grow by more than one because every
    change counts and the changes of one patch period go out as one patch. Applying a patch is
    idempotent (top-level keys replace), so a client applies any patch newer than what it has."""

    room: str
    version: int = Field(ge=1)
    patch: dict[str, Any] = Field(description="top-level keys replace the state's values (null is a value, not a removal)")


# --- the registry -------------------------------------------------------------------------------
Direction = Literal["in", "out"]  # in: client -> server; out: server -> client


@dataclass(frozen=True)
class EventSpec:
    name: str
    direction: Direction
    model: type[BaseModel]
    ack: tuple[type[BaseModel], ...] = ()  # the ack models (success first), if the event is acked
    binary: bool = False


EVENTS: tuple[EventSpec, ...] = (
    EventSpec("join", "in", JoinIn, ack=(JoinAck, ErrorAck)),
    EventSpec("move", "in", MoveIn),
    EventSpec("chat", "in", ChatIn),
    EventSpec("appearance", "in", AppearanceIn),
    EventSpec("leave", "in", LeaveIn, ack=(OkAck, ErrorAck)),
    EventSpec("snap", "out", SnapshotOut, binary=True),
    EventSpec("chat", "out", ChatOut),
    EventSpec("zone", "out", ZoneOut),
    EventSpec("error", "out", ErrorOut),
    EventSpec("notice", "out", NoticeOut),
    EventSpec("room", "out", RoomStateOut),
    EventSpec("room_patch", "out", RoomPatchOut),
)
# Feature events live in their own modules (they import the bases above), joined here so there
# is still one registry.
from .consult_events import CONSULT_EVENTS  # noqa: E402
from .media_events import MEDIA_EVENTS  # noqa: E402
from .hall_events import HALL_EVENTS  # noqa: E402
from .salon_events import SALON_EVENTS  # noqa: E402

EVENTS = EVENTS + CONSULT_EVENTS + MEDIA_EVENTS + HALL_EVENTS + SALON_EVENTS
# (direction, name) -> spec: `chat` exists both ways, so the name alone is not a key.
REGISTRY: dict[tuple[Direction, str], EventSpec] = {(e.direction, e.name): e for e in EVENTS}
INCOMING: dict[str, type[BaseModel]] = {e.name: e.model for e in EVENTS if e.direction == "in"}
OUTGOING: dict[str, type[BaseModel]] = {e.name: e.model for e in EVENTS if e.direction == "out"}


def parse(event: str, data: Any) -> BaseModel:
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


__all__ = [
    "EVENTS", "INCOMING", "OUTGOING", "REGISTRY", "AppearanceIn", "ChatIn", "ChatOut", "Direction", "ErrorAck",
    "ErrorOut", "EventSpec", "JoinAck", "JoinIn", "LeaveIn", "MoveIn", "NoticeOut", "OkAck", "PrincipalOut",
    "RoomPatchOut", "RoomStateOut", "ZoneOut", "clean_text", "parse",
]
