"""Two `yakuba serve` processes sharing one real Redis."""

from __future__ import annotations

import json
import urllib.request

import pytest

from .realtime_client import Peer, until

pytestmark = pytest.mark.redis


def health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=3) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def test_clients_on_two_nodes_see_moves_and_chat_and_resume_across_nodes(serve, redis_server):
    node_a, node_b = serve(redis_server.url), serve(redis_server.url)
    a, b = await Peer(node_a.url).connect(), await Peer(node_b.url).connect()
    try:
        ja, jb = await a.join(name="A-node"), await b.join(name="B-node")
        assert ja["id"] != jb["id"], "avatar ids must be unique across nodes"
        await until(lambda: jb["id"] in a.view and ja["id"] in b.view, timeout=10, what="cross-node presence")
        y0 = a.pos(jb["id"])[1]
        await b.emit("move", {"vx": 0.0, "vy": 2.0})
        await until(lambda: a.pos(jb["id"])[1] > y0 + 0.5, timeout=10, what="A sees B move")
        await b.emit("move", {"stop": True})
        await b.emit("chat", {"text": "from B"})
        await until(lambda: any(c["text"] == "from B" for c in a.chats), timeout=10, what="chat crosses nodes")
        assert sum(c["text"] == "from B" for c in b.chats) == 1, "sender must get its chat exactly once"

        # A drops; its client reconnects to B with its token and keeps its avatar.
        pos_before = b.pos(ja["id"])
        await a.close()
        a2 = await Peer(node_b.url).connect()
        try:
            j2 = await a2.join(resume=ja["token"])
            assert j2["ok"] and j2["id"] == ja["id"]
            assert abs(j2["x"] - pos_before[0]) < 0.05 and abs(j2["y"] - pos_before[1]) < 0.05
            await until(lambda: ja["id"] in a2.view and a2.view[ja["id"]]["name"] == "A-node", timeout=10)
            # It moves from its new node and B's other client sees it.
            y1 = b.pos(ja["id"])[1]
            await a2.emit("move", {"vx": 0.0, "vy": 1.5})
            await until(lambda: b.pos(ja["id"])[1] > y1 + 0.3, timeout=10, what="resumed avatar moves")
        finally:
            await a2.close()
    finally:
        await a.close()
        await b.close()


async def test_redis_outage_marks_nodes_unhealthy_keeps_clients_and_recovers(serve, own_redis):
    node_a, node_b = serve(own_redis.url), serve(own_redis.url)
    a, b = await Peer(node_a.url).connect(), await Peer(node_b.url).connect()
    try:
        ja, jb = await a.join(name="a"), await b.join(name="b")
        await until(lambda: jb["id"] in a.view, timeout=10)
        assert health(node_a.url)[0] == 200 and health(node_b.url)[0] == 200

        own_redis.stop()
        await until(lambda: health(node_a.url)[0] == 503 and health(node_b.url)[0] == 503, timeout=15, what="unhealthy")
        assert health(node_a.url)[1]["status"] == "store_unavailable"
        # Local service goes on: a still moves and sees itself move, still connected.
        y0 = a.pos()[1]
        await a.emit("move", {"vx": 0.0, "vy": 2.0})
        await until(lambda: a.pos()[1] > y0 + 0.5, timeout=5, what="local movement during outage")
        await a.emit("move", {"stop": True})
        assert a.sio.connected and b.sio.connected

        own_redis.start()
        await until(lambda: health(node_a.url)[0] == 200 and health(node_b.url)[0] == 200, timeout=20, what="recovery")
        # Cross-node replication resumes: b sees a's latest moves again.
        await a.emit("move", {"vx": 0.0, "vy": 1.0})
        await until(lambda: ja["id"] in b.view and abs(b.pos(ja["id"])[1] - a.pos()[1]) < 0.3 and b.pos(ja["id"])[1] > y0 + 0.5, timeout=10, what="replication after recovery")
        await a.emit("move", {"stop": True})
    finally:
        await a.close()
        await b.close()


async def test_sigterm_drains_tells_clients_and_sessions_resume_elsewhere(serve, redis_server):
    node_a, node_b = serve(redis_server.url), serve(redis_server.url)
    a = await Peer(node_a.url).connect()
    watcher = await Peer(node_b.url).connect()
    try:
        ja = await a.join(name="drained")
        assert ja.get("ok"), ja  # a refused join says why (not a KeyError below)
        await watcher.join(name="watcher")
        await until(lambda: ja["id"] in watcher.view, timeout=10)
        node_a.proc.terminate()  # SIGTERM; keep this loop free so the client sees the drain
        await until(lambda: node_a.proc.poll() is not None, timeout=15, what="node exits")
        assert node_a.proc.returncode == 0, "SIGTERM must exit cleanly"
        assert any(n["kind"] == "draining" for n in a.notices), "clients are told before the socket closes"
        await until(lambda: not a.sio.connected, timeout=5)
        a2 = await Peer(node_b.url).connect()
        j2 = await a2.join(resume=ja["token"])
        assert j2["id"] == ja["id"], "the drained session resumes on the other node"
        await until(lambda: watcher.view.get(ja["id"], {}).get("name") == "drained", timeout=10)
        await a2.close()
    finally:
        await a.close()
        await watcher.close()
