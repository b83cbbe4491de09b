"""Issue #15's abuse attempts, one by one, against a real `yakuba serve` process over real
sockets. Each attempt must be refused (counted in /metrics) and leave the server as it was:
/healthz green, a resident served within the latency bound, memory and descriptors in bounds
(Target.check in conftest.py)."""

from __future__ import annotations

import asyncio
import json

from yakuba.server.protocol import MAX_FRAME_BYTES
from yakuba.server.settings import Settings

from server.realtime_client import Peer, until

from .conftest import JOIN_TIMEOUT_S, Target, fresh_address
from .rawsock import RawSocket


async def test_baseline(target: Target):
    await target.check("baseline")  # measures it, and the suite's first check is against it
    assert target.baseline is not None and target.baseline["latency"] < 0.5


async def test_reserved_event_names(target: Target):
    before = await target.metrics()
    raw = await RawSocket(target.url, fresh_address()).open()
    try:
        assert (await raw.call("join", {"name": "m"}, ack=1))[0]["ok"]
        for name in ("disconnect", "connect", "connect_error", "message"):
            await raw.emit(name, {"x": 1})
        await until(lambda: len(raw.errors) >= 4, what="four refusals")
        assert {e["code"] for e in raw.errors} == {"unknown_event"} and not raw.closed
        assert await target.refusals(before, "unknown_event") >= 4
    finally:
        await raw.close()
    await target.check("reserved events")


async def test_unknown_event_flood(target: Target):
    before = await target.metrics()
    raw = await RawSocket(target.url, fresh_address()).open()
    try:
        for i in range(3000):
            if not await raw.emit(f"bogus{i}", {"i": i}):
                break
            if i % 100 == 0:
                await asyncio.sleep(0)
        await until(lambda: raw.closed, timeout=10, what="the flooder closed")
        assert await target.refusals(before, "flood_closed") == 1
    finally:
        await raw.close()
    await target.check("unknown-event flood")


async def test_malformed_frames(target: Target):
    before = await target.metrics()
    raw = await RawSocket(target.url, fresh_address()).open()
    deep = json.dumps({"text": json.loads("[" * 400 + "]" * 400)})
    try:
        assert (await raw.call("join", {}, ack=1))[0]["ok"]
        frames = [
            '42["chat\\nFORGED",{"text":"x"}]', '42["",{}]', '42[42,{}]', '42[null]', "42[]", '42{"a":1}',
            '42["' + "x" * 5000 + '",{}]', '42["chat",' + deep + "]", '42["join",{"name":"' + "あ" * 3000 + '"}]',
            "42[not json", "4x", "49", '43999["nobody asked"]', "41/nope,", '40/nope,',
        ]
        for f in frames:
            assert await raw.send(f)
        await until(lambda: len(raw.errors) >= 10, what="refusals of the malformed frames")
        assert not raw.closed
        # a frame over the transport limit closes the connection (not the server)
        await raw.send('42["chat",{"text":"' + "a" * (MAX_FRAME_BYTES + 10) + '"}]')
        await until(lambda: raw.closed, what="the oversize frame closes the socket")
        assert await target.refusals(before, "invalid_payload", "unknown_event") >= 10
    finally:
        await raw.close()
    await target.check("malformed frames")


