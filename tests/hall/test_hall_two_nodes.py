"""One meeting over two nodes sharing a real Redis: the presenter on node A, a co-presenter and
half the audience on node B. The view, questions, votes and poll reach every copy; the
presenter's disconnect hands the stage to the co-presenter on the other node, everywhere."""

from __future__ import annotations

import pytest

from yakuba.server.app import DB_KEY, HUB_KEY

from auth.helpers import add_staff
from consult.helpers import staff_cookie
from server.realtime_client import running_app, until

from .test_hall_socket import HallPeer, _into_hall

pytestmark = pytest.mark.redis


async def test_one_meeting_over_two_nodes(tmp_path, redis_server):
    import redis.asyncio as aioredis

    rc = aioredis.Redis.from_url(redis_server.url)
    await rc.flushdb()
    await rc.aclose()
    db = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    common = dict(redis_url=redis_server.url, database_url=db, argon2_profile="test")
    async with running_app(tmp_path / "a", node_id="node-a", **common) as (url_a, app_a):
        async with running_app(tmp_path / "b", node_id="node-b", **common) as (url_b, app_b):
            await add_staff(app_a[DB_KEY], "sato", code="131016")
            await add_staff(app_a[DB_KEY], "kato", code="131016")
            pres = await HallPeer(url_a, await staff_cookie(url_a, "sato")).connect()
            co = await HallPeer(url_b, await staff_cookie(url_b, "kato")).connect()
            aud_a = [await HallPeer(url_a).connect() for _ in range(3)]
            aud_b = [await HallPeer(url_b).connect() for _ in range(3)]
            everyone = [pres, co, *aud_a, *aud_b]
            try:
                for i, (p, app) in enumerate([(pres, app_a), (co, app_b)] + [(x, app_a) for x in aud_a] + [(x, app_b) for x in aud_b]):
                    assert (await p.join(name=f"p{i}"))["ok"]
                    await _into_hall(app, p, i)
                await until(lambda: all(p.zones[-1:] == ["hall"] for p in everyone), timeout=20, what="everyone in the hall")
                # each node sees the other's people in the hall (replicas), so the stage can cross nodes
                await until(lambda: (a := app_a[HUB_KEY].world.avatars.get(co.id)) is not None and a.zone == "hall",
                            timeout=10, what="node A replicates the co-presenter")
                assert (await pres.call("hall.present", {"room": "hall"}))["ok"]
                await until(lambda: co.hall.get("presenter") == pres.id, what="stage on node B")
                r = await co.call("hall.present", {"room": "hall"})
                assert r["ok"] is False and r["error"]["code"] == "busy"  # node B's copy knows the stage is taken
                ack = await pres.call("hall.cohost", {"room": "hall", "avatar": co.id})
                assert ack["ok"], ack
                assert (await pres.call("hall.show", {"room": "hall", "patch": {"sim": "s1", "t": 600.0}}))["ok"]
                await until(lambda: all(p.hall.get("show", {}).get("t") == 600.0 for p in aud_b), what="view on node B")
                assert all(p.hall["show_v"] == pres.hall["show_v"] for p in aud_b)
                # a question on B, an upvote on A, a poll from B voted on both
                q = await aud_b[0].call("hall.ask", {"room": "hall", "text": "どこまで燃えますか", "anonymous": False})
                assert q["ok"]
                await until(lambda: any(x["id"] == q["id"] for x in aud_a[0].hall.get("questions", [])), what="question on A")
                assert (await aud_a[0].call("hall.upvote", {"room": "hall", "question": q["id"]}))["ok"]
                await until(lambda: aud_b[1].hall["questions"][0]["votes"] == 1, what="vote on B")
                poll = await co.call("hall.poll", {"room": "hall", "question": "どちら？", "options": ["A案", "B案"]})
                assert poll["ok"]
                await until(lambda: (aud_a[1].hall.get("poll") or {}).get("id") == poll["id"], what="poll on A")
                for i, p in enumerate(aud_a + aud_b):
                    assert (await p.call("hall.vote", {"room": "hall", "poll": poll["id"], "option": i % 2}))["ok"], i
                await until(lambda: all((p.hall.get("poll") or {}).get("counts") == [3, 3] for p in everyone), what="counts everywhere")
                # the presenter (node A) disconnects: the co-presenter (node B) has the stage on both nodes
                await pres.close()
                await until(lambda: all(p.hall.get("presenter") == co.id for p in aud_a + aud_b + [co]), timeout=10,
                            what="co-presenter presents everywhere")
                assert (await co.call("hall.show", {"room": "hall", "patch": {"t": 1200.0}}))["ok"]
                await until(lambda: all(p.hall["show"]["t"] == 1200.0 for p in aud_a), what="node B's presenter drives node A")
                s = await co.call("hall.summary", {"room": "hall"})
                assert s["summary"]["questions"][0]["votes"] == 1 and s["summary"]["polls"][0]["counts"] == [3, 3]
            finally:
                for p in everyone:
                    await p.close()
