"""What the real server sends over a real socket matches the models: every event received is
validated against OUTGOING by name, and the acks against their models."""

from __future__ import annotations

import asyncio
import time

import msgpack
import socketio
from aiohttp import web

from yakuba.server.app import create_app
from yakuba.server.protocol import OUTGOING, PROTOCOL_VERSION, ErrorAck, JoinAck, OkAck
from yakuba.server.settings import Settings
from yakuba_testing import free_port

LIFECYCLE = {"connect", "disconnect", "connect_error"}


async def _until(pred, what: str, timeout: float = 10.0) -> None:
    # Waits on what the server pushes (10 Hz), never a fixed sleep.
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_server_payloads_match_the_schema(tmp_path):
    cfg = Settings(data_dir=tmp_path, port=free_port())
    runner = web.AppRunner(create_app(cfg))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", cfg.port).start()
    got: list[tuple[str, object]] = []
    sio = socketio.AsyncClient(reconnection=False)

    @sio.on("*")
    async def any_event(event, *args):  # noqa: ANN001 - python-socketio's catch-all signature
        got.append((event, args[0] if args else None))

    try:
        await sio.connect(f"http://127.0.0.1:{cfg.port}", transports=["websocket"], wait_timeout=10)
        ack = await sio.call("join", {"name": "schema", "lang": "en"}, timeout=10)
        parsed = JoinAck.model_validate(ack)
        assert parsed.tick_hz == cfg.tick_hz and parsed.principal.kind == "resident"
        assert parsed.protocol == PROTOCOL_VERSION
        again = await sio.call("join", {}, timeout=10)
        assert ErrorAck.model_validate(again).error.code.value == "already_joined"
        await sio.emit("chat", {"text": "hello"})
        await sio.emit("move", {"vx": "fast"})
        names = lambda: {e for e, _ in got}  # noqa: E731
        await _until(lambda: {"snap", "zone", "chat", "error"} <= names(), "snap, zone, chat and error")
        assert OkAck.model_validate(await sio.call("leave", {}, timeout=10)).ok
    finally:
        await sio.disconnect()
        await runner.cleanup()

    seen = set()
    for event, payload in got:
        if event in LIFECYCLE:
            continue
        assert event in OUTGOING, f"the server sent {event!r}, which the protocol does not define"
        if event == "snap":
            payload = msgpack.unpackb(payload, raw=False)
        OUTGOING[event].model_validate(payload)
        seen.add(event)
    assert {"snap", "zone", "chat", "error"} <= seen
