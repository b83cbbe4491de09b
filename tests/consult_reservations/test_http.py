"""The reservations API over real HTTP against the real app (loopback port, SQLite, memory
store): staff publish with a login session (cookie + CSRF), an anonymous resident books, reads,
downloads the .ics and cancels; refusals have clear codes; code guessing is throttled."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import aiohttp
import icalendar

from yakuba.server.app import AUDIT_KEY, DB_KEY
from yakuba.server.consult.reservation_routes import LOOKUP_MAX_MISSES, RESERVATIONS_KEY

from auth.helpers import add_staff, login, session_for
from server.realtime_client import running_app

ORIGIN = "https://city.example.jp"


def _at(hours: float) -> str:
    t = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(hours=hours)
    return t.isoformat()


async def _staff(url: str, app) -> tuple[aiohttp.ClientSession, dict]:
    await add_staff(app[DB_KEY], "sato")
    http = session_for(url)
    st, body, _ = await login(http, url, "sato")
    assert st == 200, body
    return http, {"Origin": url, "X-CSRF-Token": body["csrf"]}


async def test_book_read_ics_cancel_and_staff_day(tmp_path) -> None:
    async with running_app(tmp_path, argon2_profile="test", public_origin=ORIGIN) as (url, app):
        staff, h = await _staff(url, app)
        async with staff, session_for(url) as anon:
            # residents may not publish; staff without the CSRF token may not either
            async with anon.post("/api/consult/slots", json={"topic": "tax.payment", "start": _at(24), "end": _at(25)}) as r:
                assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"
            async with staff.post("/api/consult/slots", json={"topic": "tax.payment", "start": _at(24), "end": _at(25)},
                                  headers={"Origin": url}) as r:
                assert r.status == 403 and (await r.json())["error"]["code"] == "csrf_failed"
            async with staff.post("/api/consult/slots", json={"topic": "tax.payment", "start": _at(24), "end": _at(23)}, headers=h) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_slot"
            async with staff.post("/api/consult/slots", json={"topic": "tax.payment", "start": _at(24), "end": _at(24.5),
                                                              "capacity": 1, "series": {"count": 2}}, headers=h) as r:
                assert r.status == 201, await r.text()
                slots = (await r.json())["slots"]
            assert len(slots) == 2 and slots[0]["start"].endswith("+09:00")

            async with anon.get("/api/consult/catalogue") as r:
                cat = await r.json()
            assert any(t["id"] == "tax.payment" for d in cat["departments"] for t in d["topics"])
            async with anon.get("/api/consult/slots", params={"topic": "tax.payment"}) as r:
                assert [s["id"] for s in (await r.json())["slots"]] == [s["id"] for s in slots]
            async with anon.get("/api/consult/slots", params={"from": "2025-13-01"}) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_request"

            async with anon.post("/api/consult/bookings", json={"slot": slots[0]["id"], "email": "not-an-address"}) as r:
                assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_request"
            async with anon.post("/api/consult/bookings", json={"slot": slots[0]["id"], "name": "山田"}) as r:
                assert r.status == 201
                booked = await r.json()
            code = booked["code"]
            assert len(code) == 9 and code[4] == "-" and booked["status"] == "booked" and booked["name"] == "山田"
            assert booked["ics_url"] == f"/api/consult/bookings/{code}.ics" and booked["email_given"] is False
            async with anon.post("/api/consult/bookings", json={"slot": slots[0]["id"]}) as r:
                assert r.status == 409 and (await r.json())["error"]["code"] == "slot_full"

            async with anon.get(f"/api/consult/bookings/{code.lower().replace('-', '')}") as r:
                assert r.status == 200 and (await r.json())["slot"]["id"] == slots[0]["id"]
            async with anon.get(booked["ics_url"]) as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/calendar")
                cal = icalendar.Calendar.from_ical(await r.read())
            (ev,) = cal.walk("VEVENT")
            assert "納税の相談" in str(ev["SUMMARY"]) and str(ev["LOCATION"]).endswith(f"{ORIGIN}/")
            assert ev.decoded("DTSTART").isoformat() == datetime.fromisoformat(slots[0]["start"]).astimezone(timezone.utc).isoformat()
            assert code in str(ev["DESCRIPTION"])

            async with staff.get("/api/consult/day", params={"date": slots[0]["start"][:10]}) as r:
                day = await r.json()
            assert [b["code"] for s in day["slots"] for b in s["bookings"]] == [code]
            async with anon.get("/api/consult/day") as r:
                assert r.status == 403

            async with anon.delete(f"/api/consult/bookings/{code}") as r:
                assert r.status == 200 and (await r.json())["status"] == "cancelled"
            async with anon.delete(f"/api/consult/bookings/{code}") as r:
                assert r.status == 409 and (await r.json())["error"]["code"] == "booking_closed"
            async with staff.delete(f"/api/consult/slots/{slots[1]['id']}", headers=h) as r:
                assert r.status == 200 and (await r.json())["bookings_cancelled"] == 0
            async with anon.get("/api/consult/slots") as r:
                assert [s["id"] for s in (await r.json())["slots"]] == [slots[0]["id"]]  # place given back; #2 gone
        # booking and cancel are audited by ids, never by name
        await app[AUDIT_KEY].flush()
        from sqlalchemy import select

        from yakuba.server.db.models import AuditEvent

        async with app[DB_KEY].session() as s:
            events = [(e.kind, e.resource) for e in (await s.scalars(select(AuditEvent))).all()]
        bid = (await app[RESERVATIONS_KEY].find(code))[0].id
        assert ("booked", f"booking:{bid}") in events and ("booking_cancelled", f"booking:{bid}") in events
        assert not any("山田" in str(e) for e in events)


async def test_guessing_codes_is_throttled(tmp_path) -> None:
    async with running_app(tmp_path) as (url, app):
        svc = app[RESERVATIONS_KEY]
        from yakuba.server.auth.principal import Kind, Principal

        staff = Principal(kind=Kind.STAFF, staff_id=1)
        start = datetime.now(timezone.utc) + timedelta(days=2)
        (slot,) = await svc.publish(staff, "tax.payment", start, start + timedelta(minutes=30))
        b, _ = await svc.book(staff, slot["id"])
        async with session_for(url) as anon:
            async with anon.get(f"/api/consult/bookings/{b.code}") as r:
                assert r.status == 200
            for _ in range(LOOKUP_MAX_MISSES):
                async with anon.get("/api/consult/bookings/ACDE-3479") as r:
                    assert r.status == 404 and (await r.json())["error"]["code"] == "unknown_booking"
            # now even the right code is refused from this address until the window passes
            async with anon.get(f"/api/consult/bookings/{b.code}") as r:
                assert r.status == 429 and (await r.json())["error"]["code"] == "rate_limited"
            async with anon.get(f"/api/consult/bookings/{b.code}.ics") as r:
                assert r.status == 429
