"""HTTP for events in the hall. Anyone (no account): the upcoming events with their counts, one
event, register, read or cancel a registration by its code. Staff: schedule and cancel events,
an event's registrations (codes, roles, names: never logged; the error lines carry the path,
which holds ids and the code only).

Every route asks the policy (server/http/authorize.py): MANAGE_EVENTS for staff, REGISTER_EVENT
for the rest. Registrations are capped per client address like the reservations' bookings, and
lookups of unknown codes are throttled per address (the code is a registration's only key).
"""

from __future__ import annotations

import logging
from datetime import timezone

from aiohttp import web

from yakuba.server.auth.identity import request_address
from yakuba.server.auth.policy import Action
from yakuba.server.consult.reservation_routes import AddressThrottle
from yakuba.server.events import core as rules
from yakuba.server.events.service import EventService, event_out
from yakuba.server.http.authorize import authorize
from yakuba.server.http.body import read_json
from yakuba.server.http_errors import json_errors
from yakuba.server.protocol.errors import ErrorCode, ProtocolError
from yakuba.server.protocol.events_http import EventIn, RegistrationIn, RegistrationOut
from yakuba.server.rooms.hall import HallRoom
from yakuba.server.rooms.registry import room_type_for

log = logging.getLogger("yakuba.events.http")

EVENTS_KEY = web.AppKey("events", EventService)
EVENT_THROTTLES_KEY = web.AppKey("event_throttles", dict)
LOOKUP_MAX_MISSES, LOOKUP_WINDOW_S = 30, 3600.0
REGISTRATIONS_PER_ADDRESS, REGISTRATION_WINDOW_S = 20, 3600.0

_errors = json_errors(log, "events api")


def _svc(request: web.Request) -> EventService:
    return request.app[EVENTS_KEY]


def _event_id(request: web.Request) -> int:
    try:
        v = int(request.match_info["event_id"])
    except ValueError:
        raise ProtocolError(ErrorCode.UNKNOWN_HALL_EVENT) from None
    if not 1 <= v < 2**63:
        raise ProtocolError(ErrorCode.UNKNOWN_HALL_EVENT)
    return v


def _registration_out(request: web.Request, reg, e) -> dict:
    return RegistrationOut(code=rules.display_code(reg.code), role=reg.role, status=reg.status, name=reg.name,
                           event=event_out(e, _svc(request).clock())).model_dump(mode="json", exclude_none=True)


async def _by_code(request: web.Request):
    """The registration for the path's event and code, or 404; unknown codes are throttled per address."""
    lookups: AddressThrottle = request.app[EVENT_THROTTLES_KEY]["lookup"]
    address = request_address(request)
    if await lookups.blocked("", address):
        raise ProtocolError(ErrorCode.RATE_LIMITED, "too many unknown codes from this address; try again later")
    found = await _svc(request).find(_event_id(request), request.match_info["code"])
    if found is None:
        await lookups.failed("", address)
        raise ProtocolError(ErrorCode.UNKNOWN_REGISTRATION)
    return found


# --- anyone ----------------------------------------------------------------------------------------
async def list_events(request: web.Request) -> web.Response:
    p = await authorize(request, Action.REGISTER_EVENT)
    return web.json_response({"events": await _svc(request).upcoming(staff=p.is_staff)}, headers={"Cache-Control": "no-store"})


async def get_event(request: web.Request) -> web.Response:
    p = await authorize(request, Action.REGISTER_EVENT)
    svc = _svc(request)
    e = await svc.get(_event_id(request))
    return web.json_response(event_out(e, svc.clock(), staff=p.is_staff), headers={"Cache-Control": "no-store"})


async def register(request: web.Request) -> web.Response:
    p = await authorize(request, Action.REGISTER_EVENT)
    event_id = _event_id(request)
    body = RegistrationIn.from_body(await read_json(request))
    per_address: AddressThrottle = request.app[EVENT_THROTTLES_KEY]["register"]
    address = request_address(request)
    if not p.is_staff and await per_address.blocked("", address):
        raise ProtocolError(ErrorCode.RATE_LIMITED, "too many registrations from this address; try again later")
    reg, e = await _svc(request).register(p, event_id, body.name, body.email)
    if not p.is_staff:
        await per_address.failed("", address)  # counts registrations, not failures
    return web.json_response(_registration_out(request, reg, e), status=201)


