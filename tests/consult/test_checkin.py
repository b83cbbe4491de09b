"""A reservation becomes a priority ticket at the desk: book over HTTP (no account), then
`queue.checkin {code}` on the socket gives a ticket for the booked topic, marked priority;
the same code twice, an unknown code and code guessing are refused."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from yakuba.server.auth.identity import API_TOKEN_PRINCIPAL
from yakuba.server.consult.reservation_routes import RESERVATIONS_KEY

from consult.helpers import DeskPeer
from server.realtime_client import running_app


async def test_a_booked_code_becomes_a_priority_ticket_once(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        svc = app[RESERVATIONS_KEY]
        now = svc.clock()
        slot = (await svc.publish(API_TOKEN_PRINCIPAL, "tax.resident_tax", now + timedelta(minutes=10), now + timedelta(minutes=40)))[0]
        async with aiohttp.ClientSession() as http:
            async with http.post(url + "/api/consult/bookings", json={"slot": slot["id"]}, headers={"Origin": url}) as r:
                assert r.status in (200, 201), await r.text()
                code = (await r.json())["code"]
        p, walkin = DeskPeer(url), DeskPeer(url)
        await p.connect()
        await walkin.connect()
        try:
            assert (await p.join())["ok"] and (await walkin.join())["ok"]
            assert (await walkin.call("queue.take", {"topic": "tax.payment"}))["ok"]  # same department, earlier
            typed = code.lower().replace("-", " ")  # as a resident might type it
            ack = await p.call("queue.checkin", {"code": typed})
            assert ack["ok"], ack
            t = ack["ticket"]
            assert t["topic"] == "tax.resident_tax" and t["priority"] is True
            again = await p.call("queue.checkin", {"code": code})
            assert not again["ok"] and again["error"]["code"] in ("already_queued", "booking_closed")
            assert (await p.call("queue.leave"))["ok"]
            again = await p.call("queue.checkin", {"code": code})
            assert not again["ok"] and again["error"]["code"] == "booking_closed"  # used once
            codes = [(await p.call("queue.checkin", {"code": "ABCD-EFGH"}))["error"]["code"] for _ in range(6)]
            assert codes[0] == "unknown_booking" and codes[-1] == "rate_limited"
        finally:
            await p.close()
            await walkin.close()
