"""Reservations ("come with a reservation") as pure rules: no SQL, no clock, no network.

Staff publish slots for a topic (one, or a series); residents book one with a code they can read
out at the desk or type on a phone; the code checked in at the desk becomes a priority ticket.
The service (reservation_service.py) loads rows, asks these functions, and writes the outcome.

Times are timezone-aware UTC datetimes; residents see Japan time (JST, no daylight saving).
Refusals are ``ProtocolError`` so an HTTP route and a socket handler answer the same code.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from yakuba.server.protocol.errors import ErrorCode, ProtocolError

JST = timezone(timedelta(hours=9), "JST")  # Japan has had no daylight saving since 1951

# Reservation codes: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, G/6: letters that are misread aloud or on a
# small screen. 23 symbols, 8 of them: 7.8e10 codes, shown as XXXX-XXXX.
CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
CODE_LEN = 8

MAX_SLOT_MINUTES = 8 * 60
MAX_CAPACITY = 50
MAX_SERIES = 200  # slots in one publish request
MAX_AHEAD = timedelta(days=366)  # no slots further ahead than this
CHECK_IN_EARLY = timedelta(minutes=30)  # a resident may check in this long before the start

STATUSES = ("booked", "cancelled", "checked_in", "no_show")


# --- codes ---------------------------------------------------------------------------------------
def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LEN))


def normalise_code(text: str) -> str | None:
    """What a resident typed -> the stored code, or None when it cannot be one. Full-width
    letters from a Japanese IME (ＡＢＣ), lower case, spaces and hyphens are accepted."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    s = unicodedata.normalize("NFKC", text).upper()
    s = "".join(ch for ch in s if ch not in " -_\u30fc\u2010\u2212.")  # ー and dash look-alikes too
    if len(s) != CODE_LEN or any(ch not in CODE_ALPHABET for ch in s):
        return None
    return s


def display_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


# --- slots ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlotTimes:
    start: datetime
    end: datetime


