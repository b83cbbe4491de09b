"""Two `yakuba serve` nodes on one real Redis and one database: one ticket called from both nodes
at once goes to one booth; a lock made on one node holds on the other (goto, target, sign, chat);
a restarted node keeps the queue, the tickets and the locks."""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest

from yakuba_testing import VENV_BIN, ServeProcess

from auth.helpers import PASSWORD
from server.realtime_client import until

from .helpers import DeskPeer, Refusals, staff_cookie

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def cli(*args: str, stdin: str | None = None, env: dict) -> None:
    r = subprocess.run([str(VENV_BIN / "yakuba"), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr


async def test_two_nodes_one_claim_each_and_locks_hold_across_nodes_and_restart(tmp_path, redis_server):
    import redis.asyncio as aioredis

    rc = aioredis.Redis.from_url(redis_server.url)
    await rc.flushdb()
    await rc.aclose()
    env = {**os.environ, "YAKUBA_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.sqlite3'}", "YAKUBA_ARGON2_PROFILE": "test"}
    cli("municipality", "add", "131016", "東京都千代田区", env=env)
    for u in ("sato", "kato"):
        cli("staff", "add", u, "--municipality", "131016", stdin=PASSWORD + "\n", env=env)
    a = ServeProcess(tmp_path / "a", redis_server.url, env=env).start()
    b = ServeProcess(tmp_path / "b", redis_server.url, env=env).start()
    r = Refusals("two_nodes")
    peers: list[DeskPeer] = []
    try:
        s1 = await DeskPeer(b.url, await staff_cookie(b.url, "sato")).connect()  # staff on node B
        s2 = await DeskPeer(a.url, await staff_cookie(a.url, "kato")).connect()  # staff on node A
        res = await DeskPeer(a.url).connect()  # resident on node A
        out = await DeskPeer(b.url).connect()  # an outsider on node B
        peers += [s1, s2, res, out]
        for p, n in zip(peers, ("sato", "kato", "res", "out")):
            assert (await p.join(name=n))["ok"]
        # both staff walk to their booths (both serve the tax topics)
        await s1.emit("move", {"goto": "booth5"})
        await s2.emit("move", {"goto": "booth6"})
        tid = (await res.call("queue.take", {"topic": "tax.resident_tax"}))["ticket"]["ticket"]
        t2 = (await out.call("queue.take", {"topic": "tax.resident_tax"}))["ticket"]
        assert t2["position"] == 2, "the queue is one queue across nodes"
        await until(lambda: s1.zones[-1:] == ["booth5"] and s2.zones[-1:] == ["booth6"], timeout=40, what="staff at their desks")
        # the same ticket called from both nodes at once: one wins
        acks = await asyncio.gather(s1.call("queue.call", {"booth": "booth5", "ticket": tid}), s2.call("queue.call", {"booth": "booth6", "ticket": tid}))
        oks = [x for x in acks if x["ok"]]
        assert len(oks) == 1, acks
        r.expect("call_one_ticket_twice_two_nodes", next(x for x in acks if not x["ok"]), "ticket_taken")
        await until(lambda: res.got["queue.invite"], what="invitation crosses to node A")
        won = oks[0]["ticket"]["booth"]
        holder, loser = (s1, s2) if won == "booth5" else (s2, s1)
        assert (await holder.call("booth.lock", {"booth": won}))["ok"]
        # node-crossing refusals
        for p in (out, res):
            await until(lambda p=p: any(x["booth"] == won and x["locked"] for x in p.got["booth.state"]), what="sign on both nodes")
        r.expect("lock_as_resident", await out.call("booth.lock", {"booth": won}), "forbidden")
        r.expect("unlock_other_booth", await loser.call("booth.unlock", {"booth": won}), "not_in_booth")
        r.expect("admit_other_booth", await loser.call("booth.admit", {"booth": won, "avatar": out.id}), "not_in_booth")
        r.expect("forged_role", await out.call("queue.call", {"booth": won, "staff": True}), "invalid_payload")
        for p in (out, loser):
            n = len(p.errors)
            await p.emit("move", {"goto": won})
            await until(lambda p=p, n=n: len(p.errors) > n, what="goto refused")
            r.count("goto_locked_other_node", p.errors[-1]["code"] == "booth_locked")
            n = len(p.errors)
            anchor = {"booth5": [27.0, 36.0], "booth6": [33.0, 36.0]}[won]
            await p.emit("move", {"target": anchor})
            await until(lambda p=p, n=n: len(p.errors) > n, what="target refused")
            r.count("target_locked_other_node", p.errors[-1]["code"] == "booth_locked")
        await holder.emit("chat", {"text": "inside"})
        await until(lambda: any(c["text"] == "inside" for c in holder.chats), what="own chat")
        await asyncio.sleep(0.3)
        r.count("eavesdrop_chat_other_node", not any(c["text"] == "inside" for c in out.chats + res.chats + loser.chats))
        r.count("see_inside_other_node", holder.id not in out.view and holder.id not in res.view)

        # restart node A (the resident's): queue, tickets and locks are in Redis
        tok = res.me["token"]
        await res.close()
        # in a thread: a.stop() waits for the process, and blocking this event loop meanwhile kept
        # node A's drain from closing the staff socket it holds (s2) until stop() killed it after 10 s
        await asyncio.to_thread(a.stop)
        a.start()
        res2 = await DeskPeer(a.url).connect()
        peers.append(res2)
        j = await res2.join(resume=tok)
        assert j["ok"] and j["id"] == res.id
        info = await res2.call("desk.info")
        assert next(x for x in info["booths"] if x["booth"] == won)["locked"], "the lock survived the restart"
        fresh = await DeskPeer(a.url).connect()
        peers.append(fresh)
        await fresh.join(name="fresh")
        n = len(fresh.errors)
        await fresh.emit("move", {"goto": won})
        await until(lambda: len(fresh.errors) > n, what="goto refused after restart")
        r.count("goto_locked_after_restart", fresh.errors[-1]["code"] == "booth_locked")
        # the waiting ticket is still there, in its place
        again = await out.call("queue.take", {"topic": "tax.resident_tax"})
        r.expect("second_ticket_after_restart", again, "already_queued")
        assert (await res2.call("queue.leave"))["ok"], "the resumed resident's ticket survived the restart"
    finally:
        for p in peers:
            await p.close()
        a.stop()
        b.stop()
    r.report()
