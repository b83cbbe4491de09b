"""The one snapshot fast path: frames written straight to the websocket, once per tick.

A socket.io binary event is a constant placeholder text packet plus the bytes. Building it by
hand skips ``Packet.encode``'s generic walk (~4x the cost of msgpack itself).

Delivery (``Outlet``). For a socket already upgraded to websocket, both websocket frames of a
snapshot (the placeholder header as a text frame, the msgpack as a binary frame) are built once
per distinct frame and written with one ``transport.write`` per client per tick: no packet
queue, no wake-up of engine.io's per-socket writer task, no coroutine per frame. Before that
the snapshot was two queued packets per socket and two awaited ``ws.send`` calls in the writer
task: the larger share of a saturated tick (issue #23).

Back-pressure. A client whose transport buffer holds more than ``WRITE_CAP`` bytes (or whose
engine.io writer is parked on a drain, or a polling socket with more than ``QUEUE_CAP`` packets
queued) is *congested*: it gets no snapshot this tick and ``Sync.frames`` marks it
``needs_full``, so when it drains it receives one full snapshot, never a backlog. Memory per
slow client is thus bounded by the cap plus one tick's frame.

Ordering. The header and its binary attachment must be adjacent on the wire (the client's
decoder takes the next frame as the attachment). Writes here are synchronous and whole, so the
only risk is the engine.io writer task holding popped packets across an await (a drain): it is
tracked by ``GuardedWebSocket.sending`` (server.py) and such a socket is congested; a socket
with packets still queued gets its snapshot queued behind them (order kept).

Polling and mid-upgrade sockets use the engine.io queue, as before. This relies on
python-socketio/engineio and aiohttp internals (the socket's ``queue``/``upgraded``, aiohttp's
``WebSocketResponse._writer.transport``); tests/realtime/test_transport.py fails when they change.
"""

from __future__ import annotations

import struct
from typing import Any

from engineio import packet as eio_packet
from socketio import packet as sio_packet

SNAP_EVENT = "snap"
_HEADER_TEXT = sio_packet.Packet(sio_packet.EVENT, namespace="/", data=[SNAP_EVENT, b""]).encode()[0]
SNAP_HEADER = eio_packet.Packet(eio_packet.MESSAGE, _HEADER_TEXT)

# ~6 snapshots of a 50-avatar view, well above one tick's frame: a client that reads at all
# stays under it; one that has stopped reading is skipped within a few ticks.
WRITE_CAP = 64 * 1024
QUEUE_CAP = 64  # packets on a polling socket's queue (32 snapshots: >3 s unread)


def snap_packets(frame: bytes) -> list[eio_packet.Packet]:
    """The engine.io packets of event ``snap`` carrying ``frame``; build once per distinct frame."""
    return [SNAP_HEADER, eio_packet.Packet(eio_packet.MESSAGE, frame)]


def ws_frame(payload: bytes, opcode: int) -> bytes:
    """One unmasked, uncompressed, final websocket frame (RFC 6455 5.2; a server never masks).
    Uncompressed frames are valid when permessage-deflate was negotiated (RSV1 clear)."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


_HEADER_WIRE = ws_frame(SNAP_HEADER.encode().encode(), 0x1)  # text frame: "4451-[\"snap\",{...}]"


def snap_wire(frame: bytes) -> bytes:
    """Both websocket frames of one snapshot, ready for ``transport.write``."""
    return _HEADER_WIRE + ws_frame(frame, 0x2)


def event_packets(event: str, data: Any) -> list[eio_packet.Packet]:
    """The engine.io packets of a JSON event, encoded once for any number of sockets (a
    broadcast such as the booth sign: python-socketio's emit goes through each socket's
    send_packet coroutine)."""
    enc = sio_packet.Packet(sio_packet.EVENT, namespace="/", data=[event, data]).encode()
    if isinstance(enc, list):  # binary attachments: the header, then each attachment
        return [eio_packet.Packet(eio_packet.MESSAGE, e) for e in enc]
    return [eio_packet.Packet(eio_packet.MESSAGE, enc)]


async def send_packets(eio: Any, eio_sid: str, pkts: list[eio_packet.Packet]) -> bool:
    """Queue packets on the client's engine.io socket (its own writer task sends them).

    Returns True when the fast path was taken; unknown internals or a socket mid-upgrade use
    the public ``send_packet`` instead."""
    sock = getattr(eio, "sockets", {}).get(eio_sid)
    queue = getattr(sock, "queue", None)
    if queue is None or getattr(sock, "upgrading", False) or getattr(sock, "closed", False):
        for p in pkts:
            await eio.send_packet(eio_sid, p)
        return False
    for p in pkts:
        queue.put_nowait(p)
    return True


class Outlet:
    """One tick's snapshot delivery: ``route`` every client before ``Sync.frames`` (the
    congested ones are passed to it, so their views do not advance), then ``send``."""

    DIRECT, QUEUE, PUBLIC = 0, 1, 2

    def __init__(self, eio: Any, write_cap: int = WRITE_CAP, queue_cap: int = QUEUE_CAP) -> None:
        self.eio, self.write_cap, self.queue_cap = eio, write_cap, queue_cap
        self.sockets: dict[str, Any] = getattr(eio, "sockets", {})
        self.routes: dict[str, tuple[int, Any]] = {}
        self._wire: dict[int, bytes] = {}  # id(frame) -> wire bytes, built once per distinct frame
        self._pkts: dict[int, list] = {}
        self.direct = self.queued = self.skipped = 0

    def route(self, eio_sid: str) -> bool:
        """Choose how this client's snapshot goes this tick; False: congested, skip it."""
        sock = self.sockets.get(eio_sid)
        if sock is None or sock.closed:
            self.routes[eio_sid] = (self.PUBLIC, None)
            return True
        queue = getattr(sock, "queue", None)
        if sock.upgraded and not sock.upgrading:
            # plain attribute reads, not getattr chains: this runs for every client every tick
            try:
                ws = sock.yakuba_ws
                t = ws._sock._writer.transport
            except AttributeError:  # not a GuardedEngine socket, or not prepared yet
                t = None
            if t is not None and not t.is_closing():
                if ws.sending or t.get_write_buffer_size() > self.write_cap:
                    return False
                if queue is None or queue.empty():
                    self.routes[eio_sid] = (self.DIRECT, t)
                    return True
        if queue is None or sock.upgrading:
            self.routes[eio_sid] = (self.PUBLIC, None)
            return True
        if queue.qsize() > self.queue_cap:
            return False
        self.routes[eio_sid] = (self.QUEUE, queue)
        return True

    async def send(self, eio_sid: str, frame: bytes) -> None:
        kind, target = self.routes.get(eio_sid, (self.PUBLIC, None))
        if kind == self.DIRECT:
            wire = self._wire.get(id(frame))
            if wire is None:
                wire = self._wire[id(frame)] = snap_wire(frame)
            target.write(wire)
            self.direct += 1
            return
        pkts = self._pkts.get(id(frame))
        if pkts is None:
            pkts = self._pkts[id(frame)] = snap_packets(frame)
        if kind == self.QUEUE:
            for p in pkts:
                target.put_nowait(p)
        else:
            await send_packets(self.eio, eio_sid, pkts)
        self.queued += 1


__all__ = ["QUEUE_CAP", "SNAP_EVENT", "SNAP_HEADER", "WRITE_CAP", "Outlet", "event_packets", "send_packets",
           "snap_packets", "snap_wire", "ws_frame"]
