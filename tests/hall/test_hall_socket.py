"""The hall over real sockets on one real node: 50 attendees follow the presenter's scenario change
and timeline scrub (latency measured on loopback and printed as a JSON line), a late joiner gets
the current state, the presenter's disconnect hands the stage to the co-presenter, attendees'
writes are refused, and a spectator without an avatar follows the same view."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

from yakuba.server.app import DB_KEY, HUB_KEY

from auth.helpers import add_staff
from consult.helpers import DeskPeer, Refusals, staff_cookie
from server.realtime_client import running_app, until

HALL = (32.0, 16.0)  # the hall's anchor (assets/cityhall plan)
N = 50


class HallPeer(DeskPeer):
    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self.hall: dict = {}
        self.show_at: dict[float, float] = {}  # show.t -> when it arrived here (perf_counter)
        self.sio.on("room", self._room)
        self.sio.on("room_patch", self._patch)

    def _room(self, d: dict) -> None:
        if d["room"] == "hall":
            self.hall = dict(d["state"])
            self._seen()

    def _patch(self, d: dict) -> None:
        if d["room"] == "hall":
            self.hall.update(d["patch"])
            self._seen()

    def _seen(self) -> None:
        t = (self.hall.get("show") or {}).get("t")
        if t is not None:
            self.show_at.setdefault(t, time.perf_counter())


async def _into_hall(app, peer, k: int = 0) -> None:
    hub = app[HUB_KEY]
    await hub.consult._place(hub.world.avatars[peer.id], (HALL[0] - 6 + (k % 12), HALL[1] - 4 + (k // 12) * 0.8))


async def test_fifty_attendees_follow_the_presenter(tmp_path):
    r = Refusals("hall")
    async with running_app(tmp_path, argon2_profile="test") as (url, app):
        await add_staff(app[DB_KEY], "sato", code="131016")
        await add_staff(app[DB_KEY], "kato", code="131016")
        pres = await HallPeer(url, await staff_cookie(url, "sato")).connect()
        co = await HallPeer(url, await staff_cookie(url, "kato")).connect()
        people = [await HallPeer(url).connect() for _ in range(N)]
        everyone = [pres, co, *people]
        try:
            for i, p in enumerate(everyone):
                assert (await p.join(name=f"p{i}"))["ok"]
                await _into_hall(app, p, i)
            await until(lambda: all(p.zones[-1:] == ["hall"] for p in everyone), timeout=20, what="everyone in the hall")
            a = people[0]
            r.expect("resident_presents", await a.call("hall.present", {"room": "hall"}), "forbidden")
            assert (await pres.call("hall.present", {"room": "hall"}))["ok"]
            r.expect("second_presenter", await co.call("hall.present", {"room": "hall"}), "busy")
            assert (await pres.call("hall.cohost", {"room": "hall", "avatar": co.id}))["ok"]
            r.expect("attendee_writes_view", await a.call("hall.show", {"room": "hall", "patch": {"t": 5.0}}), "forbidden")
            r.expect("cohost_writes_view", await co.call("hall.show", {"room": "hall", "patch": {"t": 5.0}}), "forbidden")
            r.expect("forged_presenter_field", await a.call("hall.show", {"room": "hall", "patch": {"t": 5.0}, "presenter": a.id}), "invalid_payload")
            r.expect("attendee_opens_poll", await a.call("hall.poll", {"room": "hall", "question": "q", "options": ["a", "b"]}), "forbidden")
            # the scenario change, then a scrub of the timeline: every attendee's view follows
            lat: list[float] = []
            ack = await pres.call("hall.show", {"room": "hall", "patch": {"sim": "sim-a", "scenario": "worst-weather", "t": 0.0, "playing": False}})
            assert ack["ok"]
            for step in range(1, 21):
                t = step * 600.0
                t0 = time.perf_counter()
                await pres.emit("hall.show", {"room": "hall", "patch": {"t": t}})
                await until(lambda: all(t in p.show_at for p in people), timeout=5, what=f"scrub to {t}")
                lat += [(p.show_at[t] - t0) * 1000 for p in people]
                await asyncio.sleep(0.06)  # a presenter's drag: ~15 changes a second
            lat.sort()
            p99 = lat[int(len(lat) * 0.99) - 1]
            print(json.dumps({"test": "hall_follow", "attendees": N, "changes": 20, "p50_ms": round(statistics.median(lat), 1),
                              "p99_ms": round(p99, 1), "max_ms": round(lat[-1], 1)}))
            assert p99 <= 200, p99
            assert all(p.hall["show"]["sim"] == "sim-a" and p.hall["show"]["t"] == 12000.0 for p in people)
            # a late joiner gets the current state whole
            late = await HallPeer(url).connect()
            everyone.append(late)
            assert (await late.join(name="late"))["ok"]
            await _into_hall(app, late, 60)
            await until(lambda: late.hall.get("show", {}).get("t") == 12000.0, what="late joiner's state")
            assert late.hall["presenter"] == pres.id and late.hall["copresenters"] == [co.id]
            # questions, a poll, reactions
            q = await a.call("hall.ask", {"room": "hall", "text": "延焼はどこで止まりますか", "anonymous": True})
            assert q["ok"]
            assert (await people[1].call("hall.upvote", {"room": "hall", "question": q["id"]}))["ok"]
            assert (await co.call("hall.pick", {"room": "hall", "question": q["id"]}))["ok"]
            poll = await co.call("hall.poll", {"room": "hall", "question": "どちらの案？", "options": ["拡幅", "広場"]})
            for i, p in enumerate(people[:10]):
                assert (await p.call("hall.vote", {"room": "hall", "poll": poll["id"], "option": i % 2}))["ok"]
            await a.emit("hall.react", {"room": "hall", "kind": "clap"})
            await until(lambda: (late.hall["poll"] or {}).get("counts") == [5, 5] and late.hall["on_screen"] == q["id"]
                        and late.hall["reactions"]["clap"] == 1, what="meeting tools synced")
            assert late.hall["questions"][0]["by"] is None and late.hall["questions"][0]["votes"] == 1
            # a spectator: no avatar, the same view
            spec = await HallPeer(url).connect()
            everyone.append(spec)
            w = await spec.call("hall.watch", {"room": "hall"})
            assert w["ok"] and w["room"]["state"]["show"]["t"] == 12000.0
            r.expect("spectator_asks", await spec.call("hall.ask", {"room": "hall", "text": "x"}), "not_joined")
            # the presenter disconnects: the co-presenter has the stage and drives the view
            await pres.close()
            await until(lambda: a.hall["presenter"] == co.id, timeout=10, what="co-presenter takes over")
            assert (await co.call("hall.show", {"room": "hall", "patch": {"t": 60.0}}))["ok"]
            await until(lambda: a.hall["show"]["t"] == 60.0 and 60.0 in spec.show_at, what="co-presenter's change followed")
            s = await co.call("hall.summary", {"room": "hall"})
            assert s["ok"] and s["summary"]["polls"][0]["counts"] == [5, 5] and "p0" not in json.dumps(s, ensure_ascii=False)
            r.report()
        finally:
            for p in everyone:
                await p.close()
