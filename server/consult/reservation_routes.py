"""HTTP for reservations. Residents (no account): the catalogue, free slots, book, read or
cancel by code, the .ics. Staff: publish and withdraw slots, the day's slots and bookings.

Every route asks the policy (server/http/authorize.py). The code is the booking's only key, so
lookups by code are throttled per client address: after LOOKUP_MAX_MISSES unknown codes in
LOOKUP_WINDOW_S every lookup from that address answers 429 until the window passes (guessing
one of 7.8e10 codes at 30 an hour is hopeless). Bookings are capped per address the same way,
so a script cannot fill every slot.
"""

from __future__ import annotations

import logging
from datetime import timezone

from aiohttp import web

from yakuba.server.auth.identity import request_address
from yakuba.server.auth.policy import Action
from yakuba.server.auth.throttle import LoginThrottle, _key
from yakuba.server.consult import reservations as rules
from yakuba.server.consult.catalogue import Catalogue, load_catalogue
from yakuba.server.consult.mailer import MailConfig, Mailer
from yakuba.server.consult.reservation_service import Policy, ReservationService, iso, slot_out
from yakuba.server.http.authorize import authorize
from yakuba.server.http_errors import json_errors
from yakuba.server.protocol.consult_http import BookingIn, BookingOut, SlotQuery, SlotsIn, day_query
from yakuba.server.protocol.errors import ErrorCode, ProtocolError
from yakuba.server.protocol.http import json_body

log = logging.getLogger("yakuba.consult.http")

RESERVATIONS_KEY = web.AppKey("reservations", ReservationService)
THROTTLES_KEY = web.AppKey("reservation_throttles", dict)
LOOKUP_MAX_MISSES, LOOKUP_WINDOW_S = 30, 3600.0
BOOKINGS_PER_ADDRESS, BOOKING_WINDOW_S = 20, 3600.0

_errors = json_errors(log, "reservations api")


