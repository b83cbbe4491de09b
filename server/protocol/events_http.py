"""HTTP bodies of the events API (server/events/routes.py): events in the hall staff schedule,
and residents' registrations without an account.

Parse requests with ``from_body`` (``invalid_request`` with the first problem's path); the rules
the models cannot say (ends after starts, at most 12 hours, presenters who are staff) answer
``invalid_event`` with the field first. Times are ISO 8601 with an offset
(``2025-04-01T18:00+09:00``); responses give them in Japan time with the offset.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from .consult_http import EMAIL_RE
from .http import _Body


class EventIn(_Body):
    """POST /api/events (staff): a meeting or a recruiting briefing in the hall."""

    title: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    kind: Literal["meeting", "briefing"] = "meeting"
    starts: AwareDatetime
    ends: AwareDatetime = Field(description="after starts, at most 12 hours later")
    capacity: Annotated[StrictInt, Field(ge=1, le=2000)] = Field(description="attendees with an avatar; beyond it, spectators")
    presenters: Annotated[list[Annotated[StrictInt, Field(ge=1)]], Field(max_length=20)] = Field(
        default_factory=list, description="staff account ids who may take the stage while it runs; empty: any staff member")


class RegistrationIn(_Body):
    """POST /api/events/{id}/registrations: no account; a name (for the name tag) and an
    e-mail address only if the resident wants (shown to staff only, erased after the event)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: Annotated[StrictStr, Field(max_length=60)] | None = None
    email: Annotated[StrictStr, Field(max_length=254, pattern=EMAIL_RE)] | None = None


# --- responses -----------------------------------------------------------------------------------
class EventOut(BaseModel):
    """An event as anyone sees it: counts, never names (``presenters`` only for staff)."""

    model_config = ConfigDict(extra="forbid")
    id: int
    title: str
    kind: Literal["meeting", "briefing"]
    starts: str = Field(description="ISO 8601, Japan time with its offset")
    ends: str
    capacity: int
    attendees: int
    spectators: int
    status: Literal["scheduled", "running", "ended", "cancelled"]
    presenters: list[int] | None = Field(None, description="staff account ids; staff only")


class EventListOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventOut]


class RegistrationOut(BaseModel):
    """A registration as its code holder sees it (never the e-mail back)."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="XXXX-XXXX; typed with or without the hyphen, any case")
    role: Literal["attendee", "spectator"] = Field(description="spectator: watch the hall without an avatar (hall.watch)")
    status: Literal["registered", "cancelled"]
    name: str | None = None
    event: EventOut


class RegistrationRowOut(BaseModel):
    """One line of an event's registrations for staff (never logged)."""

    model_config = ConfigDict(extra="forbid")
    code: str
    role: Literal["attendee", "spectator"]
    status: Literal["registered", "cancelled"]
    name: str | None = None
    email: str | None = None
    registered: str = Field(description="ISO 8601, Japan time")


class RegistrationListOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: EventOut
    registrations: list[RegistrationRowOut]


EVENTS_HTTP_MODELS: tuple[type[BaseModel], ...] = (EventIn, RegistrationIn, EventOut, EventListOut, RegistrationOut,
                                                   RegistrationListOut)

__all__ = ["EVENTS_HTTP_MODELS", "EventIn", "EventListOut", "EventOut", "RegistrationIn", "RegistrationListOut",
           "RegistrationOut", "RegistrationRowOut"]
