"""The salon's spaces over HTTP (issue #20, part 2), under ``/api/salon``:

- ``GET /bookings[?room=]``, ``POST /bookings``: meeting-room bookings (salon members; policy
  BOOK_SALON_ROOM); the booking is the booker's municipality's, taken from the session;
- ``GET /conduct``: the code of conduct's version and whether this account accepted it (accepting
  is the socket's ``salon.conduct``, so the live connection learns it at once);
- ``DELETE /bookings/{id}``: cancel a meeting's booking (its municipality's staff, administrators);
- ``GET /events``, ``POST /events``, ``DELETE /events/{id}``: salon events (an event books its
  room; the organiser or an administrator cancels it); ``POST|DELETE /events/{id}/registration``:
  a place for oneself (``salon_event_full`` when taken);
- ``GET /reports``: reports for administrators (READ_REPORTS): ids, time, the attached note.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web

from yakuba.server.auth.audit import AUDIT_KEY
from yakuba.server.auth.identity import IDENTITY_KEY
from yakuba.server.auth.policy import Action, SalonRoomResource
from yakuba.server.http.authorize import authorize
from yakuba.server.http.body import read_json
from yakuba.server.http_errors import ApiError, json_errors
from yakuba.server.protocol.salon_http import BookingIn, SalonEventIn
from yakuba.server.salon import events, records
from yakuba.server.db.models import utcnow

log = logging.getLogger("yakuba.salon")
errors = json_errors(log, "salon", {})


def _db(request: web.Request):
    return request.app[IDENTITY_KEY].db


def _when(v: str) -> datetime:
    try:
        t = datetime.fromisoformat(v)
    except ValueError:
        raise ApiError(400, "invalid_request", "times are ISO 8601") from None
    if t.tzinfo is None:
        raise ApiError(400, "invalid_request", "times need an offset (+09:00 or Z)")
    return t


@errors
async def book(request: web.Request) -> web.Response:
    p = await authorize(request, Action.BOOK_SALON_ROOM)
    body = BookingIn.from_body(await read_json(request, 4096))
    if body.room not in request.app[ROOMS_KEY]:
        raise ApiError(404, "not_found", "no such meeting room")
    async with _db(request).session() as s:
        b = await records.book(s, body.room, p.municipality, p.staff_id, _when(body.start), _when(body.end))  # type: ignore[arg-type]
        out = records.out(b)
    request.app[AUDIT_KEY].record("salon_room_booked", p, action="book_salon_room", resource=f"booking:{out['id']}")
    return web.json_response(out, status=201)


async def _changed(request: web.Request) -> None:
    """Every node reloads the salon's schedule (locks, events) after a change; without a realtime
    hub here the others still reload within 30 s (SalonDesk.reload)."""
    desk = request.app.get(DESK_KEY)
    if desk is not None:
        await desk.changed()


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise ApiError(404, "not_found", "no such id") from None


@errors
async def cancel_booking(request: web.Request) -> web.Response:
    p = await authorize(request, Action.BOOK_SALON_ROOM)
    async with _db(request).session() as s:
        b = await records.get_booking(s, _id(request))
        await authorize(request, Action.CANCEL_SALON_BOOKING, SalonRoomResource(b.room, False, b.municipality_code))
        await records.cancel_booking(s, b)
    await _changed(request)
    request.app[AUDIT_KEY].record("salon_booking_cancelled", p, action="cancel_salon_booking", resource=f"booking:{b.id}")
    return web.json_response({"ok": True})


@errors
async def create_event(request: web.Request) -> web.Response:
    p = await authorize(request, Action.BOOK_SALON_ROOM)
    body = SalonEventIn.from_body(await read_json(request, 4096))
    if body.room not in request.app[ROOMS_KEY]:
        raise ApiError(404, "not_found", "no such meeting room")
    async with _db(request).session() as s:
        e = await events.create(s, p.staff_id, p.municipality, body.title, body.room, _when(body.start), _when(body.end),  # type: ignore[arg-type]
                                body.capacity, body.hybrid)
        eid = e.id
        out = next(x for x in await events.upcoming(s, utcnow(), p.staff_id) if x["id"] == eid)  # the listing's shape
    await _changed(request)
    request.app[AUDIT_KEY].record("salon_event_created", p, action="book_salon_room", resource=f"salon_event:{eid}")
    return web.json_response(out, status=201)


@errors
async def list_events(request: web.Request) -> web.Response:
    p = await authorize(request, Action.BOOK_SALON_ROOM)
    async with _db(request).session() as s:
        rows = await events.upcoming(s, utcnow(), p.staff_id)
    return web.json_response({"events": rows}, headers={"Cache-Control": "no-store"})


@errors
async def cancel_event(request: web.Request) -> web.Response:
    p = await authorize(request, Action.BOOK_SALON_ROOM)
    async with _db(request).session() as s:
        e, _ = await events.get(s, _id(request))
        await authorize(request, Action.RUN_SALON_EVENT, e.organiser)
        await events.cancel(s, e.id)
    await _changed(request)
    request.app[AUDIT_KEY].record("salon_event_cancelled", p, action="run_salon_event", resource=f"salon_event:{e.id}")
    return web.json_response({"ok": True})


@errors
async def register(request: web.Request) -> web.Response:
    p = await authorize(request, Action.BOOK_SALON_ROOM)
    eid = _id(request)
    async with _db(request).session() as s:
        if request.method == "DELETE":
            await events.unregister(s, eid, p.staff_id)  # type: ignore[arg-type]
        else:
            await events.register(s, eid, p.staff_id)  # type: ignore[arg-type]
    await _changed(request)
    request.app[AUDIT_KEY].record("salon_event_" + ("unregistered" if request.method == "DELETE" else "registered"), p,
                                  action="book_salon_room", resource=f"salon_event:{eid}")
    return web.json_response({"ok": True}, status=200 if request.method == "DELETE" else 201)


@errors
async def list_bookings(request: web.Request) -> web.Response:
    await authorize(request, Action.BOOK_SALON_ROOM)
    room = request.query.get("room")
    async with _db(request).session() as s:
        rows = [records.out(b) for b in await records.bookings(s, room, utcnow())]
    return web.json_response({"bookings": rows})


@errors
async def conduct(request: web.Request) -> web.Response:
    p = await authorize(request, Action.ENTER_SALON)
    async with _db(request).session() as s:
        ok = await records.conduct_accepted(s, p.staff_id)  # type: ignore[arg-type]
    return web.json_response({"version": records.CONDUCT_VERSION, "accepted": ok}, headers={"Cache-Control": "no-store"})


@errors
async def list_reports(request: web.Request) -> web.Response:
    await authorize(request, Action.READ_REPORTS)
    async with _db(request).session() as s:
        return web.json_response({"reports": await records.reports(s)}, headers={"Cache-Control": "no-store"})


ROOMS_KEY = web.AppKey("salon_meeting_rooms", frozenset)
DESK_KEY = web.AppKey("salon_desk", object)


def setup_space_routes(app: web.Application, rooms: frozenset = frozenset({"salon-meeting1", "salon-meeting2"})) -> None:
    app[ROOMS_KEY] = rooms
    r = app.router
    r.add_get("/api/salon/bookings", list_bookings)
    r.add_post("/api/salon/bookings", book)
    r.add_delete("/api/salon/bookings/{id}", cancel_booking)
    r.add_get("/api/salon/events", list_events)
    r.add_post("/api/salon/events", create_event)
    r.add_delete("/api/salon/events/{id}", cancel_event)
    r.add_post("/api/salon/events/{id}/registration", register)
    r.add_delete("/api/salon/events/{id}/registration", register)
    r.add_get("/api/salon/conduct", conduct)
    r.add_get("/api/salon/reports", list_reports)


__all__ = ["setup_space_routes"]
