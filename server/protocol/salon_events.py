"""Socket events of the inter-municipal salon (issue #20).

Who someone is in the salon is the server's (``Principal.card``, written at login): the card below
goes out with chat lines and the presence list, and no incoming event has a field that reaches it.
A salon room's state (event ``room``, then ``room_patch``), besides the media keys:
  people [SalonPersonOut] (who is in this salon room, on any node; hidden ones left out),
  locked (municipality code | null: a meeting room locked by that municipality's booking),
  event ({id, title, hybrid, organiser, end, muted} | null: the event running in the room),
  board ([{code, name, people: [{avatar, room, display_name, department}]}]: who is online in the
    whole salon, by municipality, on every node),
  hearing_m (the lounge and the booths, an open-plan area: chat and voice reach this far),
  booths (salon-depts only: [{id, name, rect, topic, links, staff, at}]: the department booths).
"""

from __future__ import annotations

from typing import Annotated, Literal

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


class SalonModerateIn(_In):
    """`salon.moderate`: the organiser of the event running in one's room mutes (chat and voice),
    unmutes or removes (back to the lounge, not admitted again during the event) a member."""

    avatar: StrictInt
    action: Literal["mute", "unmute", "remove"]


class SalonLinkIn(_In):
    title: Annotated[str, Field(min_length=1, max_length=60)]
    url: Annotated[str, Field(pattern=r"^https://[^\s<>\"']{3,300}$")]


class SalonPinIn(_In):
    """`salon.pin`: a department booth's pinned topic and links (https only), set standing at it."""

    booth: Literal["bousai", "kosodate", "dx", "fukushi"]
    topic: Annotated[str, Field(min_length=1, max_length=200)]
    links: Annotated[list[SalonLinkIn], Field(max_length=5)] = []


class SalonHideIn(_In):
    """`salon.hide`: leave oneself out of the salon's presence lists (or show again)."""

    hidden: StrictBool


SALON_EVENTS: tuple[EventSpec, ...] = (
    EventSpec("salon.conduct", "in", SalonConductIn, ack=(OkAck, ErrorAck)),
    EventSpec("salon.lock", "in", SalonLockIn, ack=(OkAck, ErrorAck)),
    EventSpec("salon.report", "in", SalonReportIn, ack=(OkAck, ErrorAck)),
    EventSpec("salon.hide", "in", SalonHideIn, ack=(OkAck, ErrorAck)),
    EventSpec("salon.moderate", "in", SalonModerateIn, ack=(OkAck, ErrorAck)),
    EventSpec("salon.pin", "in", SalonPinIn, ack=(OkAck, ErrorAck)),
)

__all__ = ["NOTE_MAX", "SALON_EVENTS", "SalonCardOut", "SalonConductIn", "SalonHideIn", "SalonLockIn", "SalonModerateIn", "SalonPinIn", "SalonPersonOut", "SalonReportIn"]
