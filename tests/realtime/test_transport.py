"""The engine.io fast path relies on python-socketio/engineio internals: these tests fail when
the internals change (the socket's ``queue``, the binary event encoding)."""

from __future__ import annotations

from engineio import packet as eio_packet
from socketio import packet as sio_packet

from yakuba.server.app import HUB_KEY
from yakuba.server.realtime.transport import SNAP_HEADER, send_packets, snap_packets

from server.realtime_client import Peer, running_app, until


def test_hand_built_packets_equal_what_socketio_encodes():
    frame = b"\x81\xa1t\x01"
    text, binary = sio_packet.Packet(sio_packet.EVENT, namespace="/", data=["snap", frame]).encode()
    pkts = snap_packets(frame)
    assert pkts[0] is SNAP_HEADER and SNAP_HEADER.data == text and SNAP_HEADER.packet_type == eio_packet.MESSAGE
    assert pkts[1].data == binary and pkts[1].binary and pkts[1].encode() == eio_packet.Packet(eio_packet.MESSAGE, frame).encode()


async def test_fast_path_queues_on_the_engineio_socket_and_the_client_decodes_it(tmp_path):
    async with running_app(tmp_path) as (url, app):
        hub = app[HUB_KEY]
        got: list[bytes] = []
        p = await Peer(url).connect()
        p.sio.on("snap", lambda frame: got.append(frame))
        try:
            await until(lambda: len(hub.clients) == 1)
            c = next(iter(hub.clients.values()))
            sock = hub.sio.eio.sockets[c.eio_sid]
            assert hasattr(sock, "queue") and hasattr(sock.queue, "put_nowait"), "engineio socket has no packet queue"
            assert await send_packets(hub.sio.eio, c.eio_sid, snap_packets(b"\x90")) is True
            await until(lambda: b"\x90" in got, what="frame through the fast path")
            # an unknown socket falls back to the public path without raising
            assert await send_packets(hub.sio.eio, "no-such-sid", snap_packets(b"\x90")) is False
        finally:
            await p.close()


def test_event_packets_decode_as_the_library_encodes():
    """The broadcast fast path's packets are what python-socketio itself would send."""
    from socketio import packet as sio_packet

    from yakuba.server.realtime.transport import event_packets

    (p,) = event_packets("booth.state", {"booth": "booth1", "locked": True, "名": "相談中"})
    decoded = sio_packet.Packet(encoded_packet=p.data)
    assert decoded.packet_type == sio_packet.EVENT and decoded.data == ["booth.state", {"booth": "booth1", "locked": True, "名": "相談中"}]


def test_websocket_frames_carry_any_length():
    from yakuba.server.realtime.transport import snap_wire, ws_frame

    for n, head in ((10, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)):
        f = ws_frame(b"x" * n, 0x2)
        assert len(f) == head + n and f[0] == 0x82 and f[1] & 0x80 == 0  # final, binary, unmasked
    text = SNAP_HEADER.encode().encode()
    assert snap_wire(b"\x90") == bytes([0x81, len(text)]) + text + b"\x82\x01\x90"


async def test_snapshots_go_straight_to_an_upgraded_websocket_and_through_the_queue_when_polling(tmp_path):
    """Both transports decode the same snapshots; only the websocket one skips the queue."""
    import socketio

    from server.realtime_client import until as wait_for

    async with running_app(tmp_path) as (url, app):
        hub = app[HUB_KEY]
        ws = await Peer(url).connect()
        await ws.join(name="ws")
        poll = Peer(url)
        poll.sio = socketio.AsyncClient(reconnection=False)
        poll.sio.on("snap", poll._snap)
        await poll.sio.connect(url, transports=["polling"], wait_timeout=10)
        await poll.join(name="poll")
        try:
            await wait_for(lambda: ws.me and poll.me and poll.id in ws.view and ws.id in poll.view, what="both see both")
            await ws.emit("move", {"vx": 0.5, "vy": 0.0})  # a change each tick: both get a frame
            await wait_for(lambda: hub.last_outlet is not None and hub.last_outlet.direct >= 1 and hub.last_outlet.queued >= 1,
                           what="one direct and one queued snapshot in a tick")

            sid = next(c.eio_sid for c in hub.clients.values() if c.avatar_id == ws.id)
            assert hub.sio.eio.sockets[sid].yakuba_ws.sending == 0
        finally:
            await ws.close()
            # the server ends the polling socket: the client's own close waits out a long poll
            for c in list(hub.clients.values()):
                await hub.sio.disconnect(c.sid)
            await poll.close()
