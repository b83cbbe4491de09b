"""Faults and restarts on real `yakuba serve` processes (two nodes and a real Redis where the
issue says so): avatar ids stay unique through a Redis that comes back empty, a node without
Redis keeps admitting and resuming its own clients, and a resident comes back as the same
avatar where it was after a drain (SIGTERM), a crash (SIGKILL) or a restart of the embedded
server."""

from __future__ import annotations

import asyncio
import json
import math
import urllib.error
import urllib.request

import pytest

from server.realtime_client import Peer, until

pytestmark = pytest.mark.redis


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200 and json.loads(r.read())["status"] == "ok"
    except (urllib.error.URLError, OSError):
        return False


async def walk(p: Peer, seconds: float = 1.0) -> tuple[float, float]:
    """Walk north for a moment and stop; returns where the walker's own view puts it."""
    await p.emit("move", {"vx": 0.0, "vy": 1.5})
    await asyncio.sleep(seconds)
    await p.emit("move", {"stop": True})
    await asyncio.sleep(0.4)  # the stop and the last snapshot
    return p.pos()


async def test_redis_restarted_empty_ids_stay_unique_and_resume_takes_back_ones_own(serve, own_redis):
    node_a, node_b = serve(own_redis.url), serve(own_redis.url)
    a, b, c = await Peer(node_a.url).connect(), await Peer(node_b.url).connect(), await Peer(node_a.url).connect()
    new: list[Peer] = []
    try:
        live = {(await a.join())["id"], (await b.join())["id"]}
        jc = await c.join(name="戻る人")
        live.add(jc["id"])
        await c.close()  # c is away on node A, inside its grace period
        own_redis.stop()
        own_redis.start()  # same port, no data
        await until(lambda: healthy(node_a.url) and healthy(node_b.url), timeout=20, what="both nodes healthy again")
        for url in (node_a.url, node_b.url, node_a.url, node_b.url):
            p = await Peer(url).connect()
            new.append(p)
            j = await p.join()
            assert j["ok"] and j["id"] not in live, (j["id"], live)
            live.add(j["id"])
        # c comes back on the other node: its record was written back by A, and it is c's avatar
        c2 = await Peer(node_b.url).connect()
        new.append(c2)
        j2 = await c2.join(resume=jc["token"])
        assert j2["ok"] and j2["id"] == jc["id"]
        await until(lambda: jc["id"] in c2.view and c2.view[jc["id"]]["name"] == "戻る人", timeout=10, what="own avatar")
    finally:
        for p in (a, b, c, *new):
            await p.close()


async def test_a_node_without_redis_admits_and_resumes_its_own(serve, own_redis):
    node = serve(own_redis.url)
    p = await Peer(node.url).connect()
    others: list[Peer] = []
    try:
        jp = await p.join()
        where = await walk(p)
        await p.close()
        own_redis.stop()
        q = await Peer(node.url).connect()
        others.append(q)
        jq = await q.join()
        assert jq["ok"] and jq["id"] != jp["id"], jq  # new residents still get in
        p2 = await Peer(node.url).connect()
        others.append(p2)
        j2 = await p2.join(resume=jp["token"])
        assert j2["ok"] and j2["id"] == jp["id"], j2
        assert math.dist((j2["x"], j2["y"]), where) < 0.3
    finally:
        for x in (p, *others):
            await x.close()


async def test_drain_then_resume_on_the_other_node(serve, redis_server):
    node_a, node_b = serve(redis_server.url), serve(redis_server.url)
    p = await Peer(node_a.url).connect()
    p2 = None
    try:
        jp = await p.join()
        where = await walk(p)
        node_a.stop("term")  # drain: sessions saved, sockets let go
        await until(lambda: any(n.get("kind") == "draining" for n in p.notices) or not p.sio.connected, timeout=10, what="drain notice")
        p2 = await Peer(node_b.url).connect()
        j2 = await p2.join(resume=jp["token"])
        assert j2["ok"] and j2["id"] == jp["id"]
        assert math.dist((j2["x"], j2["y"]), where) < 0.3
    finally:
        await p.close()
        if p2:
            await p2.close()


async def test_crash_then_resume_on_the_other_node_where_one_was(serve, redis_server):
    save, speed = 0.5, 1.5
    node_a = serve(redis_server.url, env={"YAKUBA_SESSION_SAVE_S": str(save)})
    node_b = serve(redis_server.url)
    p = await Peer(node_a.url).connect()
    p2 = None
    try:
        jp = await p.join()
        await p.emit("move", {"vx": 0.0, "vy": speed})
        await asyncio.sleep(1.4)  # ~2 m: further than a save interval's walk
        last = p.pos()  # the last place the walker saw itself, still walking
        node_a.kill()  # SIGKILL mid-walk: no drain, no goodbye
        p2 = await Peer(node_b.url).connect()
        j2 = await p2.join(resume=jp["token"])
        assert j2["ok"] and j2["id"] == jp["id"]
        walked = math.dist(last, (jp["x"], jp["y"]))
        lost = math.dist((j2["x"], j2["y"]), last)
        # at most one save interval of walking lost (plus a tick and the snapshot on its way)
        assert walked > 1.5 and lost <= speed * (save + 0.15) + 0.2, (walked, lost)
    finally:
        await p.close()
        if p2:
            await p2.close()


async def test_embedded_server_keeps_sessions_through_a_graceful_restart(serve):
    node = serve()  # no Redis: the embedded store
    p = await Peer(node.url).connect()
    p2 = None
    try:
        jp = await p.join(name="再起動さん")
        where = await walk(p)
        await p.close()
        node.stop("term")
        node.start()  # same data folder, same port
        p2 = await Peer(node.url).connect()
        j2 = await p2.join(resume=jp["token"])
        assert j2["ok"] and j2["id"] == jp["id"]
        assert math.dist((j2["x"], j2["y"]), where) < 0.3
        await until(lambda: jp["id"] in p2.view and p2.view[jp["id"]]["name"] == "再起動さん", timeout=10, what="own avatar")
        # a newcomer after the restart does not get the resumed avatar's id
        q = await Peer(node.url).connect()
        jq = await q.join()
        await q.close()
        assert jq["id"] != jp["id"]
    finally:
        await p.close()
        if p2:
            await p2.close()
