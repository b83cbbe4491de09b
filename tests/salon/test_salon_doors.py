"""The salon's doors, presence, chat, conduct and reports over the real app (SQLite, memory store):
only verified staff who accepted the code of conduct get in; residents and guests are refused at
the door, for its events and never see its presence; what the salon shows of someone is the card
the server issued; refusals are counted and audited by ids."""

from __future__ import annotations

from yakuba.server.app import HUB_KEY
from yakuba.server.salon.refusals import REFUSALS_KEY

from auth.helpers import session_for
from server.realtime_client import running_app, until

from salon.salon_peers import A, B, logged_in, refused, staff, to_door, walk_in

TOKEN = "test-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


async def test_residents_and_guests_are_refused_at_the_door_and_for_the_salon_events(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        counts = app[REFUSALS_KEY].counts
        guest = await logged_in(url, None)
        try:
            to_door(app, guest)
            await guest.emit("move", {"goto": "salon-lounge"})
            await refused(guest, "salon_staff_only")
            await guest.emit("move", {"target": [54.0, 20.0]})  # a click inside: no teleport either
            await refused(guest, "salon_staff_only", 2)
            await guest.emit("move", {"vx": 3.0, "vy": 0.0})  # walking at the door: it is a wall
            await refused(guest, "salon_staff_only", 3)
            assert app[HUB_KEY].world.avatars[guest.id].x < 44
            for event, body in (("salon.conduct", {"accept": True, "version": 1}), ("salon.hide", {"hidden": True}),
                                ("salon.report", {"avatar": guest.id})):
                ack = await guest.call(event, body)
                assert ack["ok"] is False and ack["error"]["code"] == "salon_staff_only", (event, ack)
            assert "salon-lounge" not in guest.rooms and "salon-lounge" not in guest.zones
            assert counts["salon_staff_only"] >= 6
        finally:
            await guest.close()
        async with session_for(url) as http:  # and the HTTP side: a resident has no salon
            async with http.get("/api/salon/conduct") as r:
                assert r.status == 403 and (await r.json())["error"]["code"] == "salon_staff_only"
            async with http.post("/api/salon/bookings", json={"room": "salon-meeting1", "start": "x", "end": "y"},
                                 headers={"Origin": url}) as r:
                assert r.status == 403


async def test_staff_of_two_municipalities_meet_with_server_issued_cards(tmp_path):
    async with running_app(tmp_path, argon2_profile="test", api_token=TOKEN) as (url, app):
        counts = app[REFUSALS_KEY].counts
        sa = await staff(app, "hanako", A, "堺 花子", "危機管理課")
        sb = await staff(app, "jiro", B, "千代田 次郎", "子育て支援課")
        a, b = await logged_in(url, "hanako"), await logged_in(url, "jiro")
        try:
            # identity fields from a client are refused by the schema, nothing is used
            for event, body in (("salon.hide", {"hidden": False, "display_name": "X"}),
                                ("salon.report", {"avatar": 1, "staff": 9}),
                                ("salon.conduct", {"accept": True, "version": 1, "municipality": "131016"})):
                ack = await a.call(event, body)
                assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
            # the code of conduct first: the door says so, and counts it
            to_door(app, a)
            await a.emit("move", {"goto": "salon-lounge"})
            await refused(a, "conduct_required")
            assert counts["conduct_required"] == 1
            for p in (a, b):
                assert (await p.call("salon.conduct", {"accept": True, "version": 1}))["ok"]
            await walk_in(app, a)
            await walk_in(app, b)
            card_a = {"avatar": a.id, "staff": sa, "display_name": "堺 花子", "department": "危機管理課",
                      "municipality": {"code": A[0], "name": A[1]}, "verified": True}
            card_b = {"avatar": b.id, "staff": sb, "display_name": "千代田 次郎", "department": "子育て支援課",
                      "municipality": {"code": B[0], "name": B[1]}, "verified": True}
            await until(lambda: a.people() == [card_a, card_b] == b.people(), 5, "both on each presence list")
            await a.emit("chat", {"text": "はじめまして"})
            await until(lambda: any(c["text"] == "はじめまして" for c in b.chats), 5, "chat heard")
            line = next(c for c in b.chats if c["text"] == "はじめまして")
            assert line["card"] == {k: v for k, v in card_a.items() if k != "avatar"}
            # hiding from the presence list
            assert (await b.call("salon.hide", {"hidden": True}))["ok"]
            await until(lambda: a.people() == [card_a], 5, "b hidden")
            # a report: ids and time for the administrators, no message content
            assert (await a.call("salon.report", {"avatar": b.id}))["ok"]
            assert (await a.call("salon.report", {"avatar": b.id, "note": "添付: 不適切な発言"}))["ok"]
            async with session_for(url) as http:
                async with http.get("/api/salon/reports", headers=ADMIN) as r:
                    reports = (await r.json())["reports"]
                async with http.get("/api/audit", headers=ADMIN) as r:
                    audit = await r.text()
            got = {(x["reporter"], x["reported_staff"], x["reported_avatar"], x["note"]) for x in reports}
            assert got == {(sa, sb, b.id, None), (sa, sb, b.id, "添付: 不適切な発言")}
            assert all(x["at"] for x in reports)
            assert "堺 花子" not in audit and "千代田" not in audit  # the audit carries ids, never names
        finally:
            await a.close()
            await b.close()


async def test_a_reconnect_keeps_the_acceptance_and_the_api_says_so(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await staff(app, "ueda", A, "上田", "DX推進課")
        p = await logged_in(url, "ueda")
        try:
            assert (await p.call("salon.conduct", {"accept": True, "version": 1}))["ok"]
        finally:
            await p.close()
        p = await logged_in(url, "ueda")  # a new socket reads the acceptance from the database
        try:
            await walk_in(app, p)
            async with session_for(url) as http:
                async with http.get("/api/salon/conduct", cookies={"yakuba_session": p.cookie}) as r:
                    assert (await r.json()) == {"version": 1, "accepted": True}
        finally:
            await p.close()
