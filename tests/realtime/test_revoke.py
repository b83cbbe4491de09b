"""Revocation and rooms over real sockets: two nodes in one loop sharing a real Redis."""

from __future__ import annotations

import pytest

from yakuba.server.app import HUB_KEY
from yakuba.server.auth.setup import WATCH_KEY
from yakuba.server.auth.principal import Kind, Principal, resident
from yakuba.server.store.base import ZONE_CHANNEL

from server.realtime_client import Peer, running_app, until


async def login(environ: dict, auth: object) -> Principal:
    """Stands in for the session cookie: the test says which staff session it is."""
    if isinstance(auth, dict) and "staff" in auth:
        return Principal(kind=Kind.STAFF, staff_id=int(auth["staff"]), municipality="131016", session_id=str(auth["session"]))
    return resident()


class Watcher(Peer):
    def __init__(self, url: str, auth: dict | None = None) -> None:
        super().__init__(url, auth)
        self.rooms: list[dict] = []
        self.sio.on("room", lambda d: self.rooms.append(d))


@pytest.mark.redis
async def test_revoke_on_one_node_ends_the_session_on_every_node(tmp_path, redis_server):
    async with running_app(tmp_path / "a", redis_url=redis_server.url, node_id="node-a") as (url_a, app_a):
        async with running_app(tmp_path / "b", redis_url=redis_server.url, node_id="node-b") as (url_b, app_b):
            hub_a, hub_b = app_a[HUB_KEY], app_b[HUB_KEY]
            hub_a.gateway.authenticate = hub_b.gateway.authenticate = login
            # The staff watch would revoke these made-up sessions (not in the store) on its own
            # within 2 s; this test is about the explicit revoke, so the watch stands down.
            await app_a[WATCH_KEY].stop()
            await app_b[WATCH_KEY].stop()
            s_a = await Watcher(url_a, {"staff": 7, "session": "sess-1"}).connect()
            s_b = await Watcher(url_b, {"staff": 7, "session": "sess-1"}).connect()
            other = await Watcher(url_b, {"staff": 8, "session": "sess-2"}).connect()
            res = await Watcher(url_a).connect()
            try:
                ja, jb, jo, jr = [await p.join() for p in (s_a, s_b, other, res)]
                await until(lambda: jb["id"] in res.view and jo["id"] in res.view, timeout=10, what="cross-node presence")
                assert await hub_a.revoke(session_id="sess-1") == 1
                for p in (s_a, s_b):
                    await until(lambda p=p: not p.sio.connected, timeout=10, what="revoked socket closed")
                    assert {"kind": "session_ended"} in p.notices
                assert other.sio.connected and res.sio.connected
                assert jb["id"] not in hub_b.world.avatars, "a revoked avatar leaves at once, no grace"
                await until(lambda: ja["id"] not in res.view and jb["id"] not in res.view, timeout=10, what="revoked avatars vanish")
                assert await hub_b.store.get_session(jb["token"]) is None
                # by staff account, from the other node
                await hub_b.revoke(staff_id=8)
                await until(lambda: not other.sio.connected, timeout=10)
                assert other.notices == [{"kind": "session_ended"}]
            finally:
                for p in (s_a, s_b, other, res):
                    await p.close()


async def test_room_state_on_join_and_zone_channels_follow_clients(tmp_path):
    async with running_app(tmp_path) as (url, app):
        hub = app[HUB_KEY]
        p = await Watcher(url).connect()
        try:
            j = await p.join()
            assert j["tick_hz"] == hub.config.tick_hz and j["principal"] == {"kind": "resident", "municipality": None, "roles": []}
            await until(lambda: bool(p.rooms), what="room state on join")
            assert p.rooms[0]["room"] == j["zone"] and p.rooms[0]["type"] == "lobby" and j["id"] in hub.rooms.get(j["zone"]).members
            assert ZONE_CHANNEL + "entrance" in hub.store.channels
            ack = await p.sio.call("leave", {}, timeout=5)
            assert ack["ok"] and not any(ch.startswith(ZONE_CHANNEL) for ch in hub.store.channels)
            # revocation works on the memory store too (nothing to publish)
            assert await hub.revoke(session_id="none-such") == 0
        finally:
            await p.close()
