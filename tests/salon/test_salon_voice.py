"""Voice in the salon's lounge is heard near the speaker, as chat is read (issue #20): real aiortc
peers over the real socket and the embedded relay. A colleague near the speaker hears them; one
across the lounge is refused; walking away ends the subscription, and walking back in range
lets one subscribe again."""

from __future__ import annotations

import asyncio

from yakuba.server.app import HUB_KEY

from media.aiortc_peers import Publisher, Subscriber, host_candidates, wait_until
from server.realtime_client import running_app, until

from salon.salon_peers import A, B, logged_in, staff, walk_in

ROOM = "salon-lounge"


async def _stand(app, p, x: float, y: float) -> None:
    a = app[HUB_KEY].world.avatars[p.id]
    await p.emit("move", {"target": [x, y]})
    await until(lambda: abs(a.x - x) < 0.3 and abs(a.y - y) < 0.3, 15, f"at {x},{y}")


async def test_lounge_voice_reaches_those_within_hearing(tmp_path):
    peers: list = []
    with host_candidates("127.0.0.1"):
        async with running_app(tmp_path, argon2_profile="test", media_backend="embedded") as (url, app):
            await staff(app, "hanako", A, "堺 花子", "危機管理課")
            await staff(app, "jiro", B, "千代田 次郎", "子育て支援課")
            await staff(app, "taro", A, "堺 太郎", "DX推進課")
            a, b, c = [await logged_in(url, n) for n in ("hanako", "jiro", "taro")]
            ended: list[dict] = []
            b.sio.on("media.ended", ended.append)
            try:
                for p in (a, b, c):
                    assert (await p.call("salon.conduct", {"accept": True, "version": 1}))["ok"]
                await asyncio.gather(*(walk_in(app, p) for p in (a, b, c)))
                assert a.rooms[ROOM]["hearing_m"] == 12.0  # the client's range comes from the server
                # the three walk to their places at once (one after the other took 16 s)
                await asyncio.gather(_stand(app, a, 46.0, 14.0), _stand(app, b, 48.0, 15.0),
                                     _stand(app, c, 62.5, 27.0))  # c: ~21 m away
                peers.append(pub := Publisher(audio=True, video=False))
                ack = await a.call("media.publish", {"room": ROOM, "source": "mic", "sdp": await pub.offer()})
                assert ack["ok"], ack
                await pub.accept(ack["sdp"])
                stream = ack["id"]
                await until(lambda: [s["id"] for s in c.rooms[ROOM].get("streams", [])] == [stream], what="listed")
                far = await c.call("media.subscribe", {"room": ROOM, "stream": stream})
                assert far["ok"] is False and far["error"]["code"] == "media_forbidden"
                peers.append(sub := Subscriber())
                near = await b.call("media.subscribe", {"room": ROOM, "stream": stream})
                assert near["ok"], near
                assert (await b.call("media.answer", {"id": near["id"], "sdp": await sub.answer(near["sdp"])}))["ok"]
                assert await wait_until(lambda: sub.frames["audio"] > 10, 15), sub.frames
                # b walks across the lounge: out of hearing, the subscription ends; meanwhile c
                # walks up to a (both walks at once: one after the other took 18 s)
                c_walks = asyncio.ensure_future(_stand(app, c, 47.0, 13.0))
                try:
                    await _stand(app, b, 62.0, 20.0)
                    await until(lambda: any(e.get("id") == near["id"] for e in ended), 10, "ended out of hearing")
                    assert next(e for e in ended if e.get("id") == near["id"])["reason"] == "out_of_hearing"
                except BaseException:
                    c_walks.cancel()
                    raise
                await c_walks
                # and c, next to a now, hears them
                peers.append(sub2 := Subscriber())
                again = await c.call("media.subscribe", {"room": ROOM, "stream": stream})
                assert again["ok"], again
                assert (await c.call("media.answer", {"id": again["id"], "sdp": await sub2.answer(again["sdp"])}))["ok"]
                assert await wait_until(lambda: sub2.frames["audio"] > 10, 15), sub2.frames
            finally:
                for x in peers:
                    await x.close()
                for p in (a, b, c):
                    await p.close()