async def get_registration(request: web.Request) -> web.Response:
    await authorize(request, Action.REGISTER_EVENT)
    reg, e = await _by_code(request)
    return web.json_response(_registration_out(request, reg, e), headers={"Cache-Control": "no-store"})


async def cancel_registration(request: web.Request) -> web.Response:
    p = await authorize(request, Action.REGISTER_EVENT)
    reg, _ = await _by_code(request)
    reg, e, _promoted = await _svc(request).cancel(p, reg.event_id, reg.code)
    return web.json_response(_registration_out(request, reg, e))


# --- staff -----------------------------------------------------------------------------------------
async def create_event(request: web.Request) -> web.Response:
    p = await authorize(request, Action.MANAGE_EVENTS)
    body = EventIn.from_body(await read_json(request))
    out = await _svc(request).create(p, body.title, body.kind, body.starts.astimezone(timezone.utc),
                                     body.ends.astimezone(timezone.utc), body.capacity, body.presenters)
    return web.json_response(out, status=201)


async def cancel_event(request: web.Request) -> web.Response:
    p = await authorize(request, Action.MANAGE_EVENTS)
    return web.json_response(await _svc(request).cancel_event(p, _event_id(request)))


async def list_registrations(request: web.Request) -> web.Response:
    await authorize(request, Action.MANAGE_EVENTS)
    svc = _svc(request)
    e, rows = await svc.registrations(_event_id(request))
    regs = [{"code": rules.display_code(r.code), "role": r.role, "status": r.status, "name": r.name, "email": r.email,
             "registered": rules.jst(r.created_at)} for r in rows]
    return web.json_response({"event": event_out(e, svc.clock(), staff=True), "registrations": regs},
                             headers={"Cache-Control": "no-store"})


# --- wiring ----------------------------------------------------------------------------------------
def attach_hall(rooms, svc: EventService) -> None:
    """The live hall reads the running event from memory: its presenters (HallRoom.resource ->
    the policy's PRESENT) and its capacity (realtime/hub.py _zone_rule). Every hall zone's room
    is made now so that it carries ``live_event`` from its first member on."""
    for zone_id in rooms.layout.zones:
        if room_type_for(rooms.layout, zone_id) is HallRoom:
            rooms.get(zone_id).live_event = svc.current


def setup_events(app: web.Application, config, db, store, audit=None, start_refresh: bool = True) -> EventService:
    """One EventService per app (``app[EVENTS_KEY]``), its routes, and its minute task (the
    running event's refresh, the contact purge) started and stopped with the app."""
    from datetime import timedelta

    svc = EventService(db, audit, timedelta(days=config.events_retention_days))
    app[EVENTS_KEY] = svc
    app[EVENT_THROTTLES_KEY] = {
        "lookup": AddressThrottle("event_code", store, LOOKUP_MAX_MISSES, LOOKUP_WINDOW_S),
        "register": AddressThrottle("event_register", store, REGISTRATIONS_PER_ADDRESS, REGISTRATION_WINDOW_S)}
    r = app.router
    r.add_get("/api/events", _errors(list_events))
    r.add_post("/api/events", _errors(create_event))
    r.add_get("/api/events/{event_id}", _errors(get_event))
    r.add_delete("/api/events/{event_id}", _errors(cancel_event))
    r.add_get("/api/events/{event_id}/registrations", _errors(list_registrations))
    r.add_post("/api/events/{event_id}/registrations", _errors(register))
    r.add_get("/api/events/{event_id}/registrations/{code}", _errors(get_registration))
    r.add_delete("/api/events/{event_id}/registrations/{code}", _errors(cancel_registration))

    async def _start(_app: web.Application) -> None:
        if start_refresh:
            svc.start()

    async def _stop(_app: web.Application) -> None:
        await svc.stop()

    app.on_startup.append(_start)
    app.on_cleanup.insert(0, _stop)  # before the app's cleanup closes the database
    return svc


__all__ = ["EVENTS_KEY", "attach_hall", "setup_events"]
