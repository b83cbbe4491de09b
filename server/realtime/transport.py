"""The one engine.io fast path: snapshot frames go straight onto a socket's packet queue.

A socket.io binary event is a constant placeholder text packet plus the bytes. Building it by
hand skips ``Packet.encode``'s generic walk (~4x the cost of msgpack itself), and putting the
packets on the engine.io socket's queue skips ``send_packet``'s per-packet coroutine, ping check
and log call, which at 10 Hz x N clients is a visible share of the tick. Both rely on
python-socketio/engineio internals; tests/realtime/test_transport.py fails when they change.
"""

from __future__ import annotations

from typing import Any

from engineio import packet as eio_packet
from socketio import packet as sio_packet

SNAP_EVENT = "snap"
_HEADER_TEXT = sio_packet.Packet(sio_packet.EVENT, namespace="/", data=[SNAP_EVENT, b""]).encode()[0]
SNAP_HEADER = eio_packet.Packet(eio_packet.MESSAGE, _HEADER_TEXT)


def snap_packets(frame: bytes) -> list[eio_packet.Packet]:
    """The engine.io packets of event ``snap`` carrying ``frame``; build once per distinct frame."""
    return [SNAP_HEADER, eio_packet.Packet(eio_packet.MESSAGE, frame)]


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


__all__ = ["SNAP_EVENT", "SNAP_HEADER", "event_packets", "send_packets", "snap_packets"]