async def test_binary_attachment_bomb(target: Target):
    before = await target.metrics()
    rss0 = target.rss_kb()
    raw = await RawSocket(target.url, fresh_address()).open()
    try:
        assert (await raw.call("join", {}, ack=1))[0]["ok"]
        await raw.send('451000000000-["chat",{"_placeholder":true,"num":0}]')
        chunk = b"\xff" * (MAX_FRAME_BYTES - 100)
        for _ in range(3000):  # ~46 MB if it were buffered
            if not await raw.send(chunk):
                break
        await until(lambda: raw.errors, what="the bomb refused")
        assert raw.errors[0]["code"] == "too_large"
        # the chunks that followed were frames again (undecodable ones): that is a flood, closed
        await until(lambda: raw.closed, what="the bomber closed")
        # an allowed count with too many bytes, on a second socket
        raw2 = await RawSocket(target.url, fresh_address()).open()
        await raw2.send('452-["chat",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        await raw2.send(chunk)
        await raw2.send(chunk)
        await until(lambda: raw2.errors, what="the attachments refused")
        await raw2.close()
        assert await target.refusals(before, "too_large") == 2
        assert await target.refusals(before, "flood_closed") == 1
        assert target.rss_kb() < rss0 + 20 * 1024, "the attachments were buffered"
    finally:
        await raw.close()
    await target.check("binary attachment bomb")


async def test_connect_join_drop_cycles(target: Target):
    before = await target.metrics()
    cfg, address = Settings(), fresh_address()
    joined = limited = 0

    async def cycle() -> None:
        nonlocal joined, limited
        raw = await RawSocket(target.url, address).open()
        try:
            ack = (await raw.call("join", {"name": "ghost"}, ack=1))[0]
            if ack["ok"]:
                joined += 1
            else:
                assert ack["error"]["code"] == "rate_limited", ack
                limited += 1
        finally:
            await raw.close()

    for _ in range(30):  # 300 cycles, 10 at a time
        await asyncio.gather(*(cycle() for _ in range(10)))
    assert joined + limited == 300
    assert joined <= cfg.join_burst + 10 and limited >= 300 - cfg.join_burst - 10, (joined, limited)
    # a newcomer elsewhere does not find a crowd of that address's ghosts
    newcomer = Peer(target.url)
    await newcomer.sio.connect(target.url, transports=["websocket"], headers={"X-Forwarded-For": fresh_address()}, wait_timeout=10)
    try:
        assert (await newcomer.join(name="newcomer"))["ok"]
        await until(lambda: newcomer.id in newcomer.view, what="first snapshot")
        await asyncio.sleep(0.3)
        ghosts = sum(1 for a in newcomer.view.values() if a["name"] == "ghost")
        assert ghosts <= cfg.max_away_per_address, ghosts
    finally:
        await newcomer.close()
    assert await target.refusals(before, "rate_limited") == limited
    assert await target.refusals(before, "away_cap") >= joined - cfg.max_away_per_address
    await target.check("connect-join-drop cycles")


async def test_never_joining_sockets(target: Target):
    before = await target.metrics()
    address = fresh_address()
    idle = [await RawSocket(target.url, address).open() for _ in range(30)]  # socket.io, no join
    bare = [await RawSocket(target.url, address).open(namespace_connect=False) for _ in range(30)]  # engine.io only
    try:
        assert (await target.metrics())["_clients"] >= 30
        await until(lambda: all(s.closed for s in idle + bare), timeout=JOIN_TIMEOUT_S + 5, what="idle sockets closed")
        assert await target.refusals(before, "join_timeout") >= 60
    finally:
        for s in idle + bare:
            await s.close()
    await target.check("never-joining sockets")


async def test_chat_flood(target: Target):
    before = await target.metrics()
    flooder = Peer(target.url)
    await flooder.sio.connect(target.url, transports=["websocket"], headers={"X-Forwarded-For": fresh_address()}, wait_timeout=10)
    try:
        assert (await flooder.join(name="loud"))["ok"]
        for i in range(400):
            if not flooder.sio.connected:
                break
            await flooder.emit("chat", {"text": f"spam {i}"})
        await until(lambda: len(flooder.errors) >= 50 or not flooder.sio.connected, what="the flood refused")
        assert len(flooder.chats) <= 10, "the chat rate limit let the flood through"
        assert await target.refusals(before, "rate_limited") >= 50
    finally:
        await flooder.close()
    await target.check("chat flood")


async def test_bidi_and_control_text(target: Target):
    address = fresh_address()
    a, b = Peer(target.url), Peer(target.url)
    for p in (a, b):
        await p.sio.connect(target.url, transports=["websocket"], headers={"X-Forwarded-For": address}, wait_timeout=10)
    try:
        ack = await a.join(name="\u202eevil\u200b\x1b[31m名前\u2066")
        assert ack["ok"] and (await b.join(name="listener"))["ok"]
        await a.emit("chat", {"text": "abc\u202edef\u0000\u2067ghi\r\nFORGED"})
        await until(lambda: a.chats, what="the echo")
        text, name = a.chats[-1]["text"], a.chats[-1]["name"]
        assert "def" in text and "FORGED" in text and "名前" in name
        assert not any(ch in text for ch in "\u202e\u0000\u2067\r\n"), repr(text)
        assert not any(ch in name for ch in "\u202e\u200b\x1b\u2066"), repr(name)
    finally:
        await a.close()
        await b.close()
    await target.check("bidi and control text")
