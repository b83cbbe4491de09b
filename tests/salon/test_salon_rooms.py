"""Salon meeting rooms: a member books a slot for their municipality (SQL), locks the room from
inside while the booking runs, and another municipality's staff cannot enter it -- on one node and
across two nodes sharing a real Redis, where the doors, the cards, the presence list and chat all
hold as on one node."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from yakuba.server.app import HUB_KEY
from yakuba.server.auth.sessions import COOKIE
from yakuba.server.salon.refusals import REFUSALS_KEY
from yakuba.world.zones import RoomHold

from auth.helpers import session_for
from server.realtime_client import running_app, until

from salon.salon_peers import A, B, SalonPeer, logged_in, refused, staff, to_door, walk_in


def _slot(minutes_before: int = 5, minutes_after: int = 60) -> dict:
    now = datetime.now(timezone.utc)
    return {"start": (now - timedelta(minutes=minutes_before)).isoformat(),
            "end": (now + timedelta(minutes=minutes_after)).isoformat()}


async def _book(url: str, p: SalonPeer, room: str, slot: dict) -> tuple[int, dict]:
    async with session_for(url) as http:
        async with http.post("/api/salon/bookings", json={"room": room, **slot}, cookies={COOKIE: p.cookie},
                             headers={"Origin": url, "X-CSRF-Token": p.csrf}) as r:
            return r.status, await r.json()


async def _members(p: SalonPeer) -> None:
    assert (await p.call("salon.conduct", {"accept": True, "version": 1}))["ok"]


async def test_a_room_booked_and_locked_by_a_keeps_b_out(tmp_path):
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await staff(app, "hanako", A, "堺 花子", "危機管理課")
        await staff(app, "taro", A, "堺 太郎", "DX推進課")
        await staff(app, "jiro", B, "千代田 次郎", "子育て支援課")
        a, a2, b = await logged_in(url, "hanako"), await logged_in(url, "taro"), await logged_in(url, "jiro")
        try:
            for p in (a, a2, b):
                await _members(p)
            st, booking = await _book(url, a, "salon-meeting1", _slot())
            assert st == 201 and booking["municipality"] == A[0] and booking["room"] == "salon-meeting1"
            st, body = await _book(url, b, "salon-meeting1", _slot(0, 30))  # overlaps
            assert st == 409 and body["error"]["code"] == "salon_room_booked"
            st, body = await _book(url, b, "salon-meeting1", {**_slot(), "municipality": B[0]})  # a forged field
            assert st == 400 and body["error"]["code"] == "invalid_request"
            st, body = await _book(url, b, "salon-lounge", _slot())
            assert st == 400
            st, _ = await _book(url, b, "salon-meeting2", _slot())  # the other room is free
            assert st == 201
            # locking: from inside, by the municipality whose booking runs now
            await walk_in(app, b, "salon-lounge")
            ack = await b.call("salon.lock", {"room": "salon-meeting1", "locked": True})
            assert ack["error"]["code"] == "not_member"  # from outside the room
            await walk_in(app, a, "salon-meeting1")
            await walk_in(app, b, "salon-meeting1")
            ack = await b.call("salon.lock", {"room": "salon-meeting1", "locked": True})
            assert ack["error"]["code"] == "salon_room_not_booked"  # inside, but not B's booking
            await b.emit("move", {"goto": "salon-lounge"})
            await until(lambda: b.zones[-1] == "salon-lounge", 10, "b back in the lounge")
            assert (await a.call("salon.lock", {"room": "salon-meeting1", "locked": True}))["ok"]
            await until(lambda: a.rooms["salon-meeting1"].get("locked") == A[0], 5, "locked state")
            await b.emit("move", {"goto": "salon-meeting1"})
            await refused(b, "salon_room_locked")
            await b.emit("move", {"target": [49.0, 33.0]})
            await refused(b, "salon_room_locked", 2)
            assert app[REFUSALS_KEY].counts["salon_room_locked"] >= 2
            await walk_in(app, a2, "salon-meeting1")  # A's colleague is admitted
            assert (await a.call("salon.lock", {"room": "salon-meeting1", "locked": False}))["ok"]
            await b.emit("move", {"goto": "salon-meeting1"})
            await until(lambda: b.zones[-1] == "salon-meeting1", 10, "b in once unlocked")
        finally:
            for p in (a, a2, b):
                await p.close()


@pytest.mark.redis
async def test_two_nodes_on_redis_doors_cards_chat_and_locks(tmp_path, redis_server):
    db_url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    common = dict(argon2_profile="test", redis_url=redis_server.url, database_url=db_url)
    async with running_app(tmp_path / "n1", **common) as (url1, app1), \
            running_app(tmp_path / "n2", **common) as (url2, app2):
        sa = await staff(app1, "hanako", A, "堺 花子", "危機管理課")
        sb = await staff(app1, "jiro", B, "千代田 次郎", "子育て支援課")
        a = await logged_in(url1, "hanako")  # on node 1
        b = await logged_in(url2, "jiro")  # on node 2
        guest = await logged_in(url2, None)
        try:
            await _members(a)
            await _members(b)
            # a guest on node 2 is refused at the door, counted on node 2
            to_door(app2, guest)
            await guest.emit("move", {"goto": "salon-lounge"})
            await refused(guest, "salon_staff_only")
            assert app2[REFUSALS_KEY].counts["salon_staff_only"] >= 1
            await walk_in(app1, a)
            await walk_in(app2, b)
            # each node sees the other's avatar with the verified mark its owner's node set
            await until(lambda: a.id in app2[HUB_KEY].world.avatars and app2[HUB_KEY].world.avatars[a.id].verified, 5, "replica of a")
            assert app2[HUB_KEY].world.avatars[a.id].municipality == A[0]
            await until(lambda: {p["staff"] for p in b.people()} == {sa, sb} == {p["staff"] for p in a.people()}, 10, "presence")
            # the board of who is online, by municipality, is the same on both nodes
            def board(p):
                return {g["code"]: [x["avatar"] for x in g["people"]] for g in p.rooms["salon-lounge"].get("board") or []}
            await until(lambda: board(a) == {A[0]: [a.id], B[0]: [b.id]} == board(b), 10, "board on both nodes")
            await b.emit("chat", {"text": "よろしくお願いします"})
            await until(lambda: any(c["text"] == "よろしくお願いします" for c in a.chats), 5, "chat across nodes")
            line = next(c for c in a.chats if c["text"] == "よろしくお願いします")
            assert line["card"]["municipality"] == {"code": B[0], "name": B[1]} and line["card"]["verified"] is True
            assert line["card"]["department"] == "子育て支援課"
            # a room booked and locked on node 1 by A keeps B out on node 2
            st, _ = await _book(url1, a, "salon-meeting1", _slot())
            assert st == 201
            a_ = app1[HUB_KEY].world.avatars[a.id]
            await a.emit("move", {"goto": "salon-meeting1"})
            await until(lambda: a_.zone == "salon-meeting1", 10, "a in the meeting room")
            assert (await a.call("salon.lock", {"room": "salon-meeting1", "locked": True}))["ok"]
            await until(lambda: app2[HUB_KEY].world.salon_locks.get("salon-meeting1") == RoomHold(A[0]), 5, "lock on node 2")
            await b.emit("move", {"goto": "salon-meeting1"})
            await refused(b, "salon_room_locked")
            assert app2[REFUSALS_KEY].counts["salon_room_locked"] >= 1
            assert app2[HUB_KEY].world.avatars[b.id].zone == "salon-lounge"
        finally:
            for p in (a, b, guest):
                await p.close()
