"""GuardedServer's packet guard (server/realtime/server.py) over real sockets: a binary header
announcing a billion attachments is refused before anything is buffered, one packet's
attachments are bounded in bytes, an undecodable frame is a counted refusal (not a traceback).
The guard overrides python-socketio internals; the first test fails if they change."""

from __future__ import annotations

import inspect
import logging

import engineio
import engineio.async_socket
import socketio
from socketio import packet as sio_packet

from yakuba.server.app import HUB_KEY, METRICS_KEY
from yakuba.server.realtime.server import GuardedServer

from server.realtime_client import running_app, until

from .rawsock import RawSocket

BOMB = '451000000000-["chat",{"_placeholder":true,"num":0}]'


def rejected(metrics, reason: str) -> float:
    return metrics.registry.get_sample_value("yakuba_rejected_total", {"reason": reason}) or 0.0


def test_the_library_internals_the_guard_relies_on():
    # the header's count is what Packet.decode returns, and a billion is accepted by the library
    assert sio_packet.Packet(encoded_packet=BOMB[1:]).attachment_count == 10**9
    assert sio_packet.Packet(encoded_packet='52-["x",{"_placeholder":true,"num":0}]').attachment_count == 2
    src = inspect.getsource(socketio.AsyncServer._handle_eio_message)
    # pending packets live in _binary_packet, keyed by eio sid; attachments are add_attachment'ed
    assert "self._binary_packet[eio_sid] = pkt" in src and "pkt.add_attachment(data)" in src
    assert "_handle_eio_message" in GuardedServer.__dict__ and "_handle_event" in GuardedServer.__dict__
    assert inspect.signature(socketio.AsyncServer._handle_eio_message).parameters.keys() == {"self", "eio_sid", "data"}
    assert hasattr(socketio.AsyncServer(), "_binary_packet")
    # engine.io: the websocket driver class is looked up per socket, and its wait() feeds the
    # decoder (GuardedEngine swaps in a checking subclass)
    ws_src = inspect.getsource(engineio.async_socket.AsyncSocket._websocket_handler)
    assert "await ws.wait()" in ws_src and "packet.Packet(encoded_packet=p)" in ws_src
    assert "self.server._async['websocket']" in inspect.getsource(engineio.async_socket.AsyncSocket._upgrade_websocket)
    assert GuardedServer(async_mode="aiohttp").eio._async["websocket"].__name__ == "GuardedWebSocket"


async def test_attachment_bomb_is_refused_before_buffering(tmp_path):
    async with running_app(tmp_path) as (url, app):
        hub, metrics, sio = app[HUB_KEY], app[METRICS_KEY], app[HUB_KEY].sio
        raw = await RawSocket(url).open()
        try:
            await raw.send(BOMB)
            await until(lambda: raw.errors, what="a refusal of the bomb")
            assert raw.errors[0]["code"] == "too_large" and raw.errors[0]["event"] == "packet"
            assert sio._binary_packet == {}, "nothing pending for the socket"
            # its next frames are frames again, not attachments being buffered
            for _ in range(20):
                await raw.send(b"\x00" * 10_000)
            ack = await raw.call("join", {"name": "x"}, ack=7)
            assert ack[0]["ok"], ack
            assert rejected(metrics, "too_large") >= 1
            assert hub.clients[raw.sid].refusals >= 1
        finally:
            await raw.close()


async def test_attachment_bytes_are_bounded_per_packet(tmp_path):
    async with running_app(tmp_path, max_attachments=2, max_attachment_bytes=12_000) as (url, app):
        sio = app[HUB_KEY].sio
        raw = await RawSocket(url).open()
        try:
            await raw.send('452-["chat",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
            await raw.send(b"a" * 10_000)
            await until(lambda: raw.ws is not None and sio._binary_packet.get(next(iter(sio._binary_packet), None)) is not None,
                        what="first attachment pending")
            await raw.send(b"b" * 10_000)  # 20 KB together: over the bound
            await until(lambda: raw.errors, what="a refusal of the attachments")
            assert raw.errors[0]["code"] == "too_large"
            assert sio._binary_packet == {}
            # within the bounds a binary event goes through to the handlers (and is refused there:
            # no event of ours takes binary)
            await raw.send('451-["chat",{"text":{"_placeholder":true,"num":0}}]')
            await raw.send(b"hi")
            await until(lambda: len(raw.errors) >= 2, what="the handler's refusal")
            assert raw.errors[1]["code"] == "invalid_payload" and raw.errors[1]["event"] == "chat"
        finally:
            await raw.close()


async def test_undecodable_frames_are_refusals_not_tracebacks(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with running_app(tmp_path) as (url, app):
        hub, metrics = app[HUB_KEY], app[METRICS_KEY]
        raw = await RawSocket(url).open()
        try:
            for frame in ("42[not json", "49", "4x", '451-["chat",{"_placeholder":true,"num":"x"}]', b"x"):
                await raw.send(frame)
            await until(lambda: len(raw.errors) >= 4, what="refusals")
            assert {e["code"] for e in raw.errors} == {"invalid_payload"} and not raw.closed
            # a socket that never connected to the namespace is closed on its first bad packet
            pre = await RawSocket(url).open(namespace_connect=False)
            await pre.send("42[")
            await until(lambda: pre.closed, what="the unconnected socket closed")
            assert rejected(metrics, "bad_packet_closed") == 1
            await pre.close()
            # frames engine.io itself cannot decode close the socket cleanly (it used to lose the
            # socket's handler task with a traceback and keep the connection until ping timeout)
            for frame in ("4" + "[" * 5000, "x"):
                bad = await RawSocket(url).open()
                await bad.send(frame)
                await until(lambda: bad.closed, what="the socket closed")
                await until(lambda: bad.sid not in hub.clients, what="its client forgotten")
                await bad.close()
            assert rejected(metrics, "bad_packet_closed") == 3
            assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR], "a traceback was logged"
        finally:
            await raw.close()
