"""HTTP bodies of the salon's tenant API (server/salon/routes.py, issue #20): municipalities an
administrator registers, suspends and resumes, invitations, and accepting one.

Also the meeting-room bookings and the reports (part 2); the socket events are in salon_events.py.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from .http import _Body

Text = StrictStr


class MunicipalityIn(_Body):
    """POST /api/salon/municipalities (administrators)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    code: Annotated[Text, Field(min_length=6, max_length=6, description="全国地方公共団体コード with its check digit")]
    name: Annotated[Text, Field(min_length=1, max_length=100)]
    email_domains: Annotated[list[Annotated[Text, Field(max_length=253)]], Field(max_length=20)] = Field(
        default_factory=list, description="staff with a provider-verified e-mail in these domains may join")
    oidc_issuer: Annotated[Text, Field(max_length=255)] | None = Field(None, description="https issuer URL of its identity provider")
    oidc_client_id: Annotated[Text, Field(min_length=1, max_length=255)] | None = None


class InvitationIn(_Body):
    """POST /api/salon/municipalities/{code}/invitations (administrators)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    department: Annotated[Text, Field(min_length=1, max_length=60)] | None = None
    ttl_s: Annotated[int, Field(ge=60, le=30 * 24 * 3600)] | None = Field(None, description="default: Settings.invitation_ttl_s")


class AcceptIn(_Body):
    """POST /api/salon/invitations/accept: a municipality without an identity provider; the new
    account then logs in with POST /api/auth/login."""

    model_config = ConfigDict(extra="forbid", strict=True)
    token: Annotated[Text, Field(min_length=20, max_length=100)]
    username: Annotated[Text, Field(min_length=1, max_length=64)]
    password: Annotated[Text, Field(min_length=10, max_length=1024)]
    display_name: Annotated[Text, Field(min_length=1, max_length=100)]
    department: Annotated[Text, Field(min_length=1, max_length=60)] | None = None


class MunicipalityOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str
    state: str
    email_domains: list[str]
    oidc_issuer: str | None
    oidc_client_id: str | None


class InvitationOut(BaseModel):
    """The token is shown here once; only its hash is stored."""

    model_config = ConfigDict(extra="forbid")
    id: int
    municipality: str
    token: str
    expires: str
    link: str = Field(description="path to send: the OpenID login with the invitation, or the accept page")


class BookingIn(_Body):
    """POST /api/salon/bookings (salon members): a meeting room for a slot, for the booker's
    municipality (the session's, never a field). Times are ISO 8601 with an offset."""

    model_config = ConfigDict(extra="forbid", strict=True)
    room: Annotated[Text, Field(pattern=r"^salon-meeting[0-9]{1,2}$")]
    start: Annotated[Text, Field(max_length=40)]
    end: Annotated[Text, Field(max_length=40)]


class BookingOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int
    room: str
    municipality: str
    staff: int
    start: str
    end: str
    locked: bool


class SalonEventIn(_Body):
    """POST /api/salon/events (salon members): an event in a meeting room, which it books for the
    organiser's municipality (so it never overlaps a meeting). ``hybrid``: the venue's feed is
    shown to everyone in the room as its shared screen (only the organiser shares the screen)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    title: Annotated[Text, Field(min_length=1, max_length=100)]
    room: Annotated[Text, Field(pattern=r"^salon-meeting[0-9]{1,2}$")]
    start: Annotated[Text, Field(max_length=40)]
    end: Annotated[Text, Field(max_length=40)]
    capacity: Annotated[int, Field(ge=1, le=200)]
    hybrid: bool = False


class SalonEventOut(BaseModel):
    """GET /api/salon/events: the events not yet ended, soonest first."""

    model_config = ConfigDict(extra="forbid")
    id: int
    title: str
    room: str
    start: str
    end: str
    capacity: int
    taken: int
    hybrid: bool
    organiser: dict
    registered: bool


class ReportOut(BaseModel):
    """GET /api/salon/reports (administrators): ids and time; ``note`` only what the reporter attached."""

    model_config = ConfigDict(extra="forbid")
    id: int
    at: str
    reporter: int
    reported_staff: int | None
    reported_avatar: int
    room: str
    note: str | None


SALON_HTTP_MODELS = [MunicipalityIn, InvitationIn, AcceptIn, MunicipalityOut, InvitationOut, BookingIn, BookingOut, SalonEventIn, SalonEventOut, ReportOut]

__all__ = ["AcceptIn", "BookingIn", "BookingOut", "ReportOut", "SalonEventIn", "SalonEventOut", "InvitationIn", "InvitationOut", "MunicipalityIn", "MunicipalityOut", "SALON_HTTP_MODELS"]