def check_slot(start: datetime, end: datetime, capacity: int, now: datetime) -> None:
    """A slot staff may publish: in the future, start before end, at most 8 h, capacity 1..50."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ProtocolError(ErrorCode.INVALID_SLOT, "times need a UTC offset (e.g. 2025-04-01T09:00+09:00)")
    if end <= start:
        raise ProtocolError(ErrorCode.INVALID_SLOT, "end must be after start")
    if end - start > timedelta(minutes=MAX_SLOT_MINUTES):
        raise ProtocolError(ErrorCode.INVALID_SLOT, f"a slot lasts at most {MAX_SLOT_MINUTES} minutes")
    if start <= now:
        raise ProtocolError(ErrorCode.INVALID_SLOT, "the slot starts in the past")
    if start - now > MAX_AHEAD:
        raise ProtocolError(ErrorCode.INVALID_SLOT, "the slot is more than a year ahead")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ProtocolError(ErrorCode.INVALID_SLOT, f"capacity must be 1..{MAX_CAPACITY}")


def expand_series(start: datetime, end: datetime, count: int = 1, every_minutes: int | None = None,
                  days: int = 1, weekdays_only: bool = False) -> list[SlotTimes]:
    """One slot, or ``count`` slots each ``every_minutes`` apart (default: back to back), on
    ``days`` consecutive days (Japan time; Saturdays and Sundays skipped with
    ``weekdays_only``). Overlapping slots of one series are refused."""
    length = end - start
    step = timedelta(minutes=every_minutes) if every_minutes else length
    if count > 1 and step < length:
        raise ProtocolError(ErrorCode.INVALID_SLOT, "slots of a series would overlap (every_minutes < slot length)")
    out: list[SlotTimes] = []
    day, made_days = 0, 0
    while made_days < days:
        first = start + timedelta(days=day)
        day += 1
        if weekdays_only and first.astimezone(JST).weekday() >= 5:
            if day > days * 3 + 7:
                break
            continue
        made_days += 1
        for i in range(count):
            s = first + step * i
            out.append(SlotTimes(s, s + length))
            if len(out) > MAX_SERIES:
                raise ProtocolError(ErrorCode.INVALID_SLOT, f"at most {MAX_SERIES} slots in one request")
    return out


def jst_day(d: date) -> tuple[datetime, datetime]:
    """The UTC bounds of a calendar day in Japan."""
    start = datetime.combine(d, time(0), JST)
    return start.astimezone(timezone.utc), (start + timedelta(days=1)).astimezone(timezone.utc)


# --- bookings ------------------------------------------------------------------------------------
def check_bookable(start: datetime, withdrawn: bool, booked: int, capacity: int, now: datetime) -> None:
    """A resident may book a slot that is published, not started and not full."""
    if withdrawn:
        raise ProtocolError(ErrorCode.UNKNOWN_SLOT)
    if start <= now:
        raise ProtocolError(ErrorCode.SLOT_STARTED)
    if booked >= capacity:
        raise ProtocolError(ErrorCode.SLOT_FULL)


def check_cancel(status: str, start: datetime, now: datetime, until_before: timedelta) -> None:
    """The code holder cancels a booked slot until ``until_before`` its start (a setting)."""
    if status != "booked":
        raise ProtocolError(ErrorCode.BOOKING_CLOSED, f"the booking is {status}")
    if now > start - until_before:
        raise ProtocolError(ErrorCode.TOO_LATE_TO_CANCEL)


@dataclass(frozen=True)
class CheckIn:
    topic: str
    booking_id: int


def check_in(topic: str, booking_id: int, status: str, start: datetime, end: datetime, now: datetime) -> CheckIn:
    """The rule at the desk: a booked code, from CHECK_IN_EARLY before its start until its end,
    becomes a priority ticket for the slot's topic. Anything else is refused by code."""
    if status != "booked":
        raise ProtocolError(ErrorCode.BOOKING_CLOSED, f"the booking is {status}")
    if now < start - CHECK_IN_EARLY:
        raise ProtocolError(ErrorCode.CHECK_IN_WINDOW, "too early: check in from 30 minutes before your time")
    if now >= end:
        raise ProtocolError(ErrorCode.CHECK_IN_WINDOW, "your reserved time has passed")
    return CheckIn(topic, booking_id)


def clean_name(name: str | None) -> str | None:
    """A display name as the resident typed it, without control characters; empty is none."""
    if name is None:
        return None
    s = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip()
    return s or None


# --- iCalendar (RFC 5545) ------------------------------------------------------------------------
def _ics_text(s: str) -> str:
    return s.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with CRLF + space, never splitting a UTF-8 character."""
    out, cur, size = [], "", 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > 75:
            out.append(cur)
            cur, size = " ", 1
        cur += ch
        size += n
    out.append(cur)
    return "\r\n".join(out)


def _utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def ics(*, uid: str, stamp: datetime, start: datetime, end: datetime, summary: str, description: str,
        location: str, url: str | None = None, cancelled: bool = False) -> bytes:
    """One VEVENT in a VCALENDAR (METHOD:PUBLISH), times in UTC."""
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Yakuba//Consultation reservations//JA",
        "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "BEGIN:VEVENT",
        f"UID:{uid}", f"DTSTAMP:{_utc(stamp)}", f"DTSTART:{_utc(start)}", f"DTEND:{_utc(end)}",
        f"SUMMARY:{_ics_text(summary)}", f"DESCRIPTION:{_ics_text(description)}",
        f"LOCATION:{_ics_text(location)}",
    ]
    if url:
        lines.append(f"URL:{url}")
    lines += [f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}", "TRANSP:OPAQUE", "END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(_fold(x) for x in lines) + "\r\n").encode("utf-8")


__all__ = ["CHECK_IN_EARLY", "CODE_ALPHABET", "JST", "STATUSES", "CheckIn", "SlotTimes", "check_bookable",
           "check_cancel", "check_in", "check_slot", "clean_name", "display_code", "expand_series", "ics",
           "jst_day", "new_code", "normalise_code"]
