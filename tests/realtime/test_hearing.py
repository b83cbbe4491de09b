"""Chat reaches the people you can see and talk to: in the open-plan lobby those within
CHAT_RADIUS_M of the speaker, across zone lines (stepping back from the desk into the corridor
keeps the conversation), and not the far end of the lobby; in a room (a booth, the hall) the
room. Across nodes the line carries the speaker's place and the receiving node applies the
same rule."""

from __future__ import annotations

import asyncio

from yakuba.server.app import HUB_KEY
from yakuba.server.protocol import CHAT_RADIUS_M
from yakuba.server.realtime.replication import pack_chat, unpack
from yakuba.world.interest import hearers
from yakuba.world.layout import load_layout

from realtime.helpers import avatar
from server.realtime_client import Peer, running_app, until


def test_hearers_in_the_lobby_by_distance_and_in_rooms_the_room():
    layout = load_layout()
    avs = [avatar(1, x=10, y=20), avatar(2, x=10, y=26), avatar(3, x=40, y=28), avatar(4, x=3, y=35)]
    avs[1].zone, avs[2].zone, avs[3].zone = "corridor", "corridor", "booth1"
    avs[0].zone = "infodesk"
    assert sorted(hearers(layout, avs, "infodesk", 10, 20, CHAT_RADIUS_M)) == [1, 2]  # 6 m away, other zone
    assert hearers(layout, avs, "booth1", 3, 35, CHAT_RADIUS_M) is None  # a room: the whole room


def test_the_bus_line_carries_the_place():
    m = unpack(pack_chat("n1", {"id": 1, "name": "a", "text": "t", "zone": "infodesk", "ts": 0}, (10.0, 20.0)))
    assert m["pos"] == [10.0, 20.0]


async def test_stepping_back_from_the_desk_keeps_the_conversation(tmp_path):
    async with running_app(tmp_path) as (url, app):
        hub = app[HUB_KEY]
        a, b, c = [await Peer(url).connect() for _ in range(3)]
        try:
            for p in (a, b, c):
                assert (await p.join())["ok"]

            async def place(p, x, y, zone):
                # set down just short of the spot, then one small step: the world notices zones
                # only on movement, as for a walk
                av = hub.world.avatars[p.id]
                av.x, av.y = x, y - 0.2
                await p.emit("move", {"vx": 0.0, "vy": 1.0})
                await until(lambda: p.zones and p.zones[-1] == zone, what=f"{p.id} in {zone}")
                await p.emit("move", {"stop": True})

            await place(a, 10, 20, "infodesk")  # at the information desk
            await place(b, 10, 27, "corridor")  # stepped back into the corridor: 7 m
            await place(c, 40, 28, "corridor")  # the far end of the corridor: 31 m
            await a.emit("chat", {"text": "番号札はこちらです"})
            await until(lambda: any(m["text"] == "番号札はこちらです" for m in b.chats), what="b hears a")
            await until(lambda: any(m["text"] == "番号札はこちらです" for m in a.chats), what="a hears itself")
            await asyncio.sleep(0.3)  # c would have had it by now
            assert not any(m["text"] == "番号札はこちらです" for m in c.chats), "the far end of the lobby overheard"
        finally:
            for p in (a, b, c):
                await p.sio.disconnect()
