"""Back-pressure (issue #23): a client that stops reading does not grow the server's memory or
delay anyone else's snapshots, and after it reads again it catches up with one full snapshot.

The slow client is a raw websocket over a TCP socket with a small receive buffer (engine.io
and socket.io handshakes by hand), so that "not reading" fills the kernel buffers within a few
hundred frames; the hub's tick is driven by hand with an explicit clock (the ticker stopped)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct

from yakuba.server.app import HUB_KEY
from yakuba.server.protocol import decode_snapshot
from yakuba.server.realtime.transport import WRITE_CAP

from server.realtime_client import Peer, running_app

from .helpers import avatar


class RawSocketIO:
    """Just enough of a websocket + engine.io + socket.io client to join and read snapshots."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer
        self.pending_header: str | None = None

    @classmethod
    async def connect(cls, url: str, rcvbuf: int = 4096) -> "RawSocketIO":
        host, port = url.split("//", 1)[1].split(":")
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: the window is set then
        s.setblocking(False)
        await asyncio.get_running_loop().sock_connect(s, (host, int(port)))
        r, w = await asyncio.open_connection(sock=s, limit=4096)  # the stream pauses reading beyond 2 x limit
        key = base64.b64encode(os.urandom(16)).decode()
        w.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await r.readuntil(b"\r\n\r\n")
        assert b" 101 " in head.split(b"\r\n", 1)[0], head
        return cls(r, w)

    async def frame(self) -> tuple[int, bytes]:
        b0, b1 = await self.r.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await self.r.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await self.r.readexactly(8))
        return b0 & 0x0F, await self.r.readexactly(n)

    def send_text(self, text: str) -> None:
        data, mask = text.encode(), os.urandom(4)
        assert len(data) < 126
        self.w.write(bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    async def text(self) -> str:
        while True:
            op, data = await self.frame()
            if op == 1:
                return data.decode()

    async def handshake_and_join(self) -> dict:
        assert (await self.text()).startswith("0")  # engine.io open
        self.send_text("40")
        assert (await self.text()).startswith("40")  # socket.io connected
        self.send_text('420["join",{"name":"slow"}]')
        while True:
            t = await self.text()
            if t.startswith("430"):
                return json.loads(t[3:])[0]

    async def snapshot(self) -> dict:
        """The next snapshot (engine.io pings are answered)."""
        while True:
            op, data = await self.frame()
            if op == 1:
                t = data.decode()
                if t == "2":
                    self.send_text("3")
                elif t.startswith('451-["snap"'):
                    self.pending_header = t
            elif op == 2 and self.pending_header is not None:
                self.pending_header = None
                return decode_snapshot(data)


async def test_a_slow_client_is_skipped_then_catches_up_with_a_full_snapshot(tmp_path):
    async with running_app(tmp_path) as (url, app):
        hub = app[HUB_KEY]
        await hub.ticker.stop()  # the test drives the ticks
        now = hub.clock.now()

        async def tick() -> None:
            nonlocal now
            now += 0.1
            await hub.run_tick(0.1, now)

        slow = await RawSocketIO.connect(url)
        me = await slow.handshake_and_join()
        fast = await Peer(url).connect()
        await fast.join(name="fast")
        home = hub.world.avatars[me["id"]]
        # a crowd walking around the slow client: every tick each of them moves
        crowd = [avatar(100_000 + i, x=home.x + (i % 10) * 0.5, y=home.y + (i // 10) * 0.5, zone=home.zone) for i in range(40)]
        for a in crowd:
            hub.world.add(a)
        await tick()
        assert (await slow.snapshot())["f"] == 1

        slow_sid = next(c.eio_sid for c in hub.clients.values() if c.avatar_id == me["id"])
        sock = hub.sio.eio.sockets[slow_sid]
        transport = sock.yakuba_ws._sock._writer.transport
        # a small server send buffer too, so the test needs hundreds of frames, not thousands
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        skipped0 = hub.metrics.snapshots_skipped._value.get()
        peak, slow_view = 0, next(c.view for c in hub.clients.values() if c.avatar_id == me["id"])
        for k in range(600):  # one minute of ticks; the slow client reads nothing
            for a in crowd:
                a.x += 0.05 if (k // 20) % 2 == 0 else -0.05
            got = len(fast.frames)
            await tick()
            # the fast client gets each tick's snapshot before the next tick: nobody waits on the slow one
            for _ in range(2000):
                if len(fast.frames) > got:
                    break
                await asyncio.sleep(0.001)
            assert len(fast.frames) > got, f"the fast client waited for tick {k}'s snapshot"
            peak = max(peak, transport.get_write_buffer_size())
            assert sock.queue.qsize() <= 2  # nothing piles up on the engine.io queue either
        skipped = hub.metrics.snapshots_skipped._value.get() - skipped0
        assert skipped > 100, "the slow client was never congested: buffers too large for the test?"
        assert peak <= WRITE_CAP + 8 * 1024, peak  # bounded: the cap plus one tick's frame
        assert slow_view.needs_full

        # it reads again: everything buffered, then a full snapshot once it has drained
        async def drain() -> list[dict]:
            got = []
            while True:
                try:
                    got.append(await asyncio.wait_for(slow.snapshot(), 0.3))
                except asyncio.TimeoutError:
                    return got
        await drain()  # what was in flight when it was skipped: old deltas, still in order
        fulls = []
        for _ in range(5):
            for a in crowd:
                a.x += 0.05
            await tick()
            fulls += await drain()
        assert fulls and fulls[0]["f"] == 1, [m["f"] for m in fulls]
        ids = {r[0] for r in fulls[0]["add"]}
        assert me["id"] in ids and {a.id for a in crowd} <= ids  # the whole view at once
        assert all(m["f"] == 0 for m in fulls[1:])  # then deltas again
        assert not slow_view.needs_full
        slow.w.close()
        await fast.close()
