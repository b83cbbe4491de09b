"""The pure rules of reservations.py: codes, slots, series, cancellation, check-in, iCalendar."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import icalendar
import pytest

from yakuba.server.consult import reservations as r
from yakuba.server.protocol.errors import ErrorCode, ProtocolError

NOW = datetime(2025, 4, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 in Japan, a Tuesday
H = timedelta(hours=1)


def _code(fn, *a) -> ErrorCode:
    with pytest.raises(ProtocolError) as e:
        fn(*a)
    return e.value.code


def test_codes_are_unambiguous_and_typed_any_way() -> None:
    codes = {r.new_code() for _ in range(2000)}
    assert len(codes) == 2000  # no repeats in 2000 draws from 7.8e10
    assert all(len(c) == 8 and set(c) <= set(r.CODE_ALPHABET) for c in codes)
    assert not set("01258BGILOSZ") & set(r.CODE_ALPHABET)
    c = "ACDE3479"
    for typed in ("ACDE-3479", "acde 3479", "ＡＣＤＥ－３４７９", " acde3479 ", "ACDEー3479"):
        assert r.normalise_code(typed) == c, typed
    for bad in ("ACDE-347", "ACDE-34790", "ACDE-3O79", "", "x" * 100):
        assert r.normalise_code(bad) is None
    assert r.display_code(c) == "ACDE-3479"


def test_slot_validity() -> None:
    r.check_slot(NOW + H, NOW + 2 * H, 1, NOW)
    assert _code(r.check_slot, NOW + 2 * H, NOW + H, 1, NOW) is ErrorCode.INVALID_SLOT
    assert _code(r.check_slot, NOW - H, NOW, 1, NOW) is ErrorCode.INVALID_SLOT
    assert _code(r.check_slot, NOW + H, NOW + 10 * H, 1, NOW) is ErrorCode.INVALID_SLOT
    assert _code(r.check_slot, NOW + H, NOW + 2 * H, 0, NOW) is ErrorCode.INVALID_SLOT
    assert _code(r.check_slot, NOW + timedelta(days=400), NOW + timedelta(days=400, hours=1), 1, NOW) is ErrorCode.INVALID_SLOT


def test_series_back_to_back_and_weekdays_only() -> None:
    start = NOW + timedelta(days=3)  # Friday 09:00 JST
    s = r.expand_series(start, start + timedelta(minutes=20), count=3)
    assert [(x.start - start).seconds // 60 for x in s] == [0, 20, 40]
    s = r.expand_series(start, start + timedelta(minutes=20), count=2, every_minutes=30, days=3, weekdays_only=True)
    days = sorted({x.start.astimezone(r.JST).strftime("%a") for x in s})
    assert len(s) == 6 and days == ["Fri", "Mon", "Tue"]  # Saturday and Sunday skipped
    assert _code(r.expand_series, start, start + H, 2, 30) is ErrorCode.INVALID_SLOT  # overlapping
    assert _code(r.expand_series, start, start + timedelta(minutes=5), 100, None, 3) is ErrorCode.INVALID_SLOT  # > 200


def test_booking_capacity_and_cancellation_window() -> None:
    r.check_bookable(NOW + H, False, 1, 2, NOW)
    assert _code(r.check_bookable, NOW + H, False, 2, 2, NOW) is ErrorCode.SLOT_FULL
    assert _code(r.check_bookable, NOW, False, 0, 2, NOW) is ErrorCode.SLOT_STARTED
    assert _code(r.check_bookable, NOW + H, True, 0, 2, NOW) is ErrorCode.UNKNOWN_SLOT
    r.check_cancel("booked", NOW + 2 * H, NOW, H)
    assert _code(r.check_cancel, "booked", NOW + 2 * H, NOW + timedelta(minutes=61), H) is ErrorCode.TOO_LATE_TO_CANCEL
    assert _code(r.check_cancel, "cancelled", NOW + 2 * H, NOW, H) is ErrorCode.BOOKING_CLOSED


def test_check_in_rule() -> None:
    start, end = NOW + H, NOW + 2 * H
    assert r.check_in("tax.payment", 7, "booked", start, end, start - timedelta(minutes=30)) == r.CheckIn("tax.payment", 7)
    assert r.check_in("tax.payment", 7, "booked", start, end, end - timedelta(seconds=1)).booking_id == 7
    assert _code(r.check_in, "t", 7, "booked", start, end, start - timedelta(minutes=31)) is ErrorCode.CHECK_IN_WINDOW
    assert _code(r.check_in, "t", 7, "booked", start, end, end) is ErrorCode.CHECK_IN_WINDOW
    assert _code(r.check_in, "t", 7, "checked_in", start, end, start) is ErrorCode.BOOKING_CLOSED


def test_names_lose_control_characters() -> None:
    assert r.clean_name("  山田\u0000太郎\n ") == "山田太郎"
    assert r.clean_name(" \t ") is None and r.clean_name(None) is None


def test_ics_is_valid_rfc5545_and_folds_long_japanese_lines() -> None:
    summary = "区役所 相談予約: " + "国民健康保険料の納付・減免" * 4  # well over 75 octets
    raw = r.ics(uid="booking-9@city.example.jp", stamp=NOW, start=NOW + H, end=NOW + 2 * H, summary=summary,
                description="予約番号 ACDE-3479\n総合案内へ", location="メタバース区役所 https://city.example.jp/",
                url="https://city.example.jp/reserve.html?code=ACDE-3479")
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert raw.endswith(b"END:VCALENDAR\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    cal = icalendar.Calendar.from_ical(raw)
    (ev,) = cal.walk("VEVENT")
    assert str(ev["UID"]) == "booking-9@city.example.jp" and str(ev["SUMMARY"]) == summary
    assert ev.decoded("DTSTART") == NOW + H and ev.decoded("DTEND") == NOW + 2 * H
    assert ev.decoded("DTSTAMP") == NOW
    assert str(ev["DESCRIPTION"]) == "予約番号 ACDE-3479\n総合案内へ"
    assert str(ev["LOCATION"]) == "メタバース区役所 https://city.example.jp/"
    assert str(ev["STATUS"]) == "CONFIRMED"
