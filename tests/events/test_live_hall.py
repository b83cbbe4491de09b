"""A running event's rules in the live hall, over real sockets on one real node: with an event
of capacity 2 running, a third resident walking into the hall (by the 行き先 menu, by a click
inside it, and on foot through the door) is refused with `hall_full` and can `hall.watch`
instead; staff always enter; when a place frees up the resident walks in (the world's path
cache forgot the full hall). A staff member not listed as a presenter gets `forbidden` on
`hall.present`; a listed one presents."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from yakuba.server.app import DB_KEY, HUB_KEY
from yakuba.server.auth.principal import Kind, Principal
from yakuba.server.events.routes import EVENTS_KEY

from auth.helpers import add_staff
from consult.helpers import DeskPeer, Refusals, staff_cookie
from server.realtime_client import running_app, until

HALL = (32.0, 16.0)  # the hall's anchor (assets/cityhall plan): x 20..44, y 0..24
ENTRANCE_BY_HALL_DOOR = (17.0, 10.0)  # the entrance's opening into the hall is x = 20, y 8..12


async def _place(app, peer, at: tuple[float, float]) -> None:
    hub = app[HUB_KEY]
    await hub.consult._place(hub.world.avatars[peer.id], at)


async def test_capacity_and_presenters_of_the_running_event(tmp_path):
    r = Refusals("event_hall")
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        sato_id = await add_staff(app[DB_KEY], "sato", code="131016")
        await add_staff(app[DB_KEY], "kato", code="131016")
        now = datetime.now(timezone.utc)
        ev = await app[EVENTS_KEY].create(Principal(kind=Kind.STAFF, staff_id=sato_id), "採用説明会", "briefing",
                                          now - timedelta(minutes=1), now + timedelta(hours=1), 2, [sato_id])
        assert app[EVENTS_KEY].current().id == ev["id"]  # known from memory at once on this node
        sato = await DeskPeer(url, await staff_cookie(url, "sato")).connect()
        kato = await DeskPeer(url, await staff_cookie(url, "kato")).connect()
        a, b, c = [await DeskPeer(url).connect() for _ in range(3)]
        everyone = [sato, kato, a, b, c]
        try:
            for i, p in enumerate(everyone):
                assert (await p.join(name=f"p{i}"))["ok"]
            for k, p in enumerate([a, b, sato, kato]):
                await _place(app, p, (HALL[0] - 3 + 2 * k, HALL[1]))
            await until(lambda: all(p.zones[-1:] == ["hall"] for p in (a, b, sato, kato)), what="two residents and two staff inside")

            # the third resident: refused at the door however they try, told they can watch
            ack = await c.call("move", {"goto": "hall"})
            r.expect("goto_full_hall", ack, "hall_full")
            assert "spectator" in ack["error"]["message"]
            r.expect("click_inside_full_hall", await c.call("move", {"target": [HALL[0], HALL[1] - 4]}), "hall_full")
            assert await c.call("move", {"goto": "corridor"}) is None  # plans a path while the hall is full
            await _place(app, c, ENTRANCE_BY_HALL_DOOR)
            c.errors.clear()
            await c.emit("move", {"vx": 2.0, "vy": 0.0})  # on foot through the opening
            await until(lambda: any(e["code"] == "hall_full" for e in c.errors), what="hall_full on foot")
            assert app[HUB_KEY].world.avatars[c.id].zone == "entrance" and c.zones[-1] != "hall"
            r.count("walk_into_full_hall", True)
            w = await c.call("hall.watch", {"room": "hall"})
            assert w["ok"] and w["room"]["type"] == "hall"  # a spectator: the same synced view, no avatar

            # staff are never refused (and take no attendee's place)
            await _place(app, kato, ENTRANCE_BY_HALL_DOOR)
            await until(lambda: kato.zones[-1:] == ["entrance"], what="kato out")
            assert await kato.call("move", {"goto": "hall"}) is None
            await until(lambda: kato.zones[-1:] == ["hall"], timeout=20, what="kato walks back in")

            # presenters: the event names sato only
            r.expect("unlisted_staff_presents", await kato.call("hall.present", {"room": "hall"}), "forbidden")
            r.expect("resident_presents", await a.call("hall.present", {"room": "hall"}), "forbidden")
            assert (await sato.call("hall.present", {"room": "hall"}))["ok"]
            await until(lambda: (c.got["room_patch"] or [{}])[-1].get("patch", {}).get("presenter") == sato.id,
                        what="the spectator sees the presenter")

            # a place frees up: the resident walks in (paths planned while full were forgotten)
            await _place(app, a, ENTRANCE_BY_HALL_DOOR)
            await until(lambda: a.zones[-1:] == ["entrance"], what="a leaves")
            await _place(app, c, (30.0, 27.0))  # the corridor, by the hall's opening at y = 24
            assert await c.call("move", {"goto": "hall"}) is None
            await until(lambda: c.zones[-1:] == ["hall"], timeout=20, what="c walks in")
            r.expect("now_full_again", await a.call("move", {"goto": "hall"}), "hall_full")

            # the event cancelled: the door opens, any staff member may present
            assert (await sato.call("hall.release", {"room": "hall"}))["ok"]
            await app[EVENTS_KEY].cancel_event(Principal(kind=Kind.STAFF, staff_id=sato_id), ev["id"])
            assert app[EVENTS_KEY].current() is None
            assert await a.call("move", {"goto": "hall"}) is None
            assert (await kato.call("hall.present", {"room": "hall"}))["ok"]
            r.report()
        finally:
            for p in everyone:
                await p.close()
