"""The events API over real HTTP against the real app (loopback port, SQLite, memory store):
staff schedule with a login session (cookie + CSRF), residents are refused (403) and bad bodies
answer 400 naming the field; a resident registers without an account, the (capacity + 1)th is a
spectator, a cancel promotes the first spectator; staff see the list with names, the public
only counts; guessing codes and registering in bulk are throttled per address. Every body is
held to its model in server/protocol/events_http.py."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import aiohttp

from yakuba.server.app import AUDIT_KEY, DB_KEY
from yakuba.server.events.routes import EVENTS_KEY, LOOKUP_MAX_MISSES, REGISTRATIONS_PER_ADDRESS
from yakuba.server.protocol.events_http import EventListOut, EventOut, RegistrationListOut, RegistrationOut

from auth.helpers import add_staff, login, session_for
from server.realtime_client import running_app


def _at(hours: float) -> str:
    t = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(hours=hours)
    return t.astimezone(timezone(timedelta(hours=9))).isoformat()


async def _staff(url: str, app, name: str = "sato") -> tuple[aiohttp.ClientSession, dict, int]:
    sid = await add_staff(app[DB_KEY], name)
    http = session_for(url)
    st, body, _ = await login(http, url, name)
    assert st == 200, body
    return http, {"Origin": url, "X-CSRF-Token": body["csrf"]}, sid


async def _err(r: aiohttp.ClientResponse) -> tuple[int, str, str]:
    body = await r.json()
    return r.status, body["error"]["code"], body["error"]["message"]


async def test_schedule_register_spectate_cancel(tmp_path, caplog) -> None:
    caplog.set_level(logging.INFO)  # ours and aiohttp's access log (a driver's DEBUG shows SQL parameters)
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        staff, h, sid = await _staff(url, app)
        event = {"title": "職員採用説明会", "kind": "briefing", "starts": _at(24), "ends": _at(25.5), "capacity": 2,
                 "presenters": [sid]}
        async with staff, session_for(url) as anon:
            # residents may not schedule; staff without the CSRF token may not either
            async with anon.post("/api/events", json=event) as r:
                assert (await _err(r))[:2] == (403, "forbidden")
            async with staff.post("/api/events", json=event, headers={"Origin": url}) as r:
                assert (await _err(r))[:2] == (403, "csrf_failed")
            # bad bodies: 400 with the field
            for bad, code, field in [({**event, "capacity": 0}, "invalid_request", "capacity"),
                                     ({**event, "capacity": "2"}, "invalid_request", "capacity"),
                                     ({**event, "title": ""}, "invalid_request", "title"),
                                     ({**event, "kind": "party"}, "invalid_request", "kind"),
                                     ({**event, "starts": "2025-04-01T18:00"}, "invalid_request", "starts"),
                                     ({**event, "extra": 1}, "invalid_request", "extra"),
                                     ({**event, "ends": _at(23)}, "invalid_event", "ends"),
                                     ({**event, "ends": _at(37)}, "invalid_event", "ends"),
                                     ({**event, "presenters": [sid, 4242]}, "invalid_event", "presenters")]:
                async with staff.post("/api/events", json=bad, headers=h) as r:
                    status, got, message = await _err(r)
                assert (status, got) == (400, code) and message.startswith(field), (bad, got, message)
            async with staff.post("/api/events", json=event, headers=h) as r:
                assert r.status == 201, await r.text()
                ev = EventOut.model_validate(await r.json())
            assert ev.status == "scheduled" and ev.presenters == [sid] and ev.starts.endswith("+09:00")
            async with staff.post("/api/events", json={**event, "title": "重なる会"}, headers=h) as r:
                assert (await _err(r))[:2] == (409, "event_overlap")

            # the public list: counts, never names nor presenters
            async with anon.get("/api/events") as r:
                listed = EventListOut.model_validate(await r.json())
            assert [e.id for e in listed.events] == [ev.id] and listed.events[0].presenters is None

            # register without an account: two attendees, then spectators
            regs = []
            for i, body in enumerate([{"name": "山田"}, {}, {"name": "佐藤", "email": "sato@example.jp"}, {}]):
                async with anon.post(f"/api/events/{ev.id}/registrations", json=body) as r:
                    assert r.status == 201, await r.text()
                    regs.append(RegistrationOut.model_validate(await r.json()))
            assert [x.role for x in regs] == ["attendee", "attendee", "spectator", "spectator"]
            assert regs[0].name == "山田" and regs[1].name is None
            assert len(regs[0].code) == 9 and regs[0].code[4] == "-" and regs[3].event.spectators == 2
            async with anon.post(f"/api/events/{ev.id}/registrations", json={"email": "not-an-address"}) as r:
                assert (await _err(r))[:2] == (400, "invalid_request")
            async with anon.post("/api/events/999999/registrations", json={}) as r:
                assert (await _err(r))[:2] == (404, "unknown_hall_event")
            async with anon.get(f"/api/events/{ev.id}") as r:
                one = EventOut.model_validate(await r.json())
            assert (one.attendees, one.spectators) == (2, 2)

            # read by code (any case, no hyphen), cancel: the first spectator attends
            code = regs[0].code
            async with anon.get(f"/api/events/{ev.id}/registrations/{code.lower().replace('-', '')}") as r:
                assert RegistrationOut.model_validate(await r.json()).role == "attendee"
            async with anon.delete(f"/api/events/{ev.id}/registrations/{code}") as r:
                assert r.status == 200
                gone = RegistrationOut.model_validate(await r.json())
            assert gone.status == "cancelled" and (gone.event.attendees, gone.event.spectators) == (2, 1)
            async with anon.get(f"/api/events/{ev.id}/registrations/{regs[2].code}") as r:
                assert RegistrationOut.model_validate(await r.json()).role == "attendee"
            async with anon.delete(f"/api/events/{ev.id}/registrations/{code}") as r:
                assert (await _err(r))[:2] == (409, "registration_cancelled")

            # staff see the list with codes, roles and names; residents do not
            async with anon.get(f"/api/events/{ev.id}/registrations") as r:
                assert (await _err(r))[:2] == (403, "forbidden")
            async with staff.get(f"/api/events/{ev.id}/registrations") as r:
                assert r.headers["Cache-Control"] == "no-store"
                lst = RegistrationListOut.model_validate(await r.json())
            assert [(x.code, x.role, x.status, x.name) for x in lst.registrations] == [
                (regs[0].code, "attendee", "cancelled", "山田"), (regs[1].code, "attendee", "registered", None),
                (regs[2].code, "attendee", "registered", "佐藤"), (regs[3].code, "spectator", "registered", None)]
            assert lst.registrations[2].email == "sato@example.jp" and lst.event.presenters == [sid]

            # staff cancel the event: residents' codes say so, registering is refused
            async with anon.delete(f"/api/events/{ev.id}") as r:
                assert (await _err(r))[:2] == (403, "forbidden")
            async with staff.delete(f"/api/events/{ev.id}", headers=h) as r:
                assert EventOut.model_validate(await r.json()).status == "cancelled"
            async with anon.get(f"/api/events/{ev.id}/registrations/{regs[1].code}") as r:
                assert RegistrationOut.model_validate(await r.json()).event.status == "cancelled"
            async with anon.post(f"/api/events/{ev.id}/registrations", json={}) as r:
                assert (await _err(r))[:2] == (409, "event_closed")
            async with anon.get("/api/events") as r:
                assert (await r.json())["events"] == []
            async with anon.get("/api/events/abc") as r:
                assert (await _err(r))[:2] == (404, "unknown_hall_event")
        # audited by ids; names never in the audit trail nor in any log line
        await app[AUDIT_KEY].flush()
        from sqlalchemy import select

        from yakuba.server.db.models import AuditEvent

        async with app[DB_KEY].session() as s:
            events = [(e.kind, e.resource) for e in (await s.scalars(select(AuditEvent))).all()]
        assert ("event_created", f"event:{ev.id}") in events and ("event_cancelled", f"event:{ev.id}") in events
        assert sum(k == "event_registered" for k, _ in events) == 4 and ("event_promoted", "registration:3") in events
        assert not any("山田" in str(e) or "佐藤" in str(e) for e in events)
        assert not any(n in rec.getMessage() for rec in caplog.records for n in ("山田", "佐藤", "sato@example.jp"))


async def test_guessing_codes_and_bulk_registration_are_throttled(tmp_path) -> None:
    async with running_app(tmp_path) as (url, app):
        svc = app[EVENTS_KEY]
        from yakuba.server.auth.principal import Kind, Principal

        staff = Principal(kind=Kind.STAFF, staff_id=1)
        start = datetime.now(timezone.utc) + timedelta(days=2)
        ev = await svc.create(staff, "説明会", "meeting", start, start + timedelta(hours=1), 1000, [])
        reg, _ = await svc.register(staff, ev["id"])
        async with session_for(url) as anon:
            async with anon.get(f"/api/events/{ev['id']}/registrations/{reg.code}") as r:
                assert r.status == 200
            for _ in range(LOOKUP_MAX_MISSES):
                async with anon.get(f"/api/events/{ev['id']}/registrations/ACDE-FHJK") as r:
                    assert (await _err(r))[:2] == (404, "unknown_registration")
            async with anon.get(f"/api/events/{ev['id']}/registrations/{reg.code}") as r:
                assert (await _err(r))[:2] == (429, "rate_limited")  # even a right code, until the window passes
            for _ in range(REGISTRATIONS_PER_ADDRESS):
                async with anon.post(f"/api/events/{ev['id']}/registrations", json={}) as r:
                    assert r.status == 201
            async with anon.post(f"/api/events/{ev['id']}/registrations", json={}) as r:
                assert (await _err(r))[:2] == (429, "rate_limited")
