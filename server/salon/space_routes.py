"""The salon's spaces over HTTP (issue #20, part 2), under ``/api/salon``:

- ``GET /bookings[?room=]``, ``POST /bookings``: meeting-room bookings (salon members; policy
  BOOK_SALON_ROOM); the booking is the booker's municipality's, taken from the session;
- ``GET /conduct``: the code of conduct's version and whether this account accepted it (accepting
  is the socket's ``salon.conduct``, so the live connection learns it at once);
- ``GET /reports``: reports for administrators (READ_REPORTS): ids, time, the attached note.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiohttp import web

from yakuba.server.auth.audit import AUDIT_KEY
from yakuba.server.auth.identity import IDENTITY_KEY
from yakuba.server.auth.policy import Action
from yakuba.server.http.authorize import authorize
from yakuba.server.http.body import read_json
from yakuba.server.http_errors import ApiError, json_errors
from yakuba.server.protocol.salon_http import BookingIn
from yakuba.server.salon import records
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


def setup_space_routes(app: web.Application, rooms: frozenset = frozenset({"salon-meeting1", "salon-meeting2"})) -> None:
    app[ROOMS_KEY] = rooms
    r = app.router
    r.add_get("/api/salon/bookings", list_bookings)
    r.add_post("/api/salon/bookings", book)
    r.add_get("/api/salon/conduct", conduct)
    r.add_get("/api/salon/reports", list_reports)


__all__ = ["setup_space_routes"]
