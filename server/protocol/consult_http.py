"""HTTP bodies of the reservations API (server/consult/reservation_routes.py).

Parse requests with ``from_body`` (``invalid_request`` with the first problem's path) or
``from_query``; times are ISO 8601 with an offset (``2025-04-01T09:00+09:00``), a bare date is
that day in Japan. Responses give times in Japan time with the offset, so the page shows what
the resident will see on the city hall's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from .errors import ErrorCode, ProtocolError
from .http import _Body

EMAIL_RE = r"^[^@\s<>,;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\.[A-Za-z]{2,63}$"
MAX_RANGE = timedelta(days=62)


class SeriesIn(BaseModel):
    """Repeat the slot: ``count`` slots ``every_minutes`` apart (default back to back), on
    ``days`` consecutive days (``weekdays_only`` skips Saturdays and Sundays)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    count: Annotated[StrictInt, Field(ge=1, le=200)] = 1
    every_minutes: Annotated[StrictInt, Field(ge=1, le=24 * 60)] | None = None
    days: Annotated[StrictInt, Field(ge=1, le=62)] = 1
    weekdays_only: StrictBool = False


class SlotsIn(_Body):
    """POST /api/consult/slots (staff): one slot, or a series."""

    topic: Annotated[StrictStr, Field(min_length=1, max_length=70)]
    start: AwareDatetime
    end: AwareDatetime
    capacity: Annotated[StrictInt, Field(ge=1, le=50)] = 1
    series: SeriesIn | None = None


class BookingIn(_Body):
    """POST /api/consult/bookings: no account; name and e-mail only if the resident wants."""

    model_config = ConfigDict(extra="forbid", strict=True)
    slot: Annotated[StrictInt, Field(ge=1)]
    name: Annotated[StrictStr, Field(max_length=60)] | None = None
    email: Annotated[StrictStr, Field(max_length=254, pattern=EMAIL_RE)] | None = None
    lang: Literal["ja", "en"] = "ja"


def _when(text: str | None, field: str, end_of_day: bool = False) -> datetime | None:
    from yakuba.server.consult.reservations import jst_day

    if not text:
        return None
    try:
        if len(text) == 10:
            bounds = jst_day(date.fromisoformat(text))
            return bounds[1] if end_of_day else bounds[0]
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, f"{field}: not an ISO 8601 date or time") from None
    if dt.tzinfo is None:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, f"{field}: a time needs its UTC offset")
    return dt


class SlotQuery(BaseModel):
    """GET /api/consult/slots?topic=&from=&to= (from: now by default; to: 14 days later; at
    most 62 days)."""

    model_config = ConfigDict(extra="forbid")
    topic: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @classmethod
    def from_query(cls, q: Mapping[str, str]) -> "SlotQuery":
        topic = q.get("topic") or None
        if topic is not None and len(topic) > 70:
            raise ProtocolError(ErrorCode.UNKNOWN_TOPIC)
        start, end = _when(q.get("from"), "from"), _when(q.get("to"), "to", end_of_day=True)
        if start and end and (end <= start or end - start > MAX_RANGE):
            raise ProtocolError(ErrorCode.INVALID_REQUEST, "to must be after from, at most 62 days")
        return cls(topic=topic, start=start, end=end)


def day_query(q: Mapping[str, str]) -> date:
    """GET /api/consult/day?date=YYYY-MM-DD (today in Japan when absent)."""
    text = q.get("date")
    if not text:
        from yakuba.server.consult.reservations import JST

        return datetime.now(JST).date()
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, "date: expected YYYY-MM-DD") from None


# --- responses -----------------------------------------------------------------------------------
class SlotOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int
    topic: str
    department: str
    start: str = Field(description="ISO 8601, Japan time with its offset")
    end: str
    capacity: int
    free: int


class SlotListOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slots: list[SlotOut]


class BookingOut(BaseModel):
    """A booking as its code holder sees it (never the e-mail back)."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="XXXX-XXXX; typed with or without the hyphen, any case")
    status: Literal["booked", "cancelled", "checked_in", "no_show"]
    slot: SlotOut
    name: str | None = None
    email_given: bool = False
    ics_url: str
    cancel_until: str = Field(description="ISO 8601: online cancellation closes then")


class DayBookingOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int
    code: str
    status: str
    name: str | None = None
    email_given: bool


class DaySlotOut(SlotOut):
    withdrawn: bool
    bookings: list[DayBookingOut]


class DayOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: str
    slots: list[DaySlotOut]


CONSULT_HTTP_MODELS: tuple[type[BaseModel], ...] = (SlotsIn, BookingIn, SlotListOut, BookingOut, DayOut)

__all__ = ["CONSULT_HTTP_MODELS", "BookingIn", "BookingOut", "DayBookingOut", "DayOut", "DaySlotOut", "SeriesIn",
           "SlotListOut", "SlotOut", "SlotQuery", "SlotsIn", "day_query"]
