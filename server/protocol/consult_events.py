"""Socket events of the information desk queue and the consultation booths (issue #16).

Joined into the one registry (events.EVENTS) so ``parse``, the export and the docs cover them.
Identity is never a field here: whose ticket, who is staff, who is in a booth all come from the
server's session (Client.principal) and the socket's own avatar.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, StrictInt, field_validator

from .events import ErrorAck, EventSpec, OkAck, _In, _Out, clean_text

ZoneId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$")]
TopicId = Annotated[str, Field(min_length=1, max_length=65, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")]
TicketId = Annotated[str, Field(min_length=3, max_length=12, pattern=r"^[A-Z]{1,3}-[0-9]{3,4}$")]
AvatarId = Annotated[StrictInt, Field(ge=1, le=2**32 - 1)]  # u32, as in snapshots
CARD_TITLE_MAX = 80
CARD_URL_MAX = 500


def safe_url(v: str) -> str:
    """A procedure card's link: https with a host, or a path on this site ("/..."); nothing a
    browser would run or send elsewhere (javascript:, data:, //host, backslashes, spaces)."""
    if any(ord(ch) < 0x21 or ch in "\\\x7f" for ch in v):
        raise ValueError("url has spaces, control characters or backslashes")
    parts = urlsplit(v)
    if parts.scheme == "https" and parts.netloc and "@" not in parts.netloc:
        return v
    if not parts.scheme and not parts.netloc and v.startswith("/") and not v.startswith("//"):
        return v
    raise ValueError("url must be https://host/... or a site path /...")


# --- client -> server -----------------------------------------------------------------------------
class QueueTakeIn(_In):
    """`queue.take`: a topic id from the catalogue."""

    topic: TopicId


class QueueCheckinIn(_In):
    """`queue.checkin`: a reservation code (as the resident reads it out; spaces, hyphens,
    lower case and full-width letters are accepted, server/consult/reservations.py)."""

    code: str = Field(min_length=4, max_length=24)


class QueueLeaveIn(_In):
    pass


class QueueCallIn(_In):
    """`queue.call` (staff in the booth): the next ticket for a topic the booth serves, or the
    chosen ``ticket``."""

    booth: ZoneId
    ticket: TicketId | None = None


class QueueBoardIn(_In):
    topic: TopicId | None = None


class InviteAcceptIn(_In):
    ticket: TicketId


class BoothIn(_In):
    """`booth.lock`, `booth.unlock`, `booth.knock`."""

    booth: ZoneId


class BoothMemberIn(_In):
    """`booth.admit`, `booth.remove`, `booth.decline`: an avatar id (from `booth.knocked` or
    the snapshot), in a booth the staff member is in."""

    booth: ZoneId
    avatar: AvatarId


class BoothCardIn(_In):
    """`booth.card`: a procedure card pushed to the residents in the booth."""

    booth: ZoneId
    title: Annotated[str, Field(min_length=1, max_length=200)]
    url: Annotated[str, Field(min_length=1, max_length=CARD_URL_MAX)]

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        v = clean_text(v)
        if not v or len(v) > CARD_TITLE_MAX:
            raise ValueError(f"title must be 1..{CARD_TITLE_MAX} characters")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return safe_url(v)


class DeskInfoIn(_In):
    pass


# --- server -> client -----------------------------------------------------------------------------
class TicketCodeOut(_Out):
    ja: str
    en: str


class TicketOut(_Out):
    """Event `queue.ticket`: the receiver's ticket now. `position` and `eta_s` while waiting."""

    ticket: str = Field(description="the ticket id (Latin code), e.g. R-012")
    code: TicketCodeOut = Field(description="what to show: {ja: 区-012, en: R-012}")
    topic: str
    state: Literal["waiting", "called", "serving", "done", "left", "expired"]
    position: int | None = None
    eta_s: float | None = None
    booth: str | None = None
    recalled: bool = False
    priority: bool = False


class TicketAck(_Out):
    ok: Literal[True] = True
    ticket: TicketOut


class InviteOut(_Out):
    """Event `queue.invite`: the ticket was called into a booth; send `invite.accept` within
    `expires_s` or it is recalled once, then expires."""

    ticket: str
    code: TicketCodeOut
    booth: str
    expires_s: float


class BoardTicketOut(_Out):
    ticket: str
    state: Literal["waiting", "called", "serving"]
    position: int | None = None
    eta_s: float | None = None
    booth: str | None = None
    recalled: bool = False
    priority: bool = False


class BoardTopicOut(_Out):
    topic: str
    mean_s: float
    tickets: list[BoardTicketOut]


class BoothSignOut(_Out):
    """Event `booth.state` (to everyone): a booth's sign, never who is inside."""

    booth: str
    state: Literal["closed", "open", "occupied", "locked"]
    locked: bool
    occupied: bool


class BoardOut(_Out):
    """Event `queue.board` (staff who asked for it, on every change) and the ack of `queue.board`."""

    topics: list[BoardTopicOut]
    booths: list[BoothSignOut]


class BoardAck(BoardOut):
    ok: Literal[True] = True


class DeskAck(_Out):
    """The ack of `desk.info`: the catalogue and the booths' signs."""

    ok: Literal[True] = True
    catalogue: dict
    booths: list[BoothSignOut]


class KnockOut(_Out):
    """Event `booth.knocked` (the booth's staff member): an avatar knocks."""

    booth: str
    avatar: int


class BoothNoticeOut(_Out):
    """Event `booth.notice`: admitted (walk in), declined, removed (placed outside), closed
    (the staff member left or did not come back within the grace period), unlocked."""

    booth: str
    kind: Literal["admitted", "declined", "removed", "closed", "unlocked", "locked"]


class CardOut(_Out):
    """Event `booth.card`: a procedure card from the staff member (https or a site path)."""

    booth: str
    title: str
    url: str


CONSULT_EVENTS: tuple[EventSpec, ...] = (
    EventSpec("queue.take", "in", QueueTakeIn, ack=(TicketAck, ErrorAck)),
    EventSpec("queue.checkin", "in", QueueCheckinIn, ack=(TicketAck, ErrorAck)),
    EventSpec("queue.leave", "in", QueueLeaveIn, ack=(OkAck, ErrorAck)),
    EventSpec("queue.call", "in", QueueCallIn, ack=(TicketAck, ErrorAck)),
    EventSpec("queue.board", "in", QueueBoardIn, ack=(BoardAck, ErrorAck)),
    EventSpec("invite.accept", "in", InviteAcceptIn, ack=(TicketAck, ErrorAck)),
    EventSpec("booth.lock", "in", BoothIn, ack=(OkAck, ErrorAck)),
    EventSpec("booth.unlock", "in", BoothIn, ack=(OkAck, ErrorAck)),
    EventSpec("booth.knock", "in", BoothIn, ack=(OkAck, ErrorAck)),
    EventSpec("booth.admit", "in", BoothMemberIn, ack=(OkAck, ErrorAck)),
    EventSpec("booth.decline", "in", BoothMemberIn, ack=(OkAck, ErrorAck)),
    EventSpec("booth.remove", "in", BoothMemberIn, ack=(OkAck, ErrorAck)),
    EventSpec("booth.card", "in", BoothCardIn, ack=(OkAck, ErrorAck)),
    EventSpec("desk.info", "in", DeskInfoIn, ack=(DeskAck, ErrorAck)),
    EventSpec("queue.ticket", "out", TicketOut),
    EventSpec("queue.invite", "out", InviteOut),
    EventSpec("queue.board", "out", BoardOut),
    EventSpec("booth.state", "out", BoothSignOut),
    EventSpec("booth.knocked", "out", KnockOut),
    EventSpec("booth.notice", "out", BoothNoticeOut),
    EventSpec("booth.card", "out", CardOut),
)

__all__ = ["CONSULT_EVENTS", "safe_url"] + [n for n in dir() if n.endswith(("In", "Out", "Ack"))]