class AddressThrottle(LoginThrottle):
    """LoginThrottle's sliding window in the live store, keyed by client address only (under
    its own prefix, so these never count against staff logins from the same address)."""

    def __init__(self, kind: str, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.kind = kind

    def _keys(self, username: str, address: str) -> list[str]:
        return [_key(self.kind, address or "-")]


def _svc(request: web.Request) -> ReservationService:
    return request.app[RESERVATIONS_KEY]


def _origin(request: web.Request) -> str:
    return _svc(request).origin or f"{request.scheme}://{request.host}"


def _booking_out(request: web.Request, b, s) -> dict:
    svc = _svc(request)
    code = rules.display_code(b.code)
    return BookingOut(code=code, status=b.status, slot=slot_out(s), name=b.name, email_given=b.email is not None,
                      ics_url=f"/api/consult/bookings/{code}.ics",
                      cancel_until=iso(s.start_at - svc.policy.cancel_before)).model_dump(mode="json")


async def _by_code(request: web.Request, code: str):
    """The booking for ``code`` or 404; throttled per address (see the module doc)."""
    lookups: AddressThrottle = request.app[THROTTLES_KEY]["lookup"]
    address = request_address(request)
    if await lookups.blocked("", address):
        raise ProtocolError(ErrorCode.RATE_LIMITED, "too many unknown codes from this address; try again later")
    found = await _svc(request).find(code)
    if found is None:
        await lookups.failed("", address)
        raise ProtocolError(ErrorCode.UNKNOWN_BOOKING)
    return found


# --- public ----------------------------------------------------------------------------------------
async def catalogue_view(request: web.Request) -> web.Response:
    await authorize(request, Action.BOOK_SLOT)
    return web.json_response(_svc(request).catalogue.public(), headers={"Cache-Control": "public, max-age=60"})


async def list_slots(request: web.Request) -> web.Response:
    await authorize(request, Action.BOOK_SLOT)
    q = SlotQuery.from_query(request.query)
    return web.json_response({"slots": await _svc(request).free_slots(q.topic, q.start, q.end)})


async def create_booking(request: web.Request) -> web.Response:
    p = await authorize(request, Action.BOOK_SLOT)
    body = BookingIn.from_body(json_body(await request.read()))
    per_address: AddressThrottle = request.app[THROTTLES_KEY]["book"]
    address = request_address(request)
    if not p.is_staff and await per_address.blocked("", address):
        raise ProtocolError(ErrorCode.RATE_LIMITED, "too many bookings from this address; try again later")
    b, s = await _svc(request).book(p, body.slot, body.name, body.email, body.lang)
    if not p.is_staff:
        await per_address.failed("", address)  # counts bookings, not failures
    return web.json_response(_booking_out(request, b, s), status=201)


async def get_booking(request: web.Request) -> web.Response:
    await authorize(request, Action.BOOK_SLOT)
    b, s = await _by_code(request, request.match_info["code"])
    return web.json_response(_booking_out(request, b, s), headers={"Cache-Control": "no-store"})


async def cancel_booking(request: web.Request) -> web.Response:
    p = await authorize(request, Action.BOOK_SLOT)
    await _by_code(request, request.match_info["code"])
    b, s = await _svc(request).cancel(p, request.match_info["code"])
    return web.json_response(_booking_out(request, b, s))


async def booking_ics(request: web.Request) -> web.Response:
    await authorize(request, Action.BOOK_SLOT)
    b, s = await _by_code(request, request.match_info["code"])
    body = _svc(request).calendar(b, s, _origin(request))
    name = f"reservation-{rules.display_code(b.code)}.ics"
    return web.Response(body=body, headers={"Content-Type": "text/calendar; charset=utf-8", "Cache-Control": "no-store",
                                            "Content-Disposition": f'attachment; filename="{name}"'})


# --- staff -----------------------------------------------------------------------------------------
async def publish_slots(request: web.Request) -> web.Response:
    p = await authorize(request, Action.MANAGE_SLOTS)
    body = SlotsIn.from_body(json_body(await request.read()))
    series = body.series.model_dump() if body.series else None
    slots = await _svc(request).publish(p, body.topic, body.start.astimezone(timezone.utc), body.end.astimezone(timezone.utc),
                                        body.capacity, series)
    return web.json_response({"slots": slots}, status=201)


async def withdraw_slot(request: web.Request) -> web.Response:
    p = await authorize(request, Action.MANAGE_SLOTS)
    try:
        slot_id = int(request.match_info["slot_id"])
    except ValueError:
        raise ProtocolError(ErrorCode.UNKNOWN_SLOT) from None
    cancelled = await _svc(request).withdraw(p, slot_id)
    return web.json_response({"id": slot_id, "withdrawn": True, "bookings_cancelled": cancelled})


async def day_view(request: web.Request) -> web.Response:
    await authorize(request, Action.VIEW_DAY)
    d = day_query(request.query)
    dept = request.query.get("department") or None
    return web.json_response(await _svc(request).day(d, dept), headers={"Cache-Control": "no-store"})


# --- wiring ----------------------------------------------------------------------------------------
def setup_reservations(app: web.Application, config, db, store, audit=None, catalogue: Catalogue | None = None,
                       start_sweep: bool = True) -> ReservationService:
    """One ReservationService per app (``app[RESERVATIONS_KEY]``; the desk calls its
    ``check_in(code)``), its routes, and the sweep task started and stopped with the app."""
    svc = ReservationService(db, catalogue or load_catalogue(), Policy.from_settings(config),
                             Mailer(MailConfig.from_settings(config)), audit, config.public_origin)
    app[RESERVATIONS_KEY] = svc
    app[THROTTLES_KEY] = {"lookup": AddressThrottle("code", store, LOOKUP_MAX_MISSES, LOOKUP_WINDOW_S),
                          "book": AddressThrottle("book", store, BOOKINGS_PER_ADDRESS, BOOKING_WINDOW_S)}
    r = app.router
    r.add_get("/api/consult/catalogue", _errors(catalogue_view))
    r.add_get("/api/consult/slots", _errors(list_slots))
    r.add_post("/api/consult/slots", _errors(publish_slots))
    r.add_delete("/api/consult/slots/{slot_id}", _errors(withdraw_slot))
    r.add_post("/api/consult/bookings", _errors(create_booking))
    r.add_get("/api/consult/bookings/{code}.ics", _errors(booking_ics))
    r.add_get("/api/consult/bookings/{code}", _errors(get_booking))
    r.add_delete("/api/consult/bookings/{code}", _errors(cancel_booking))
    r.add_get("/api/consult/day", _errors(day_view))

    async def _start(_app: web.Application) -> None:
        if start_sweep:
            svc.start()

    async def _stop(_app: web.Application) -> None:
        await svc.stop()

    app.on_startup.append(_start)
    app.on_cleanup.insert(0, _stop)  # before the app's cleanup closes the database
    return svc


__all__ = ["RESERVATIONS_KEY", "AddressThrottle", "setup_reservations"]
