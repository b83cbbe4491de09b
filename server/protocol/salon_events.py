"""Socket events of the inter-municipal salon (issue #20).

Who someone is in the salon is the server's (``Principal.card``, written at login): the card below
goes out with chat lines and the presence list, and no incoming event has a field that reaches it.
A salon room's state (event ``room``, then ``room_patch``), besides the media keys:
  people [SalonPersonOut] (who is in this salon room, on any node; hidden ones left out),
  locked (municipality code | null: a meeting room locked by that municipality's booking).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt

from .consult_events import ZoneId
from .events import ErrorAck, EventSpec, OkAck, _In, _Out

NOTE_MAX = 500


class MunicipalityRef(_Out):
    code: str | None
    name: str | None


class SalonCardOut(_Out):
    """The server-issued identity shown in the salon (name tag, chat line, presence)."""

    staff: int | None
    display_name: str | None
    department: str | None
    municipality: MunicipalityRef
    verified: bool


class SalonPersonOut(SalonCardOut):
    avatar: int


class SalonConductIn(_In):
    """`salon.conduct`: accept the code of conduct (its version, CONDUCT_VERSION); stored per account."""

    accept: Annotated[StrictBool, Field(description="must be true")]
    version: StrictInt


class SalonLockIn(_In):
    """`salon.lock`: lock (or unlock) the meeting room one stands in; only while one's municipality's
    booking of it runs. Locked, it admits only that municipality's staff."""

    room: ZoneId
    locked: StrictBool


class SalonReportIn(_In):
    """`salon.report`: tell the administrators about someone in the salon. They get the ids and
    the time; ``note`` (a message one chooses to attach, or one's own words) only when given."""

    avatar: StrictInt
    note: Annotated[str, Field(min_length=1, max_length=NOTE_MAX)] | None = None


class SalonHideIn(_In):
    """`salon.hide`: leave oneself out of the salon's presence lists (or show again)."""

    hidden: StrictBool


SALON_EVENTS: tuple[EventSpec, ...] = (
    EventSpec("salon.conduct", "in", SalonConductIn, ack=(OkAck, ErrorAck)),
    EventSpec("salon.lock", "in", SalonLockIn, ack=(OkAck, ErrorAck)),
    EventSpec("salon.report", "in", SalonReportIn, ack=(OkAck, ErrorAck)),
    EventSpec("salon.hide", "in", SalonHideIn, ack=(OkAck, ErrorAck)),
)

__all__ = ["NOTE_MAX", "SALON_EVENTS", "SalonCardOut", "SalonConductIn", "SalonHideIn", "SalonLockIn", "SalonPersonOut", "SalonReportIn"]
