"""The salon's spaces over the real app (SQLite, memory store, real sockets): proximity chat in the
lounge, the department booths' pins, the board of who is online by municipality, cancelling a
booking, locks that survive a reload, and events (register, places, the room held for its
registrants, mute and remove by the organiser)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from yakuba.server.app import HUB_KEY
from yakuba.server.auth.sessions import COOKIE
from yakuba.server.salon.holds import Schedule

from auth.helpers import session_for
from server.realtime_client import running_app, until

from salon.salon_peers import A, B, SalonPeer, logged_in, refused, staff, walk_in


def _slot(minutes_before: int = 5, minutes_after: int = 60) -> dict:
    now = datetime.now(timezone.utc)
    return {"start": (now - timedelta(minutes=minutes_before)).isoformat(),
            "end": (now + timedelta(minutes=minutes_after)).isoformat()}


async def _http(url: str, p: SalonPeer, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    async with session_for(url) as http:
        async with http.request(method, path, json=body, cookies={COOKIE: p.cookie},
                                headers={"Origin": url, "X-CSRF-Token": p.csrf}) as r:
            return r.status, await r.json()


async def _members(*peers: SalonPeer) -> None:
    for p in peers:
        assert (await p.call("salon.conduct", {"accept": True, "version": 1}))["ok"]


async def _stand(app, p: SalonPeer, x: float, y: float) -> None:
    a = app[HUB_KEY].world.avatars[p.id]
    await p.emit("move", {"target": [x, y]})
    await until(lambda: abs(a.x - x) < 0.3 and abs(a.y - y) < 0.3, 15, f"at {x},{y}")


async def test_lounge_chat_is_heard_nearby_and_the_board_lists_who_is_online(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await staff(app, "hanako", A, "堺 花子", "危機管理課")
        await staff(app, "jiro", B, "千代田 次郎", "子育て支援課")
        await staff(app, "taro", A, "堺 太郎", "DX推進課")
        a, b, c = [await logged_in(url, n) for n in ("hanako", "jiro", "taro")]
        try:
            await _members(a, b, c)
            # all three walk at once (one after the other took 15 s)
            await asyncio.gather(*(walk_in(app, p) for p in (a, b, c)))
            await asyncio.gather(_stand(app, a, 45.5, 13.5),
                                 _stand(app, b, 47.0, 14.5),  # near a
                                 _stand(app, c, 62.5, 27.0))  # across the lounge: ~21 m away
            await a.emit("chat", {"text": "近くの方へ"})
            await until(lambda: any(x["text"] == "近くの方へ" for x in b.chats), 5, "heard nearby")
            await c.emit("chat", {"text": "遠くから"})
            await until(lambda: any(x["text"] == "遠くから" for x in c.chats), 5, "own line")
            assert not any(x["text"] == "近くの方へ" for x in c.chats)  # out of hearing
            assert not any(x["text"] == "遠くから" for x in a.chats + b.chats)
            # the board: by municipality, for everyone in the salon
            def board(p: SalonPeer) -> dict:
                return {g["code"]: sorted(x["display_name"] for x in g["people"]) for g in p.rooms["salon-lounge"].get("board") or []}
            want = {A[0]: ["堺 太郎", "堺 花子"], B[0]: ["千代田 次郎"]}
            await until(lambda: board(a) == want == board(c), 5, "board")
            names = {g["code"]: g["name"] for g in a.rooms["salon-lounge"]["board"]}
            assert names == {A[0]: A[1], B[0]: B[1]}
            assert (await c.call("salon.hide", {"hidden": True}))["ok"]
            await until(lambda: board(b) == {A[0]: ["堺 花子"], B[0]: ["千代田 次郎"]}, 5, "c hidden from the board")
        finally:
            for p in (a, b, c):
                await p.close()


async def test_department_booths_pin_a_topic_from_the_booth(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await staff(app, "hanako", A, "堺 花子", "危機管理課")
        await staff(app, "jiro", B, "千代田 次郎", "子育て支援課")
        a, b = await logged_in(url, "hanako"), await logged_in(url, "jiro")
        pin = {"booth": "bousai", "topic": "避難所運営の訓練を共有します",
               "links": [{"title": "訓練資料", "url": "https://www.city.sakai.lg.jp/kurashi/bosai/"}]}
        try:
            await _members(a, b)
            await walk_in(app, a)
            ack = await a.call("salon.pin", pin)
            assert ack["error"]["code"] == "not_member"  # from the lounge, not at the booth
            await asyncio.gather(walk_in(app, a, "salon-depts"), walk_in(app, b, "salon-depts"))  # at once
            await _stand(app, a, 46.5, 5.0)  # the 防災 booth
            for bad in ({**pin, "links": [{"title": "x", "url": "javascript:alert(1)"}]},
                        {**pin, "links": [{"title": "x", "url": "http://example.jp/"}]},
                        {**pin, "booth": "unknown"}, {**pin, "topic": "x" * 201}):
                ack = await a.call("salon.pin", bad)
                assert ack["error"]["code"] == "invalid_payload", bad
            assert (await a.call("salon.pin", pin))["ok"]
            ack = await a.call("salon.pin", {**pin, "booth": "dx"})  # standing at 防災, not DX
            assert ack["error"]["code"] == "not_member"

            def booth(p: SalonPeer, bid: str) -> dict:
                return next((x for x in p.rooms.get("salon-depts", {}).get("booths") or [] if x["id"] == bid), {})
            await until(lambda: booth(b, "bousai").get("topic") == pin["topic"], 5, "pin seen")
            assert booth(b, "bousai")["links"] == pin["links"] and booth(b, "bousai")["name"]["ja"] == "防災"
            assert booth(b, "dx")["topic"] is None
        finally:
            await a.close()
            await b.close()


async def test_bookings_are_cancelled_by_their_municipality_and_locks_survive_a_reload(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await staff(app, "hanako", A, "堺 花子", "危機管理課")
        await staff(app, "jiro", B, "千代田 次郎", "子育て支援課")
        a, b = await logged_in(url, "hanako"), await logged_in(url, "jiro")
        desk = app[HUB_KEY].salon
        world = app[HUB_KEY].world
        try:
            await _members(a, b)
            st, later = await _http(url, a, "POST", "/api/salon/bookings", {"room": "salon-meeting2", **_slot(-60, 120)})
            assert st == 201
            st, body = await _http(url, b, "DELETE", f"/api/salon/bookings/{later['id']}")
            assert st == 403 and body["error"]["code"] == "forbidden"
            st, _ = await _http(url, a, "DELETE", f"/api/salon/bookings/{later['id']}")
            assert st == 200
            st, _ = await _http(url, a, "DELETE", f"/api/salon/bookings/{later['id']}")
            assert st == 404
            st, _ = await _http(url, b, "POST", "/api/salon/bookings", {"room": "salon-meeting2", **_slot(-60, 120)})
            assert st == 201  # the slot is free again
            # a lock is kept in SQL: a node that reloads (or starts) knows it
            st, _ = await _http(url, a, "POST", "/api/salon/bookings", {"room": "salon-meeting1", **_slot()})
            await walk_in(app, a, "salon-meeting1")
            assert (await a.call("salon.lock", {"room": "salon-meeting1", "locked": True}))["ok"]
            world.salon_locks.clear()
            desk.schedule = Schedule()
            await desk.reload()
            assert world.salon_locks["salon-meeting1"].municipality == A[0]
            await walk_in(app, b)
            await b.emit("move", {"goto": "salon-meeting1"})
            await refused(b, "salon_room_locked")
        finally:
            await a.close()
            await b.close()


async def test_an_event_admits_its_registrants_and_its_organiser_mutes_and_removes(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await staff(app, "hanako", A, "堺 花子", "危機管理課")  # the organiser
        await staff(app, "taro", A, "堺 太郎", "DX推進課")  # A's colleague, not registered
        await staff(app, "jiro", B, "千代田 次郎", "子育て支援課")
        await staff(app, "saburo", B, "千代田 三郎", "福祉課")
        org, col, b, b2 = [await logged_in(url, n) for n in ("hanako", "taro", "jiro", "saburo")]
        try:
            await _members(org, col, b, b2)
            for p in (col, b, b2):
                await walk_in(app, p)
            body = {"title": "防災DX勉強会", "room": "salon-meeting1", **_slot(1, 60), "capacity": 2, "hybrid": True}
            st, bad = await _http(url, org, "POST", "/api/salon/events", {**body, "capacity": 0})
            assert st == 400
            st, ev = await _http(url, org, "POST", "/api/salon/events", body)
            assert st == 201 and ev["taken"] == 1 and ev["registered"] and ev["organiser"]["municipality"] == A[0]
            st, clash = await _http(url, b, "POST", "/api/salon/bookings", {"room": "salon-meeting1", **_slot(0, 30)})
            assert st == 409  # the event holds its room
            st, body_ = await _http(url, org, "DELETE", f"/api/salon/bookings/{ev['id']}")
            assert st == 400 and "event" in body_["error"]["message"]  # an event's booking goes with its event
            assert (await _http(url, b, "POST", f"/api/salon/events/{ev['id']}/registration"))[0] == 201
            st, full = await _http(url, b2, "POST", f"/api/salon/events/{ev['id']}/registration")
            assert st == 409 and full["error"]["code"] == "salon_event_full"
            st, listed = await _http(url, b, "GET", "/api/salon/events")
            assert [(e["id"], e["taken"], e["registered"]) for e in listed["events"]] == [(ev["id"], 2, True)]
            # the room admits the registrants (across municipalities), not A's unregistered colleague
            await org.emit("move", {"goto": "salon-lounge"})
            await walk_in(app, org, "salon-meeting1")
            await b.emit("move", {"goto": "salon-meeting1"})
            await until(lambda: "salon-meeting1" in b.zones, 15, "b in the event")
            await col.emit("move", {"goto": "salon-meeting1"})
            await refused(col, "salon_room_locked")
            state = org.rooms["salon-meeting1"]
            assert state["event"]["title"] == "防災DX勉強会" and state["event"]["hybrid"] is True
            # moderation: only the organiser; a muted member may stay but not speak
            ack = await b.call("salon.moderate", {"avatar": org.id, "action": "mute"})
            assert ack["error"]["code"] == "forbidden"
            assert (await org.call("salon.moderate", {"avatar": b.id, "action": "mute"}))["ok"]
            await until(lambda: b.id and (org.rooms["salon-meeting1"]["event"] or {}).get("muted"), 5, "muted state")
            await b.emit("chat", {"text": "発言します"})
            await refused(b, "salon_muted")
            assert (await org.call("salon.moderate", {"avatar": b.id, "action": "unmute"}))["ok"]
            await until(lambda: not org.rooms["salon-meeting1"]["event"]["muted"], 5, "unmuted")
            await b.emit("chat", {"text": "ありがとうございます"})
            await until(lambda: any(x["text"] == "ありがとうございます" for x in org.chats), 5, "heard after unmute")
            # removed: back in the lounge, not admitted again during the event
            assert (await org.call("salon.moderate", {"avatar": b.id, "action": "remove"}))["ok"]
            await refused(b, "salon_removed")
            await until(lambda: app[HUB_KEY].world.avatars[b.id].zone == "salon-lounge", 5, "b out")
            await b.emit("move", {"goto": "salon-meeting1"})
            await refused(b, "salon_room_locked")
            st, again = await _http(url, b, "POST", f"/api/salon/events/{ev['id']}/registration")
            assert st == 403 and again["error"]["code"] == "salon_removed"
            # cancelled by its organiser: the room is free for everyone again
            st, _ = await _http(url, b, "DELETE", f"/api/salon/events/{ev['id']}")
            assert st == 403
            assert (await _http(url, org, "DELETE", f"/api/salon/events/{ev['id']}"))[0] == 200
            await col.emit("move", {"goto": "salon-meeting1"})
            await until(lambda: "salon-meeting1" in col.zones, 15, "the room is open again")
        finally:
            for p in (org, col, b, b2):
                await p.close()
