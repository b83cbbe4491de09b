"""Events in the hall as pure rules: no SQL, no clock, no network.

Staff schedule an event (a meeting, or a recruiting briefing: the same type with another
``kind``) with a title, a time, a capacity and the staff accounts that present it. Residents
register without an account and get a code they can read aloud (the reservations' alphabet).
The first ``capacity`` registrations are attendees (an avatar in the hall); everyone after them
is a spectator (the same synced view without an avatar, ``hall.watch``) instead of being turned
away. When an attendee cancels, the first spectator still registered takes the place.

While an event runs, the live hall asks it two things (``LiveEvent``): who may take the stage
(its presenters) and how many residents may stand inside (its capacity).

Times are timezone-aware; the service stores UTC and shows Japan time. Refusals are
``ProtocolError`` so an HTTP route answers the same code a socket handler would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from yakuba.server.consult.reservations import JST, clean_name, display_code, new_code, normalise_code
from yakuba.server.protocol.errors import ErrorCode, ProtocolError

KINDS = ("meeting", "briefing")  # a recruiting briefing is an event like any other
ROLES = ("attendee", "spectator")
STATUSES = ("registered", "cancelled")  # of a registration
Role = Literal["attendee", "spectator"]
EventStatus = Literal["scheduled", "running", "ended", "cancelled"]

TITLE_MAX = 100
MAX_LENGTH = timedelta(hours=12)
MAX_CAPACITY = 2000  # attendees with an avatar (the hall's spectators have their own bound per node)
MAX_PRESENTERS = 20
MAX_AHEAD = timedelta(days=366)
# Registrations beyond capacity: a bound on rows a script could add, not a seat count.
MAX_SPECTATORS = 20_000


def _bad(field: str, why: str) -> ProtocolError:
    return ProtocolError(ErrorCode.INVALID_EVENT, f"{field}: {why}")


# --- events --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventSpec:
    """An event as staff may schedule it (checked by ``check_event``)."""

    title: str
    kind: str
    starts: datetime
    ends: datetime
    capacity: int
    presenters: tuple[int, ...]  # staff_accounts.id, in the order given, without repeats


def check_event(title: str, kind: str, starts: datetime, ends: datetime, capacity: int,
                presenters: Sequence[int], now: datetime) -> EventSpec:
    """An event staff may schedule: a title of 1..100 characters, a kind, aware times with the
    end after the start, at most 12 hours, not over yet and at most a year ahead (an event may
    start now or have started: staff open an impromptu briefing), capacity 1..2000, at most 20
    presenters (staff account ids). The message names the field."""
    t = clean_name(title) or ""
    if not 1 <= len(t) <= TITLE_MAX:
        raise _bad("title", f"1..{TITLE_MAX} characters")
    if kind not in KINDS:
        raise _bad("kind", " or ".join(KINDS))
    if starts.tzinfo is None or ends.tzinfo is None:
        raise _bad("starts" if starts.tzinfo is None else "ends", "needs a UTC offset (e.g. 2025-04-01T18:00+09:00)")
    if ends <= starts:
        raise _bad("ends", "must be after starts")
    if ends - starts > MAX_LENGTH:
        raise _bad("ends", f"an event lasts at most {int(MAX_LENGTH.total_seconds() // 3600)} hours")
    if ends <= now:
        raise _bad("ends", "the event would be over already")
    if starts - now > MAX_AHEAD:
        raise _bad("starts", "more than a year ahead")
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise _bad("capacity", f"1..{MAX_CAPACITY}")
    seen: list[int] = []
    for p in presenters:
        if isinstance(p, bool) or not isinstance(p, int) or p < 1:
            raise _bad("presenters", "staff account ids")
        if p not in seen:
            seen.append(p)
    if len(seen) > MAX_PRESENTERS:
        raise _bad("presenters", f"at most {MAX_PRESENTERS}")
    return EventSpec(t, kind, starts, ends, capacity, tuple(seen))


def event_status(starts: datetime, ends: datetime, cancelled: bool, now: datetime) -> EventStatus:
    if cancelled:
        return "cancelled"
    if now < starts:
        return "scheduled"
    return "running" if now < ends else "ended"


def jst(dt: datetime) -> str:
    """ISO 8601 in Japan time with its offset, to the minute: what the hall's clock says."""
    return dt.astimezone(JST).isoformat(timespec="minutes")


# --- registrations -------------------------------------------------------------------------------
def check_registrable(status: EventStatus) -> None:
    """Residents register until the event ends (late comers too), never for a cancelled one."""
    if status in ("ended", "cancelled"):
        raise ProtocolError(ErrorCode.EVENT_CLOSED, f"the event has {'ended' if status == 'ended' else 'been cancelled'}")


def role_for(attendees: int, capacity: int) -> Role:
    """Attendee while fewer than ``capacity`` are; a spectator after that (never turned away)."""
    return "attendee" if attendees < capacity else "spectator"


def check_spectator_room(spectators: int) -> None:
    if spectators >= MAX_SPECTATORS:
        raise ProtocolError(ErrorCode.BUSY, "this event takes no more registrations")


def check_cancel(registration_status: str, event: EventStatus) -> None:
    """The code holder cancels a registration until the event ends."""
    if registration_status != "registered":
        raise ProtocolError(ErrorCode.REGISTRATION_CANCELLED)
    if event in ("ended", "cancelled"):
        raise ProtocolError(ErrorCode.EVENT_CLOSED, f"the event has {'ended' if event == 'ended' else 'been cancelled'}")


@dataclass(frozen=True)
class CancelEffect:
    """What a cancel changes: the registration promoted to attendee (or None), and the deltas
    of the event's attendee and spectator counts."""

    promote: int | None
    attendees: int
    spectators: int


def cancel_effect(role: str, first_spectator: int | None) -> CancelEffect:
    """A spectator leaving frees nothing; an attendee's place goes to the first spectator still
    registered (``first_spectator``: the oldest one's id), else the place is free again."""
    if role == "spectator":
        return CancelEffect(None, 0, -1)
    if first_spectator is not None:
        return CancelEffect(first_spectator, 0, -1)
    return CancelEffect(None, -1, 0)


# --- the live hall -------------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveEvent:
    """What the live hall needs of an event: the policy's presenters (Principal keys such as
    ``staff:12``; None when the event names none, and then any staff member may present) and
    the capacity the hall's door holds to."""

    id: int
    starts: datetime
    ends: datetime
    capacity: int
    presenters: frozenset[str] | None


def presenter_keys(ids: Iterable[int]) -> frozenset[str] | None:
    keys = frozenset(f"staff:{i}" for i in ids)
    return keys or None


def running(events: Iterable[LiveEvent], now: datetime) -> LiveEvent | None:
    """The event in the hall at ``now``: the earliest started one not yet over (events do not
    overlap when made through the service; if two do, the earlier keeps the hall)."""
    best: LiveEvent | None = None
    for e in events:
        if e.starts <= now < e.ends and (best is None or (e.starts, e.id) < (best.starts, best.id)):
            best = e
    return best


__all__ = ["EventSpec", "KINDS", "LiveEvent", "MAX_CAPACITY", "MAX_LENGTH", "MAX_PRESENTERS", "MAX_SPECTATORS", "ROLES",
           "CancelEffect", "cancel_effect", "check_cancel", "check_event", "check_registrable", "check_spectator_room",
           "display_code", "event_status", "jst", "new_code", "normalise_code", "presenter_keys", "role_for", "running"]
